"""Where code scanning files a SARIF run: its ``automationDetails.id``, ``<prefix>/<repository>/<platform>/``.

GitHub reads an id as ``<analysis category>/<run id>``, split at its last ``/``; the trailing ``/``
makes the whole id the category (the run id is empty). Code scanning keeps one analysis per category
(and tool): a new upload in a category replaces that category's alerts. upload-sarif's ``category``
input only fills in runs that have no id, so the id the scan writes is the one code scanning uses.

So the id names the image's repository (not its tag or digest, so that a new tag or digest of the
same image replaces its alerts) and the platform; the prefix (``--sarif-category``, default
``image-gate``) keeps apart what would otherwise share them (two tags of one repository in a matrix:
discover's matrix gives each such entry its own prefix).

A light module (no schema, no JSON): discover's matrix uses it too.
"""

from __future__ import annotations

import json
import re

from gate.errors import InputError
from gate.oci.reference import ImageReference, TargetReference

DEFAULT_SARIF_CATEGORY = "image-gate"
"""The prefix of every run's ``automationDetails.id`` unless ``--sarif-category`` says otherwise."""
MAX_CATEGORY_LENGTH = 200
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:@+=-]*")
_NOT_IN_SEGMENT = re.compile(r"[^A-Za-z0-9_.:@+=-]+")


def check_sarif_category(text: str, where: str) -> str:
    """The prefix as written into SARIF, without surrounding ``/``; ``InputError`` unless it is segments of
    letters, digits and ``_ . : @ + = -`` (each starting with a letter, a digit or ``_``) separated by one
    ``/``, at most ``MAX_CATEGORY_LENGTH`` characters."""
    value = text.strip().strip("/")
    if not value:
        raise InputError(f"{where}: empty SARIF category; give a prefix such as {DEFAULT_SARIF_CATEGORY!r}")
    if len(value) > MAX_CATEGORY_LENGTH:
        raise InputError(f"{where}: the SARIF category is longer than {MAX_CATEGORY_LENGTH} characters")
    for segment in value.split("/"):
        if not _SEGMENT.fullmatch(segment):
            raise InputError(
                f"{where}: invalid SARIF category {_quoted(text)}: segment {_quoted(segment)}: expected letters, "
                "digits and _ . : @ + = - (starting with a letter, a digit or _), segments separated by one /"
            )
    return value


def category_segment(text: str) -> str:
    """``text`` made into one segment ``check_sarif_category`` accepts (other characters become ``-``)."""
    cleaned = _NOT_IN_SEGMENT.sub("-", text).strip("-")
    if not cleaned:
        return "_"
    return cleaned if _SEGMENT.fullmatch(cleaned) else f"_{cleaned}"


def analysis_path(reference: TargetReference) -> str:
    """The image's part of the id: its repository path (``registry/repository``), or ``oci/<directory
    name>`` for an image layout (its absolute path differs from runner to runner)."""
    if isinstance(reference, ImageReference):
        return reference.name
    return f"oci/{category_segment(reference.path.name or 'layout')}"


def automation_id(category: str, repository: str, platform: str) -> str:
    """``<category>/<repository>/<platform>/``: one code-scanning category per image and platform."""
    return f"{category.strip('/')}/{repository.strip('/')}/{platform.strip('/')}/"


def _quoted(text: str, limit: int = 80) -> str:
    shown = json.dumps(text, ensure_ascii=True)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
