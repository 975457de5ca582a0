from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import InputError
from gate.sbom.predicates import PredicateSelector, family_of, parse_predicate_type


@pytest.mark.parametrize(
    "predicate_type",
    [
        "https://cyclonedx.org/bom",
        "https://cyclonedx.org/bom/v1.6",
        "https://cyclonedx.org/bom/v1.4",
        "https://cyclonedx.org/bom/1.5",
    ],
)
def test_cyclonedx_family_matches_base_and_versioned_forms(predicate_type: str) -> None:
    selector = parse_predicate_type("cyclonedx")
    assert selector.matches(predicate_type)
    assert selector.bom_format == "cyclonedx"
    assert family_of(predicate_type) == "cyclonedx"


@pytest.mark.parametrize("predicate_type", ["https://spdx.dev/Document", "https://spdx.dev/Document/v2.3"])
def test_spdx_family_matches_base_and_versioned_forms(predicate_type: str) -> None:
    selector = parse_predicate_type("SPDX")
    assert selector == PredicateSelector("spdx", "https://spdx.dev/Document")
    assert selector.matches(predicate_type)
    assert not parse_predicate_type("cyclonedx").matches(predicate_type)


@pytest.mark.parametrize(
    "other",
    [
        "https://spdx.dev/Document",
        "https://cyclonedx.org/bomb",
        "https://cyclonedx.org/bom/v1.6/extra",
        "http://cyclonedx.org/bom",
        "https://cyclonedx.org/vex",
        "https://slsa.dev/provenance/v1",
        "",
    ],
)
def test_cyclonedx_family_rejects_other_types(other: str) -> None:
    assert not parse_predicate_type("cyclonedx").matches(other)


def test_exact_uri_matches_only_itself() -> None:
    selector = parse_predicate_type(" https://example.com/sbom/v2 ")
    assert selector.kind == "uri" and selector.bom_format is None
    assert selector.matches("https://example.com/sbom/v2")
    assert not selector.matches("https://example.com/sbom/v2.1")
    assert str(selector) == "https://example.com/sbom/v2"
    assert str(parse_predicate_type("cyclonedx")) == "cyclonedx"


@pytest.mark.parametrize("bad", ["", "   ", "cyclone", "bom", "example.com/sbom", "https://", "https:// x", "a b:c"])
def test_bad_option_values_are_input_errors_naming_the_option(bad: str) -> None:
    with pytest.raises(InputError) as info:
        parse_predicate_type(bad)
    assert "sbom_predicate_type" in info.value.message
    assert "cyclonedx" in info.value.message


@given(st.text(max_size=60))
def test_any_text_is_a_selector_or_an_input_error(text: str) -> None:
    try:
        selector = parse_predicate_type(text)
    except InputError:
        return
    assert selector.kind in ("cyclonedx", "spdx", "uri")


def test_auto_matches_both_families_and_prefers_cyclonedx() -> None:
    selector = parse_predicate_type(" Auto ")
    assert selector == PredicateSelector("auto", "auto") and str(selector) == "auto" and selector.bom_format is None
    cdx, cdx16, spdx = "https://cyclonedx.org/bom", "https://cyclonedx.org/bom/v1.6", "https://spdx.dev/Document/v2.3"
    assert all(selector.matches(kind) for kind in (cdx, cdx16, spdx))
    assert not any(selector.matches(kind) for kind in ("https://slsa.dev/provenance/v1", "https://openvex.dev/ns"))
    assert selector.preferred([spdx, cdx16, cdx]) == {cdx, cdx16}
    assert selector.preferred([spdx]) == {spdx} and selector.preferred([]) == frozenset()
    assert parse_predicate_type("spdx").preferred([spdx]) == {spdx}  # an explicit choice already restricted
