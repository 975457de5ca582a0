"""The options every command has: which command (the action's ``command`` input; the subcommand on the
command line) and where its JSON document goes (``--json``, ``--json-output`` / input ``json_output``)."""

from __future__ import annotations

from gate.options.base import Group, Option

COMMAND = Option(
    "command",
    "which stage to run: discover, tags, mirror, scan, evaluate, promote, pipeline, override, outdated or pin",
    {"type": "string", "minLength": 1},
    default="discover",
    positional=True,
)
JSON = Option(
    "json",
    "print one JSON document on stdout",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--json",
    input=False,
)
JSON_OUTPUT = Option(
    "json_output",
    "also write the JSON document to FILE (replaced atomically, parent directories created), "
    "with or without --json; an error document when the command fails",
    {"type": "string"},
    default="",
    flag="--json-output",
    metavar="FILE",
    strip=False,
)

# Added to every command's parser, after the command's own options.
OUTPUT = Group(None, (JSON, JSON_OUTPUT))
