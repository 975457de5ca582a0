"""The JSON Schema files the package ships (scan report, vuln statement, exceptions, issue metadata): each
validator is built once, on first use (jsonschema is imported then, not on every start), and a document's
first error (in path order) comes back with its JSON path, for an error message that points at the field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gate.errors import InputError


@dataclass(frozen=True)
class SchemaError:
    """The first error of a document, and how many there were."""

    path: tuple[str | int, ...]
    message: str
    validator: str
    instance: Any
    """The refused value."""
    count: int

    def where(self, top: str = "(root)") -> str:
        """The path as ``a.b[0].c``; ``top`` for the document itself."""
        text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)
        return text.lstrip(".") or top

    def short_message(self, limit: int = 200) -> str:
        """The message cut to ``limit`` characters (a refused value can be long)."""
        return self.message if len(self.message) <= limit else self.message[: limit - 3] + "..."


@cache
def _validator(schema_path: Path) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(schema_path.read_text(encoding="utf-8")))


def first_schema_error(schema_path: Path, document: Any) -> SchemaError | None:
    """The first error of ``document`` against the schema file, or None when it is valid."""
    errors = sorted(_validator(schema_path).iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    first = errors[0]
    return SchemaError(tuple(first.absolute_path), first.message, str(first.validator), first.instance, len(errors))


def check_document(schema_path: Path, document: Any, source: str) -> None:
    """Raise ``InputError`` naming ``source`` and the first JSON path of ``document`` that breaks the schema."""
    error = first_schema_error(schema_path, document)
    if error is not None:
        raise InputError(f"{source}: {error.where()}: {error.short_message()} ({error.count} schema error(s))")
