"""``python -m gate``: the command line. The only place (with entrypoint.py) that prints or exits.

Exit codes: 0 ok/pass, 1 policy failed, 2 usage or input error, 3 runtime failure.
Human text goes to stderr, the ``--json`` document to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from gate import __version__
from gate.actions import RunnerIO, redact_document
from gate.commands import Command, Context, available, is_available, load
from gate.errors import EXIT_INPUT, EXIT_RUNTIME, GateError
from gate.outcome import Annotation, Outcome


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 on usage errors, as we want
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser: every available command, or only ``command`` (then only its module is imported)."""
    parser = _Parser(prog="python -m gate", description="image-gate: a supply-chain gate for container images")
    parser.add_argument("--version", action="version", version=f"image-gate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in [command] if command is not None else available():
        module = load(name)
        command_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command_parser)
        command_parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    return parser


def config_secrets(config: Any) -> tuple[str, ...]:
    """Credentials a config carries, to mask before anything is printed."""
    method = getattr(config, "secrets", None)
    return tuple(method()) if callable(method) else ()


def emit(outcome: Outcome, io: RunnerIO, as_json: bool) -> int:
    """Write an outcome where the user and the runner read it; return the exit code."""
    for line in outcome.messages:
        io.log(line)
    for annotation in outcome.annotations:
        io.annotate(annotation)
    io.set_outputs(outcome.outputs)
    io.append_summary(outcome.summary)
    if as_json:
        write_json(outcome.document, io)
    return outcome.exit_code


def write_json(document: Any, io: RunnerIO) -> None:
    """The one ``--json`` document on stdout, secrets redacted."""
    sys.stdout.write(json.dumps(redact_document(document, io.redact), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def fail(io: RunnerIO, name: str, message: str, exit_code: int, as_json: bool) -> int:
    """Report a failure that produced no outcome: an error annotation, and with ``--json`` an error document."""
    io.annotate(Annotation("error", message, title=f"image-gate {name}"))
    if as_json:
        write_json({"error": {"command": name, "exit_code": exit_code, "message": message}}, io)
    return exit_code


def execute(module: Command, make_config: Callable[[], Any], io: RunnerIO, as_json: bool) -> int:
    """Build the config, run the command, emit the outcome; errors become exit codes."""
    name = getattr(module, "NAME", "?")
    try:
        config = make_config()
        for secret in config_secrets(config):
            io.mask(secret)
        context = Context(log=io.log, mask=io.mask, environ=dict(os.environ))
        outcome = module.run(config, context)
        return emit(outcome, io, as_json)
    except GateError as exc:
        return fail(io, name, exc.diagnostics(), exc.exit_code, as_json)
    except KeyboardInterrupt:
        io.log("interrupted")
        return 130
    except Exception:  # a bug: say so, with the traceback (redacted by io.log), never a credential
        io.log(f"internal error in image-gate {name} (please report it):\n{traceback.format_exc()}")
        return fail(io, name, f"internal error in image-gate {name}", EXIT_RUNTIME, as_json)


def _named_command(arguments: Sequence[str]) -> str | None:
    """The command the arguments start with, when it is an available one: only its module need be
    imported (a second or more of start-up for the others). Anything else (``--help``, ``--version``,
    a typo) gets the full parser, whose usage message lists every command."""
    if arguments and is_available(arguments[0]):
        return arguments[0]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    io = RunnerIO()
    try:
        arguments = list(sys.argv[1:] if argv is None else argv)
        parser = build_parser(_named_command(arguments))
        namespace = parser.parse_args(arguments)
        module = load(namespace.command)
    except GateError as exc:
        io.log(f"error: {exc.diagnostics()}")
        return exc.exit_code
    except Exception:  # a command module that fails to import is a bug, reported as one
        io.log(f"internal error in image-gate (please report it):\n{traceback.format_exc()}")
        return EXIT_RUNTIME
    return execute(module, lambda: module.config_from_args(namespace), io, bool(namespace.json))
