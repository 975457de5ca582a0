"""The exceptions file: vulnerability ids the gate does not block on, with a reason and an expiry.

Two formats, told apart by content:

- YAML (or JSON), validated by ``gate/policy/schemas/exceptions.schema.json``::

      exceptions:
        - id: CVE-2023-12345          # a CVE, GHSA or any id/alias the scanner reports
          reason: not reachable in our build
          expires: 2025-12-31         # optional; applies through that day (UTC)
          images: ["ghcr.io/acme/*"]  # optional globs on the image reference
          packages: ["openssl"]       # optional globs on the package name

- plain text, ``.trivyignore`` style: one id per line, ``#`` comments, optional ``exp:YYYY-MM-DD``.

The YAML is read by ``gate.yamlsafe``: a key given twice is an error naming its line, aliases are capped.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.errors import InputError
from gate.files import read_capped_text
from gate.schema_files import SchemaError, first_schema_error

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "exceptions.schema.json"
MAX_EXCEPTIONS_BYTES = 4 * 1024 * 1024
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+-]*$")
_EXP = re.compile(r"^exp:(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class ExceptionEntry:
    """One exception. ``where`` names it in reports (``file:line`` or ``file: exceptions[2]``)."""

    id: str
    reason: str
    expires: dt.date | None
    images: tuple[str, ...]
    packages: tuple[str, ...]
    where: str

    def expired(self, today: dt.date) -> bool:
        """True from the day after ``expires``."""
        return self.expires is not None and today > self.expires

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reason": self.reason,
            "expires": self.expires.isoformat() if self.expires else None,
            "images": list(self.images),
            "packages": list(self.packages),
            "where": self.where,
        }


def load_exceptions(path: str | Path) -> tuple[ExceptionEntry, ...]:
    """Read an exceptions file (YAML or plain text); bad content raises ``InputError``."""
    text = read_capped_text(path, MAX_EXCEPTIONS_BYTES, "the exceptions file", regular_only=False, strip_bom=True)
    return parse_exceptions(text, str(path))


def parse_exceptions(text: str, source: str) -> tuple[ExceptionEntry, ...]:
    """Exceptions from the text of a file; ``source`` names it in errors."""
    if _looks_structured(text):
        # Dates stay text, so the schema sees what the user wrote; a key given twice is an error.
        from gate.yamlsafe import load_yaml  # YAML costs start-up: imported when an exceptions file is read

        return _from_document(load_yaml(text, source, dates=False), source)
    return _from_text(text, source)


def _looks_structured(text: str) -> bool:
    """YAML/JSON when the first meaningful line opens a mapping (``exceptions:`` or ``{``)."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped == "---":
            continue
        return stripped.startswith("{") or bool(re.match(r"^[\"']?exceptions[\"']?\s*:", stripped))
    return False


def _from_document(document: Any, source: str) -> tuple[ExceptionEntry, ...]:
    if document is None:
        return ()
    error = first_schema_error(SCHEMA_PATH, document)
    if error is not None:
        raise InputError(f"{source}: {error.where('(top level)')}: {_message(error)}")
    entries: list[ExceptionEntry] = []
    for i, item in enumerate(document.get("exceptions") or []):
        where = f"{source}: exceptions[{i}]"
        expires = _date(item.get("expires"), f"{where}.expires") if "expires" in item else None
        entries.append(
            ExceptionEntry(
                id=item["id"],
                reason=item["reason"].strip(),
                expires=expires,
                images=tuple(item.get("images") or ()),
                packages=tuple(item.get("packages") or ()),
                where=where,
            )
        )
    return tuple(entries)


def _message(error: SchemaError) -> str:
    if error.validator == "additionalProperties":
        return f"{error.message} (allowed: id, reason, expires, images, packages)"
    if error.validator == "pattern" and error.path and error.path[-1] == "expires":
        return f"{json.dumps(error.instance)} is not a date (YYYY-MM-DD)"
    return error.short_message()


def _date(value: Any, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def _from_text(text: str, source: str) -> tuple[ExceptionEntry, ...]:
    entries: list[ExceptionEntry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        comment = ""
        line = raw
        if "#" in line:
            line, _, comment = line.partition("#")
        parts = line.split()
        if not parts:
            continue
        where = f"{source}:{number}"
        identifier, expires = parts[0], None
        if not _ID.match(identifier) or len(identifier) > 200:
            raise InputError(f"{where}: {identifier[:80]!r} is not a vulnerability id")
        for token in parts[1:]:
            match = _EXP.match(token)
            if not match:
                raise InputError(f"{where}: unexpected {token[:80]!r} after the id (only exp:YYYY-MM-DD is allowed)")
            expires = _date(match.group(1), where)
        entries.append(
            ExceptionEntry(
                id=identifier,
                reason=comment.strip() or "listed in the exceptions file",
                expires=expires,
                images=(),
                packages=(),
                where=where,
            )
        )
    return tuple(entries)
