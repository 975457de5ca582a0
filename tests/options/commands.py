"""What the options tests share: each command's minimal arguments and inputs, its parser's actions and
its config from a command line."""

from __future__ import annotations

import argparse
from typing import Any

from gate import cli
from gate.commands import load

ACCESS_COMMANDS = ("mirror", "scan", "promote", "pipeline")
POSITIONAL = {
    "mirror": ["127.0.0.1:5000/a/b:1", "127.0.0.1:5000/c/d"],
    "scan": ["127.0.0.1:5000/a/b:1"],
    "promote": ["127.0.0.1:5000/a/b:1", "127.0.0.1:5000/c/d"],
    "pipeline": ["--source", "127.0.0.1:5000/a/b:1", "--quarantine", "127.0.0.1:5000/q/b", "--production",
                 "127.0.0.1:5000/p/b"],
}  # fmt: skip
INPUTS = {
    "mirror": {"INPUT_SOURCE": "127.0.0.1:5000/a/b:1", "INPUT_DESTINATION": "127.0.0.1:5000/c/d"},
    "scan": {"INPUT_SOURCE": "127.0.0.1:5000/a/b:1"},
    "promote": {"INPUT_SOURCE": "127.0.0.1:5000/a/b:1", "INPUT_DESTINATION": "127.0.0.1:5000/c/d"},
    "pipeline": {"INPUT_SOURCE": "127.0.0.1:5000/a/b:1", "INPUT_QUARANTINE": "127.0.0.1:5000/q/b",
                 "INPUT_PRODUCTION": "127.0.0.1:5000/p/b"},
}  # fmt: skip


def parser_actions(command: str) -> dict[str, argparse.Action]:
    parser = cli.build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {option: action for action in sub.choices[command]._actions for option in action.option_strings}


def command_config(command: str, *argv: str) -> Any:
    module = load(command)
    namespace = cli.build_parser(command).parse_args([command, *POSITIONAL[command], *argv])
    return module.config_from_args(namespace)
