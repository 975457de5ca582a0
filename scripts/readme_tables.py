#!/usr/bin/env python3
"""Generate the README's "Action inputs" and "Action outputs" tables from action.yml.

    python3 scripts/readme_tables.py          # rewrite the tables in README.md
    python3 scripts/readme_tables.py --check  # exit 1 when README.md is out of date

Each table lives between ``<!-- BEGIN <name> -->`` and ``<!-- END <name> -->`` markers
(``action-inputs``, ``action-outputs``); everything else in the README is left alone.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = ("action-inputs", "action-outputs")


def _cell(text: object) -> str:
    value = re.sub(r"\s+", " ", str(text)).strip()
    return value.replace("|", "\\|")


def _code(text: str) -> str:
    if not text:
        return "(empty)"
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{_cell(text)}{pad}{fence}"


def load_action(path: Path = ROOT / "action.yml") -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise SystemExit(f"{path}: not a mapping")
    return document


def default_text(spec: dict[str, Any]) -> str:
    default = spec.get("default", "")
    if isinstance(default, bool):
        return "true" if default else "false"
    return "" if default is None else str(default)


def inputs_table(action: dict[str, Any]) -> str:
    lines = ["| Input | Default | Description |", "| --- | --- | --- |"]
    for name, spec in (action.get("inputs") or {}).items():
        spec = spec or {}
        lines.append(f"| `{name}` | {_code(default_text(spec))} | {_cell(spec.get('description', ''))} |")
    return "\n".join(lines)


def outputs_table(action: dict[str, Any]) -> str:
    lines = ["| Output | Description |", "| --- | --- |"]
    for name, spec in (action.get("outputs") or {}).items():
        lines.append(f"| `{name}` | {_cell((spec or {}).get('description', ''))} |")
    return "\n".join(lines)


def tables(action: dict[str, Any]) -> dict[str, str]:
    return {"action-inputs": inputs_table(action), "action-outputs": outputs_table(action)}


def block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^<!-- BEGIN {name}\b[^>]*-->\n)(.*?)(^<!-- END {name} -->)", re.DOTALL | re.MULTILINE)


def render(readme: str, action: dict[str, Any]) -> str:
    for name, table in tables(action).items():
        pattern = block_pattern(name)
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no <!-- BEGIN {name} ... --> / <!-- END {name} --> block")
        readme = pattern.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(3), readme)  # type: ignore[misc]
    return readme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail when README.md is not up to date")
    args = parser.parse_args(argv)
    path = ROOT / "README.md"
    current = path.read_text(encoding="utf-8")
    wanted = render(current, load_action())
    if args.check:
        if current != wanted:
            print("README.md tables are out of date: run python3 scripts/readme_tables.py", file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        path.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
