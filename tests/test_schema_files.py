"""gate.schema_files: the shipped JSON Schema files checked in one way, the first error by path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.schema_files import check_document, first_schema_error

SCHEMA = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}}},
        "name": {"type": "string", "maxLength": 3},
    },
    "additionalProperties": False,
}


@pytest.fixture
def schema(tmp_path: Path) -> Path:
    path = tmp_path / "s.schema.json"
    path.write_text(json.dumps(SCHEMA), encoding="utf-8")
    return path


def test_a_valid_document_has_no_error(schema: Path) -> None:
    assert first_schema_error(schema, {"items": [{"n": 1}], "name": "abc"}) is None
    check_document(schema, {}, "doc")


def test_the_first_error_in_path_order_with_the_count(schema: Path) -> None:
    error = first_schema_error(schema, {"name": "abcd", "items": [{"n": 1}, {"n": "x"}]})
    assert error is not None
    assert error.path == ("items", 1, "n") and error.where() == "items[1].n"
    assert error.validator == "type" and error.instance == "x" and error.count == 2


def test_an_error_at_the_top_is_named_as_asked(schema: Path) -> None:
    error = first_schema_error(schema, [])
    assert error is not None and error.where() == "(root)" and error.where("(top level)") == "(top level)"


def test_check_document_names_the_source_the_path_and_the_count(schema: Path) -> None:
    with pytest.raises(InputError, match=r"^the report: name: 'abcd' is too long \(1 schema error\(s\)\)$"):
        check_document(schema, {"name": "abcd"}, "the report")


def test_a_long_message_is_cut(schema: Path) -> None:
    error = first_schema_error(schema, {"name": "x" * 500})
    assert error is not None and len(error.short_message()) == 200 and error.short_message().endswith("...")
