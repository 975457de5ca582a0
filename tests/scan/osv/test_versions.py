"""OSV range evaluation with each ecosystem's ordering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.scan.osv.versions import UnparseableVersion, fixed_versions, is_affected, parse


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
