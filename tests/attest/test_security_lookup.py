"""Bounds of the SBOM lookup: a registry listing thousands of referrers, layers or platforms costs bounded work."""

from __future__ import annotations

import json

import pytest

from gate.attest.lookup import (
    MAX_ATTESTATION_BLOBS,
    MAX_ATTESTATION_MANIFESTS,
    MAX_PLATFORMS,
    find_platform_sboms,
)
from gate.errors import InputError
from gate.sbom.predicates import parse_predicate_type
from tests.attest.test_lookup import BOM, INTOTO, SLSA, Store, desc_json
from tests.attest.wrap import encode, statement

CYCLONEDX = parse_predicate_type("cyclonedx")


def test_thousands_of_unannotated_referrers_are_read_up_to_the_cap_and_fail_closed() -> None:
    store = Store()
    image, data = store.image()
    for number in range(MAX_ATTESTATION_MANIFESTS * 3):
        provenance = store.attestation_manifest([(encode(statement({"n": number}, SLSA)), INTOTO, {})])
        store.refer(image, provenance)
    sbom = store.attestation_manifest([(encode(statement(BOM, subject_digest=image.digest)), INTOTO, {})])
    store.refer(image, sbom)  # listed last: beyond the cap

    (result,) = find_platform_sboms(image, data, store, CYCLONEDX).platforms

    assert result.sbom is None
    assert "stopped after" in (result.reason_missing or "")
    manifests = [d for d in store.fetched if d in {r.digest for r in store.referrer_table[image.digest]}]
    assert len(manifests) == MAX_ATTESTATION_MANIFESTS


def test_a_manifest_with_thousands_of_json_layers_reads_at_most_the_blob_cap() -> None:
    store = Store()
    image, data = store.image()
    layers = [(encode({"n": n}), "application/json", {}) for n in range(MAX_ATTESTATION_BLOBS * 4)]
    store.refer(image, store.attestation_manifest(layers))

    (result,) = find_platform_sboms(image, data, store, CYCLONEDX).platforms

    assert result.sbom is None
    layer_digests = {store.put(d, m).digest for d, m, _ in layers}
    assert len([d for d in store.fetched if d in layer_digests]) == MAX_ATTESTATION_BLOBS


def test_the_sbom_within_the_caps_is_still_found() -> None:
    store = Store()
    image, data = store.image()
    for number in range(MAX_ATTESTATION_MANIFESTS - 1):
        store.refer(image, store.attestation_manifest([(encode(statement({"n": number}, SLSA)), INTOTO, {})]))
    sbom = statement(BOM, subject_digest=image.digest)
    store.refer(image, store.attestation_manifest([(encode(sbom), INTOTO, {})]))

    (result,) = find_platform_sboms(image, data, store, CYCLONEDX).platforms

    assert result.sbom is not None and result.sbom.predicate == BOM


def test_an_index_with_more_platforms_than_the_cap_is_refused_before_any_lookup() -> None:
    store = Store()
    image, _ = store.image()
    children = [
        dict(desc_json(image), platform={"os": "linux", "architecture": f"a{n}"}) for n in range(MAX_PLATFORMS + 1)
    ]
    root, data = store.index(children)
    store.fetched.clear()

    with pytest.raises(InputError, match="platform manifests, more than"):
        find_platform_sboms(root, data, store, CYCLONEDX)
    assert store.fetched == []
    assert json.loads(data)["manifests"]
