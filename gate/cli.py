"""``python -m gate``: the command line. The only place (with entrypoint.py) that prints or exits.

Exit codes: 0 ok/pass, 1 policy failed, 2 usage or input error, 3 runtime failure.
Human text goes to stderr, the ``--json`` document to stdout, and with ``--json-output FILE`` (action
input ``json_output``) the same document to that file too (output ``json_file``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gate import __version__
from gate.actions import RunnerIO, redact_document
from gate.commands import Command, available, is_available, load, summary
from gate.errors import EXIT_INPUT, EXIT_RUNTIME, GateError, InputError
from gate.files import write_atomic
from gate.options.run import OUTPUT
from gate.outcome import Annotation, Context, Outcome


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 on usage errors, as we want
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


def build_parser(command: str | None = None, *, summaries_only: bool = False) -> argparse.ArgumentParser:
    """The CLI's parser: every available command, or only ``command`` (then only its module is imported).

    ``summaries_only``: every command by its name and one-line help, without its options, and no command
    module imported: enough for ``--help``, ``--version`` and usage errors when no argument names a command."""
    parser = _Parser(prog="python -m gate", description="image-gate: a supply-chain gate for container images")
    parser.add_argument("--version", action="version", version=f"image-gate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in [command] if command is not None else available():
        if summaries_only:
            sub.add_parser(name, help=summary(name), description=summary(name))
            continue
        module = load(name)
        command_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command_parser)
        OUTPUT.add_to(command_parser)
    return parser


def config_secrets(config: Any) -> tuple[str, ...]:
    """Credentials a config carries, to mask before anything is printed."""
    method = getattr(config, "secrets", None)
    return tuple(method()) if callable(method) else ()


def emit(outcome: Outcome, io: RunnerIO, as_json: bool, json_output: Path | None = None) -> int:
    """Write an outcome where the user and the runner read it; return the exit code.

    A JSON file that cannot be written is an error annotation and, when the command succeeded,
    its exit code (the caller asked for the file: a later step would miss it)."""
    for line in outcome.messages:
        io.log(line)
    for annotation in outcome.annotations:
        io.annotate(annotation)
    io.set_outputs(outcome.outputs)
    io.append_summary(outcome.summary)
    exit_code = outcome.exit_code
    if json_output is not None:
        try:
            write_json_file(json_output, outcome.document, io)
        except GateError as exc:
            io.annotate(Annotation("error", exc.diagnostics(), title="image-gate json_output"))
            exit_code = exit_code or exc.exit_code
    if as_json:
        write_json(outcome.document, io)
    return exit_code


def _json_text(document: Any, io: RunnerIO) -> str:
    import orjson  # imported when a document is written (--help and plain runs do without)

    redacted = redact_document(document, io.redact) if io.has_secrets else document
    try:
        # orjson writes a large document (25,000 findings) several times faster than json.dumps.
        return orjson.dumps(redacted, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
    except TypeError:  # what orjson refuses (integers beyond 64 bits, non-string keys)
        import json

        return json.dumps(redacted, indent=2, ensure_ascii=False) + "\n"


def write_json(document: Any, io: RunnerIO) -> None:
    """The one ``--json`` document on stdout, secrets redacted."""
    sys.stdout.write(_json_text(document, io))
    sys.stdout.flush()


def json_output_path(text: str) -> Path | None:
    """The ``--json-output`` / ``json_output`` file (None when not asked for); a directory is an ``InputError``."""
    if not text.strip():
        return None
    path = Path(text.strip())
    if path.is_dir():
        raise InputError(f"json_output {path}: is a directory; name a file")
    return path


def write_json_file(path: Path, document: Any, io: RunnerIO) -> None:
    """The document (secrets redacted) to ``path``: a temporary file beside it renamed over it, so a
    reader never sees half a document and a symlink at ``path`` is replaced, not followed; parent
    directories are created; readable by the runner's later steps (0644). Sets output ``json_file``."""
    text = _json_text(document, io)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text.encode("utf-8"), mode=0o644)
    except OSError as exc:
        raise InputError(f"json_output {path}: cannot write the JSON document: {exc.strerror or exc}") from None
    io.set_outputs({"json_file": str(path)})


def fail(io: RunnerIO, name: str, message: str, exit_code: int, as_json: bool, json_output: Path | None = None) -> int:
    """Report a failure that produced no outcome: an error annotation, and with ``--json`` (``--json-output``)
    an error document on stdout (in the file)."""
    io.annotate(Annotation("error", message, title=f"image-gate {name}"))
    document = {"error": {"command": name, "exit_code": exit_code, "message": message}}
    if json_output is not None:
        try:
            write_json_file(json_output, document, io)
        except GateError as exc:
            io.annotate(Annotation("error", exc.diagnostics(), title="image-gate json_output"))
    if as_json:
        write_json(document, io)
    return exit_code


def execute(module: Command, make_config: Callable[[], Any], io: RunnerIO, as_json: bool, json_output: str = "") -> int:
    """Build the config, run the command, emit the outcome; errors become exit codes.

    ``json_output``: also write the JSON document (or the error document) to this file."""
    name = getattr(module, "NAME", "?")
    target: Path | None = None
    try:
        target = json_output_path(json_output)
        config = make_config()
        for secret in config_secrets(config):
            io.mask(secret)
        context = Context(log=io.log, mask=io.mask, environ=dict(os.environ))
        outcome = module.run(config, context)
        return emit(outcome, io, as_json, target)
    except GateError as exc:
        return fail(io, name, exc.diagnostics(), exc.exit_code, as_json, target)
    except KeyboardInterrupt:
        io.log("interrupted")
        return 130
    except Exception:  # a bug: say so, with the traceback (redacted by io.log), never a credential
        io.log(f"internal error in image-gate {name} (please report it):\n{_traceback()}")
        return fail(io, name, f"internal error in image-gate {name}", EXIT_RUNTIME, as_json, target)


def _traceback() -> str:
    import traceback  # only for a bug: not imported on every start

    return traceback.format_exc()


def _named_command(arguments: Sequence[str]) -> str | None:
    """The command the arguments start with, when it is an available one: only its module need be
    imported (a second or more of start-up for the others). Anything else (``--help``, ``--version``,
    a typo) gets the parser of every command, whose usage message lists them all (by their summaries only,
    ``build_parser(summaries_only=True)``, unless a later argument names a command)."""
    if arguments and is_available(arguments[0]):
        return arguments[0]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    io = RunnerIO()
    try:
        arguments = list(sys.argv[1:] if argv is None else argv)
        named = _named_command(arguments)
        # No argument names a command: the parse never reaches a command's options, so none is imported.
        summaries_only = not any(is_available(argument) for argument in arguments)
        parser = build_parser(named, summaries_only=summaries_only)
        namespace = parser.parse_args(arguments)
        module = load(namespace.command)
    except GateError as exc:
        io.log(f"error: {exc.diagnostics()}")
        return exc.exit_code
    except Exception:  # a command module that fails to import is a bug, reported as one
        io.log(f"internal error in image-gate (please report it):\n{_traceback()}")
        return EXIT_RUNTIME
    return execute(module, lambda: module.config_from_args(namespace), io, bool(namespace.json), namespace.json_output)
