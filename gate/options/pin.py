"""The options of ``pin``: discover's Dockerfile options and the registry access of ``outdated``
(``gate.options.lookup``), and the mode: ``--update`` (move pinned digests too), ``--check``
(write nothing, exit 1 when something would change)."""

from __future__ import annotations

from gate.options.base import Group, Option
from gate.options.lookup import DOCKERFILES, LOOKUP_ACCESS

UPDATE = Option(
    "update",
    "also move a pinned digest to its tag's current one (without it only unpinned references are pinned)",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--update",
)
CHECK = Option(
    "check",
    "change nothing: print the unified diff and exit 1 when something would change",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--check",
)

PIN_GROUPS = (Group(None, (*DOCKERFILES.options, UPDATE, CHECK)), LOOKUP_ACCESS)
