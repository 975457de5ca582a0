"""The corpus of tricky Dockerfiles: each ``corpus/NAME.txt`` with its expectations in ``NAME.json``.

The corpus files are named ``.txt`` so the project's own ``discover`` does not pick them up.
Expectation keys: ``production`` (default marker), ``marker_production`` ({marker: bool}),
``instructions`` ([keyword, line]), ``directives``, ``error_line``, ``build_args``,
``references`` ([line, instruction, image or null when unusable]) and
``violations`` ([line, image, reason]; a reason ending in ``*`` is a prefix).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.discover.images import references
from gate.discover.parser import parse
from gate.discover.policy import DEFAULT_MARKER, has_marker, violations

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = sorted(path.stem for path in CORPUS.glob("*.txt"))


def load(name: str) -> tuple[str, dict[str, Any]]:
    text = (CORPUS / f"{name}.txt").read_bytes().decode("utf-8")
    return text, json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))


def test_corpus_is_complete() -> None:
    assert len(CASES) >= 20
    for name in CASES:
        assert (CORPUS / f"{name}.json").is_file(), name


@pytest.mark.parametrize("name", CASES)
def test_corpus_case(name: str) -> None:
    text, expected = load(name)
    dockerfile = parse(text)

    assert has_marker(dockerfile, DEFAULT_MARKER) is expected["production"]
    for marker, production in expected.get("marker_production", {}).items():
        assert has_marker(dockerfile, marker) is production
    if "instructions" in expected:
        assert [[i.keyword, i.line] for i in dockerfile.instructions] == expected["instructions"]
    if "directives" in expected:
        assert [list(d) for d in dockerfile.directives] == expected["directives"]
    if "error_line" in expected:
        assert dockerfile.error is not None and dockerfile.error.line == expected["error_line"]
    else:
        assert dockerfile.error is None

    found = references(dockerfile, name, expected.get("build_args", {}))
    got = [[f.location.line, f.location.instruction, str(f.reference) if f.reference else None] for f in found]
    assert got == expected["references"]

    result = violations(found)
    assert [[v.line, v.image] for v in result] == [[v[0], v[1]] for v in expected["violations"]]
    for violation, (_, _, reason) in zip(result, expected["violations"], strict=True):
        assert violation.path == name
        if reason.endswith("*"):
            assert violation.reason.startswith(reason[:-1])
        else:
            assert violation.reason == reason
