"""OSV range evaluation with each ecosystem's ordering."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.scanners.osv.versions import UnparseableVersion, compare, fixed_versions, is_affected, parse


def _range(kind: str, *events: tuple[str, str]) -> dict[str, object]:
    return {"ranges": [{"type": kind, "events": [{k: v} for k, v in events]}]}


CROSS_SPAWN = _range("SEMVER", ("introduced", "0"), ("fixed", "6.0.6"), ("introduced", "7.0.0"), ("fixed", "7.0.5"))


@pytest.mark.parametrize(
    ("version", "expected"),
    [("5.1.0", True), ("6.0.5", True), ("6.0.6", False), ("6.9.9", False), ("7.0.0", True), ("7.0.3", True),
     ("7.0.5", False), ("7.0.10", False)],
)  # fmt: skip
def test_two_introduced_fixed_pairs(version: str, expected: bool) -> None:
    assert is_affected("npm", version, CROSS_SPAWN) is expected


def test_numeric_not_string_ordering() -> None:
    entry = _range("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.10.0"))
    assert is_affected("npm", "1.9.0", entry)  # "1.9.0" > "1.10.0" as strings
    assert not is_affected("npm", "1.10.0", entry)


def test_last_affected_is_inclusive_and_limit_caps() -> None:
    entry = _range("SEMVER", ("introduced", "0"), ("last_affected", "8.5.1"))
    assert is_affected("npm", "8.5.1", entry)
    assert not is_affected("npm", "8.5.2", entry)
    limited = _range("ECOSYSTEM", ("introduced", "1.0.0"), ("limit", "2.0.0"))
    assert is_affected("PyPI", "1.5", limited)
    assert not is_affected("PyPI", "2.1", limited)


@pytest.mark.parametrize(
    ("family", "version", "fixed", "expected"),
    [
        ("Alpine", "1.3.1-r2", "1.3.2-r0", True),
        ("Alpine", "1.3.2-r0", "1.3.2-r0", False),
        ("Alpine", "3.5.5-r0", "3.5.4-r0", False),
        ("Alpine", "1.37.0-r9", "1.37.0-r10", True),
        ("Debian", "1:2.3-1", "2.9-1", False),  # the epoch wins
        ("Debian", "3.0.11-1~deb12u1", "3.0.11-1", True),  # tilde sorts before anything
        ("Ubuntu", "3.0.2-0ubuntu1.10", "3.0.2-0ubuntu1.12", True),
        ("AlmaLinux", "1.2-3.el9", "1.10-1.el9", True),
        ("PyPI", "1.0rc1", "1.0", True),
        ("PyPI", "2.0.post1", "2.0", False),
        ("Maven", "1.0-SNAPSHOT", "1.0", True),
        ("RubyGems", "1.0.pre", "1.0", True),
        ("NuGet", "1.0.0-beta", "1.0.0", True),
        ("Go", "1.2.3", "1.10.0", True),
        ("crates.io", "0.9.0", "0.10.0", True),
        ("Packagist", "2.0.0-RC1", "2.0.0", True),
    ],
)
def test_ecosystem_orderings(family: str, version: str, fixed: str, expected: bool) -> None:
    assert is_affected(family, version, _range("ECOSYSTEM", ("introduced", "0"), ("fixed", fixed))) is expected


def test_versions_list_and_git_ranges() -> None:
    entry = {"versions": ["1.2.3"], "ranges": [{"type": "GIT", "events": [{"introduced": "abc"}]}]}
    assert is_affected("npm", "1.2.3", entry)
    assert not is_affected("npm", "1.2.4", entry)
    assert not is_affected("npm", "1.2.4", {"ranges": [{"type": "GIT", "events": [{"introduced": "0"}]}]})


def test_unparseable_versions_raise() -> None:
    entry = _range("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.0.0"))
    with pytest.raises(UnparseableVersion):
        is_affected("Alpine", "garbage!", entry)
    with pytest.raises(UnparseableVersion):
        parse("NoSuchEcosystem", "1.0")
    with pytest.raises(UnparseableVersion):
        is_affected("npm", "1.0.0", _range("SEMVER", ("introduced", "0"), ("fixed", "not.a.version!")))


def test_fixed_versions_in_record_order() -> None:
    assert fixed_versions(CROSS_SPAWN) == ["6.0.6", "7.0.5"]


@given(
    st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)),
    st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)),
)
def test_single_fixed_range_agrees_with_tuple_order(version: tuple[int, int, int], fixed: tuple[int, int, int]) -> None:
    entry = _range("SEMVER", ("introduced", "0"), ("fixed", ".".join(map(str, fixed))))
    assert is_affected("npm", ".".join(map(str, version)), entry) is (version < fixed)


@given(st.integers(0, 200), st.integers(0, 200))
def test_alpine_revisions_compare_numerically(installed: int, fixed: int) -> None:
    # univers' Alpine class inherits a string-comparing >=; the matcher must not use it.
    entry = _range("ECOSYSTEM", ("introduced", "0"), ("fixed", f"1.37.0-r{fixed}"))
    assert is_affected("Alpine", f"1.37.0-r{installed}", entry) is (installed < fixed)


def _walk_reference(family: str, version: str, events: list[dict[str, str]]) -> bool:
    """The OSV schema's evaluation as written: sort the events, then walk them all."""
    mine = parse(family, version)
    order = {"introduced": 0, "fixed": 1, "last_affected": 2}
    limits = [parse(family, v) for e in events for k, v in e.items() if k == "limit" and v != "*"]
    keyed = [(order[k], k, None if (k, v) == ("introduced", "0") else parse(family, v))
             for e in events for k, v in e.items() if k in order]  # fmt: skip
    if any(compare(mine, limit) >= 0 for limit in limits):
        return False

    def before(a: tuple[int, str, Any], b: tuple[int, str, Any]) -> int:
        if a[2] is None or b[2] is None:
            return (b[2] is None) - (a[2] is None)
        return compare(a[2], b[2]) or a[0] - b[0]

    affected = False
    for _, kind, bound in sorted(keyed, key=functools.cmp_to_key(before)):
        if kind == "introduced" and (bound is None or compare(mine, bound) >= 0):
            affected = True
        elif kind != "introduced" and compare(mine, bound) >= (1 if kind == "last_affected" else 0):
            affected = False
    return affected


