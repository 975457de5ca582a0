#!/usr/bin/env python3
"""Generate the README's "Action inputs" and "Action outputs" tables from action.yml and the option
declarations (gate/options/): each input with the command-line option(s) that set the same value, its
default and its description.

    python3 scripts/readme_tables.py          # rewrite the tables in README.md
    python3 scripts/readme_tables.py --check  # exit 1 when README.md is out of date

Each table lives between ``<!-- BEGIN <name> -->`` and ``<!-- END <name> -->`` markers
(``action-inputs``, ``action-outputs``); everything else in the README is left alone.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = ("action-inputs", "action-outputs")

if TYPE_CHECKING:
    from gate.options.base import Option


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


def _spelling(option: Option) -> str:
    """How the command line writes an option: its flag, or ``<name>`` for an argument."""
    if option.flag is not None:
        return f"`{option.flag}`"
    return f"`<{option.metavar or option.field}>`" if option.positional else ""


def _stem(names: Sequence[str]) -> str:
    """The longest start all ``names`` share, cut after its last hyphen (``--trivy-``)."""
    stem = names[0]
    while not all(name.startswith(stem) for name in names):
        stem = stem[:-1]
    return stem[: stem.rfind("-") + 1] if "-" in stem else stem


def cli_options(declared: Mapping[str, Sequence[Option]] | None = None) -> dict[str, list[str]]:
    """input name -> the command-line options that set the same value, in command order."""
    if declared is None:
        sys.path.insert(0, str(ROOT))
        from gate.commands import declared_options

        declared = declared_options()
    found: dict[str, list[str]] = {}
    for options in declared.values():
        by_field = {option.field: option for option in options}
        for option in options:
            if option.input_name is None:
                continue
            sources = [by_field[name] for name in option.feeds if name in by_field] if option.feeds else [option]
            names = [name for name in map(_spelling, sources) if name]
            if len(names) > 2:  # the flags an input feeds (--trivy-db-repository, ...): their common stem
                names = [_stem(names) + "*`"]
            spelled = found.setdefault(option.input_name, [])
            spelled += [name for name in names if name not in spelled]
    return found


def inputs_table(action: dict[str, Any], cli: Mapping[str, Sequence[str]]) -> str:
    lines = ["| Input | Command line | Default | Description |", "| --- | --- | --- | --- |"]
    for name, spec in (action.get("inputs") or {}).items():
        spec = spec or {}
        flags = ", ".join(cli.get(name, ())) or "—"
        lines.append(f"| `{name}` | {flags} | {_code(default_text(spec))} | {_cell(spec.get('description', ''))} |")
    return "\n".join(lines)


def outputs_table(action: dict[str, Any]) -> str:
    lines = ["| Output | Description |", "| --- | --- |"]
    for name, spec in (action.get("outputs") or {}).items():
        lines.append(f"| `{name}` | {_cell((spec or {}).get('description', ''))} |")
    return "\n".join(lines)


def tables(action: dict[str, Any], cli: Mapping[str, Sequence[str]]) -> dict[str, str]:
    return {"action-inputs": inputs_table(action, cli), "action-outputs": outputs_table(action)}


def block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^<!-- BEGIN {name}\b[^>]*-->\n)(.*?)(^<!-- END {name} -->)", re.DOTALL | re.MULTILINE)


def render(readme: str, action: dict[str, Any], cli: Mapping[str, Sequence[str]] | None = None) -> str:
    """``readme`` with its tables made from ``action`` and ``cli`` (default: the option declarations)."""
    for name, table in tables(action, cli_options() if cli is None else cli).items():
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
