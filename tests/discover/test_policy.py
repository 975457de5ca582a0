from __future__ import annotations

from gate.discover.images import Found, Location
from gate.discover.parser import parse
from gate.discover.policy import INVALID_DIGEST, NOT_PINNED, has_marker, violation_for
from gate.oci.reference import parse_reference

DIGEST = "sha256:" + "0" * 64


def test_marker_on_its_own_line() -> None:
    assert has_marker(parse("# jim: prod\nFROM a\n"), "jim: prod")
    assert has_marker(parse("#jim: prod  \nFROM a\n"), " jim: prod ")
    assert not has_marker(parse("# jim: prod!\n"), "jim: prod")
    assert not has_marker(parse("# x jim: prod\n"), "jim: prod")
    assert not has_marker(parse("RUN echo \\\n# jim: prod\n  x\n"), "jim: prod")
    assert not has_marker(parse("RUN <<E\n# jim: prod\nE\n"), "jim: prod")


def found(text: str) -> Found:
    return Found(Location("Dockerfile", 3, "FROM"), text, text, parse_reference(text, strict_digest=False))


def test_violation_reasons() -> None:
    assert violation_for(found(f"alpine@{DIGEST}")) is None
    unpinned = violation_for(found("alpine:3"))
    assert unpinned is not None and unpinned.reason == NOT_PINNED
    assert unpinned.to_json() == {"path": "Dockerfile", "line": 3, "image": "alpine:3", "reason": NOT_PINNED}
    bad = violation_for(found("alpine@sha256:1234"))
    assert bad is not None and bad.reason == INVALID_DIGEST
    unusable = violation_for(Found(Location("D", 1, "COPY"), "$X", "$X", None, "unresolved build argument"))
    assert unusable is not None and unusable.reason == "unresolved build argument"
