"""The SARIF checker's shortcut for results in the usual scanner shape agrees with jsonschema."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.policy import sarif_schema
from tests.policy.sarif_samples import trivy_result

_SCHEMA = json.loads(sarif_schema.SCHEMA_PATH.read_text(encoding="utf-8"))
_RESULT = jsonschema.Draft4Validator({"$ref": "#/definitions/result", "definitions": _SCHEMA["definitions"]})

_odd = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.floats(-1, 2, allow_nan=False), st.just([]))
_text = st.text(max_size=3)


def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a value of the usual shape (itself near the schema's bounds), sometimes anything."""
    return st.integers(0, 5).flatmap(lambda n: valid if n else _odd)


_message = _mostly(st.builds(lambda t: {"text": t}, _text)) | st.builds(lambda t: {"text": t, "markdown": t}, _text)
_region = _mostly(
    st.dictionaries(
        st.sampled_from(["startLine", "startColumn", "endLine", "endColumn", "charOffset", "byteLength"]),
        st.sampled_from([1, 2, 3, 1, 2, 3, 0, -1]),
        max_size=4,
    )
) | st.just({"startLine": 1, "snippet": {"text": "x"}})
_artifact = _mostly(st.fixed_dictionaries({"uri": _mostly(_text)}, optional={"uriBaseId": _mostly(_text)}))
_physical = _mostly(st.fixed_dictionaries({"artifactLocation": _artifact}, optional={"region": _region}))
_location = _mostly(st.fixed_dictionaries({}, optional={"physicalLocation": _physical, "message": _message})) | (
    st.fixed_dictionaries({"physicalLocation": _physical, "id": st.integers(-2, 1)})
)
_result = st.fixed_dictionaries(
    {"message": _message},
    optional={
        "ruleId": _mostly(_text),
        "ruleIndex": _mostly(st.sampled_from([0, 1, 2, 3, -1, -2])),
        "level": _mostly(st.sampled_from(["none", "note", "warning", "error", "error", "warning", "fatal"])),
        "kind": _mostly(st.sampled_from(["fail", "pass", "open", "informational", "fail", "review", "bad"])),
        "locations": _mostly(st.lists(_location, max_size=2)),
        "partialFingerprints": _mostly(st.dictionaries(_text, _mostly(_text), max_size=2)),
        "properties": _mostly(
            st.dictionaries(
                st.sampled_from(
                    ["purl", "x"],
                ),
                _text,
                max_size=2,
            )
        )
        | st.sampled_from([{"tags": ["a", "a"]}, {"tags": ["a"]}]),
    },
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(result=_result)
def test_usual_results_are_exactly_the_valid_ones_in_that_shape(result: dict[str, Any]) -> None:
    if sarif_schema._usual_result(result):
        assert _RESULT.is_valid(result)
    document = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [result]}]}
    try:
        sarif_schema.validate(document)
        fast_ok = True
    except sarif_schema.SchemaViolation:
        fast_ok = False
    assert fast_ok == _RESULT.is_valid(result)


def test_scanner_results_take_the_shortcut() -> None:
    result = trivy_result(0, "CVE-2024-0001", "HIGH", "zlib")
    assert sarif_schema._usual_result(result)
    assert not sarif_schema._usual_result({**result, "level": "fatal"})
    assert not sarif_schema._usual_result({**result, "properties": {"tags": ["a", "a"]}})


def _edits() -> list[tuple[str, Any]]:
    edits: list[tuple[str, Any]] = []
    for key, low in sarif_schema._REGION_MIN.items():
        for value in (low - 1, low, low + 1, True, 1.0, "1"):
            edits.append((f"region {key}={value!r}", lambda r, k=key, v=value: _region_of(r).update({k: v})))
    edits += [
        ("region without a start", lambda r: _region_of(r).pop("startLine")),
        ("region empty", lambda r: _region_of(r).clear()),
        ("region snippet", lambda r: _region_of(r).update(snippet={"text": "x"})),
        ("uri not a string", lambda r: _physical_of(r)["artifactLocation"].update(uri=1)),
        ("no artifactLocation", lambda r: _physical_of(r).pop("artifactLocation")),
        ("artifact index", lambda r: _physical_of(r)["artifactLocation"].update(index=-2)),
        ("location message", lambda r: r["locations"][0].update(message={"text": "x"})),
        ("location message without text", lambda r: r["locations"][0].update(message={})),
        ("location null", lambda r: r["locations"].append(None)),
        ("physicalLocation null", lambda r: r["locations"][0].update(physicalLocation=None)),
        ("message markdown", lambda r: r["message"].update(markdown="x")),
        ("message text null", lambda r: r["message"].update(text=None)),
        ("message extra property", lambda r: r["message"].update(bogus=1)),
        ("location message extra property", lambda r: r["locations"][0].update(message={"text": "x", "x": 1})),
        ("fingerprint", lambda r: r.update(partialFingerprints={"a": "b"})),
        ("fingerprint not a string", lambda r: r.update(fingerprints={"a": 1})),
        ("properties tags", lambda r: r.update(properties={"tags": ["a", "b"]})),
        ("properties", lambda r: r.update(properties={"purl": "pkg:npm/x@1"})),
        ("kind", lambda r: r.update(kind="informational")),
        ("kind unknown", lambda r: r.update(kind="bad")),
        ("ruleIndex -1", lambda r: r.update(ruleIndex=-1)),
        ("ruleIndex -2", lambda r: r.update(ruleIndex=-2)),
        ("level bool", lambda r: r.update(level=True)),
    ]
    return edits


def _physical_of(result: dict[str, Any]) -> dict[str, Any]:
    physical: dict[str, Any] = result["locations"][0]["physicalLocation"]
    return physical


def _region_of(result: dict[str, Any]) -> dict[str, Any]:
    region: dict[str, Any] = _physical_of(result)["region"]
    return region


@pytest.mark.parametrize(("name", "edit"), _edits(), ids=[name for name, _ in _edits()])
def test_one_edit_from_a_scanner_result_is_judged_as_jsonschema_judges_it(name: str, edit: Any) -> None:
    result = trivy_result(0, "CVE-2024-0001", "HIGH", "zlib")
    edit(result)
    document = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [result]}]}
    try:
        sarif_schema.validate(document)
        fast_ok = True
    except sarif_schema.SchemaViolation:
        fast_ok = False
    assert fast_ok == _RESULT.is_valid(result), name