_small = st.builds(lambda a, b, c: f"{a}.{b}.{c}", st.integers(0, 2), st.integers(0, 2), st.integers(0, 2))
_events = st.lists(
    st.one_of(
        st.builds(lambda k, v: {k: v}, st.sampled_from(["introduced", "fixed", "last_affected", "limit"]), _small),
        st.just({"introduced": "0"}),
        st.just({"limit": "*"}),
    ),
    max_size=7,
)


@settings(max_examples=400, deadline=None)
@given(family=st.sampled_from(["npm", "PyPI", "Alpine", "Debian"]), version=_small, events=_events)
def test_range_evaluation_agrees_with_sorting_and_walking_all_events(
    family: str, version: str, events: list[dict[str, str]]
) -> None:
    if family == "Alpine":
        version, events = (
            version + "-r0",
            [{k: (v if v in ("0", "*") else v + "-r1")} for e in events for k, v in e.items()],
        )
    expected = _walk_reference(family, version, events)
    assert is_affected(family, version, {"ranges": [{"type": "ECOSYSTEM", "events": events}]}) is expected


@settings(max_examples=300, deadline=None)
@given(
    family=st.sampled_from(["npm", "PyPI", "Debian", "Maven", "RubyGems", "Go", "NuGet", "Alpine"]),
    left=_small,
    right=_small,
)
def test_compare_agrees_with_the_ordering_operators(family: str, left: str, right: str) -> None:
    if family == "Alpine":
        left, right = left + "-r1", right + "-r10"
    a, b = parse(family, left), parse(family, right)
    assert compare(a, b) == (-1 if a < b else 1 if b < a else 0)
    assert compare(a, a) == 0
