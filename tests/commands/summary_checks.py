"""Checks of a step summary that several command tests make."""

from __future__ import annotations

import re


def assert_tables_keep_their_columns(summary: str) -> None:
    """Every row of every markdown table has the header's number of cells: no unescaped ``|`` from scanned text."""
    tables: list[list[str]] = [[]]
    for line in summary.splitlines():
        if line.startswith("|"):
            tables[-1].append(line)
        elif tables[-1]:
            tables.append([])
    for table in (t for t in tables if t):
        assert len({len(re.findall(r"(?<!\\)\|", line)) for line in table}) == 1, table
