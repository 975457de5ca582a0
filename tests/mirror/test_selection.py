"""Which tags are images to mirror: reserved tags are never kept, include/exclude patterns, bad patterns;
a property test over arbitrary tag lists (the ``tags`` matrix never names a reserved tag)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import InputError
from gate.mirror.selection import REASON_TEXT, compile_pattern, reserved_reason, select_tags
from gate.mirror.tags import TagList, TagsRequest
from gate.oci.open import Access
from gate.oci.reference import is_valid_tag, parse_reference

HEX = "0123456789abcdef"
DIGEST_HEX = "a" * 64


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        (f"sha256-{DIGEST_HEX}", "referrers-fallback"),
        (f"sha512-{DIGEST_HEX}", "referrers-fallback"),
        (f"sha256-{DIGEST_HEX}.sig", "cosign-signature"),
        (f"sha256-{DIGEST_HEX}.att", "cosign-attestation"),
        (f"sha256-{DIGEST_HEX}.sbom", "cosign-sbom"),
        ("mirror-history", "mirror-history"),
        ("has space", "invalid"),
        ("", "invalid"),
        ("x" * 129, "invalid"),
        ("3.13-slim", None),
        ("sha256-abc", None),  # not a digest: a tag like any other
        (f"sha256-{DIGEST_HEX}.tar", None),
        (f"sha256-{DIGEST_HEX[:63]}", None),
        ("mirror-history-2", None),
        ("latest", None),
    ],
)
def test_reserved_tags(tag: str, reason: str | None) -> None:
    assert reserved_reason(tag) == reason
    if reason is not None:
        assert REASON_TEXT[reserved_reason(tag) or "invalid"]  # every reason has its text


def test_include_and_exclude_are_searched_and_combined() -> None:
    tags = ["3.12", "3.13", "3.13-slim", "3.13.1-slim", "3.14-rc1", "latest", f"sha256-{DIGEST_HEX}", "3.13"]
    selection = select_tags(tags, re.compile(r"^3\.13"), re.compile("slim$"))
    assert selection.kept == ("3.13",)  # listed twice, kept once
    reasons = {d.tag: d.reason for d in selection.dropped}
    assert reasons == {
        "3.12": "not-included",
        "3.13-slim": "excluded",
        "3.13.1-slim": "excluded",
        "3.14-rc1": "not-included",
        "latest": "not-included",
        f"sha256-{DIGEST_HEX}": "referrers-fallback",  # reserved before any pattern
    }
    everything = select_tags(tags)
    assert everything.kept == ("3.12", "3.13", "3.13-slim", "3.13.1-slim", "3.14-rc1", "latest")
    # A reserved tag stays dropped even when a pattern names it.
    assert select_tags(["mirror-history"], re.compile("history")).dropped[0].reason == "mirror-history"


@pytest.mark.parametrize("text", ["(", "[a-", "*x", "a{2,1}"])
def test_a_bad_pattern_is_bad_input_naming_the_option(text: str) -> None:
    with pytest.raises(InputError, match=r"--include: .* not a valid regular expression"):
        compile_pattern(text, "--include")


def test_an_empty_pattern_is_none_and_a_long_one_is_refused() -> None:
    assert compile_pattern("", "--include") is None
    with pytest.raises(InputError, match="longer than"):
        compile_pattern("a" * 1001, "--include")


_digests = st.text(HEX, min_size=64, max_size=64)
_reserved = st.one_of(
    _digests.map(lambda h: f"sha256-{h}"),
    _digests.map(lambda h: f"sha512-{h}"),
    st.tuples(_digests, st.sampled_from(["sig", "att", "sbom"])).map(lambda t: f"sha256-{t[0]}.{t[1]}"),
    st.just("mirror-history"),
)
_any_tag = st.one_of(
    st.from_regex(r"\A[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}\Z"),
    _reserved,
    st.text(max_size=12),  # what an OCI layout's ref names may be
)


@given(tags=st.lists(_any_tag, max_size=40), include=st.sampled_from(["", "^", "1", "sha", "history", "."]))
def test_tags_never_yields_a_fallback_cosign_or_history_tag(tags: list[str], include: str) -> None:
    found = TagList(
        TagsRequest(parse_reference("r.example/a/b", default_tag=None), None, Access(), include=include),
        len(tags),
        select_tags(tags, compile_pattern(include, "--include")),
    )
    entries = found.matrix()["include"]
    for entry in entries:
        assert reserved_reason(entry["tag"]) is None and is_valid_tag(entry["tag"])
        assert not re.fullmatch(r"sha(256|512)-[0-9a-f]{64}(\.(sig|att|sbom))?", entry["tag"])
        assert entry["tag"] != "mirror-history"
        assert entry["source"] == f"r.example/a/b:{entry['tag']}" and entry["name"] == f"b:{entry['tag']}"
    kept = [entry["tag"] for entry in entries]
    assert sorted(set(kept)) == kept
    assert set(kept) | {d.tag for d in found.selection.dropped} == set(tags)
