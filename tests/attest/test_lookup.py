from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.attest.lookup import PlatformSbom, TargetFetcher, find_platform_sboms
from gate.errors import GateError, InputError
from gate.oci.http import NotFound
from gate.oci.target import OCI_INDEX, OCI_MANIFEST, Descriptor, Manifest, Platform
from gate.sbom.predicates import parse_predicate_type
from tests.attest.wrap import CDX_PREDICATE, REAL_WORLD, SPDX_PREDICATE, bundle, dsse, encode, statement

INTOTO = "application/vnd.in-toto+json"
SLSA = "https://slsa.dev/provenance/v0.2"
BOM = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}
SPDX = {"spdxVersion": "SPDX-2.3", "packages": []}


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Store:
    """Content-addressed bytes plus a referrers table: the lookup's whole world in memory."""

    def __init__(self) -> None:
        self.content: dict[str, bytes] = {}
        self.referrer_table: dict[str, list[Descriptor]] = {}
        self.tag_table: dict[str, Descriptor] = {}
        self.fetched: list[str] = []

    def put(self, data: bytes, media_type: str, **kwargs: Any) -> Descriptor:
        digest = digest_of(data)
        self.content[digest] = data
        return Descriptor(media_type, digest, len(data), **kwargs)

    def manifest(self, descriptor: Descriptor) -> bytes:
        return self._get(descriptor)

    def blob(self, descriptor: Descriptor, limit: int) -> bytes:
        assert descriptor.size <= limit
        return self._get(descriptor)

    def referrers(self, descriptor: Descriptor) -> Sequence[Descriptor]:
        return self.referrer_table.get(descriptor.digest, [])

    def tagged(self, tag: str) -> tuple[Descriptor, bytes] | None:
        found = self.tag_table.get(tag)
        return None if found is None else (found, self._get(found))

    def _get(self, descriptor: Descriptor) -> bytes:
        self.fetched.append(descriptor.digest)
        if descriptor.digest not in self.content:
            raise InputError(f"{descriptor.digest} not found")  # as a Target says so
        data = self.content[descriptor.digest]
        assert digest_of(data) == descriptor.digest
        return data

    # Builders.
    def image(self, os: str = "linux", arch: str = "amd64") -> tuple[Descriptor, bytes]:
        config = self.put(
            json.dumps({"os": os, "architecture": arch}).encode(), "application/vnd.oci.image.config.v1+json"
        )
        layer = self.put(b"layer-" + arch.encode(), "application/vnd.oci.image.layer.v1.tar+gzip")
        body = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": desc_json(config),
            "layers": [desc_json(layer)],
        }
        data = json.dumps(body).encode()
        return self.put(data, OCI_MANIFEST, platform=Platform(os, arch)), data

    def attestation_manifest(
        self,
        layers: list[tuple[bytes, str, dict[str, str]]],
        *,
        annotations: dict[str, str] | None = None,
        artifact_type: str | None = None,
        subject: Descriptor | None = None,
        descriptor_annotations: dict[str, str] | None = None,
    ) -> Descriptor:
        layer_descs = [desc_json(self.put(data, media_type), annotations=ann) for data, media_type, ann in layers]
        empty = self.put(b"{}", "application/vnd.oci.empty.v1+json")
        body: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": desc_json(empty),
            "layers": layer_descs,
        }
        if artifact_type:
            body["artifactType"] = artifact_type
        if annotations:
            body["annotations"] = annotations
        if subject:
            body["subject"] = desc_json(subject)
        data = json.dumps(body).encode()
        return self.put(
            data,
            OCI_MANIFEST,
            artifact_type=artifact_type,
            annotations=descriptor_annotations if descriptor_annotations is not None else (annotations or {}),
        )

    def refer(self, subject: Descriptor, referrer: Descriptor) -> None:
        self.referrer_table.setdefault(subject.digest, []).append(referrer)

    def index(self, children: list[dict[str, Any]]) -> tuple[Descriptor, bytes]:
        data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}).encode()
        return self.put(data, OCI_INDEX), data


def desc_json(d: Descriptor, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"mediaType": d.media_type, "digest": d.digest, "size": d.size}
    if d.platform:
        value["platform"] = {"os": d.platform.os, "architecture": d.platform.architecture}
    if annotations or d.annotations:
        value["annotations"] = dict(annotations or d.annotations)
    if d.artifact_type:
        value["artifactType"] = d.artifact_type
    return value


def buildkit_attestation(store: Store, platform: Descriptor, sbom: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A BuildKit-style attestation manifest for ``platform``: provenance + an SBOM, as index child JSON."""
    predicate_type, document = sbom
    att = store.attestation_manifest(
        [
            (
                encode(statement({"builder": {}}, SLSA, version="v0.1", subject_digest=platform.digest)),
                INTOTO,
                {"in-toto.io/predicate-type": SLSA},
            ),
            (
                encode(statement(document, predicate_type, version="v0.1", subject_digest=platform.digest)),
                INTOTO,
                {"in-toto.io/predicate-type": predicate_type},
            ),
        ]
    )
    child = desc_json(att)
    child["platform"] = {"os": "unknown", "architecture": "unknown"}
    child["annotations"] = {
        "vnd.docker.reference.type": "attestation-manifest",
        "vnd.docker.reference.digest": platform.digest,
    }
    return child


def by_platform(results: tuple[PlatformSbom, ...]) -> dict[str, PlatformSbom]:
    return {r.platform: r for r in results}


def test_buildkit_in_index_attestations_per_platform() -> None:
    store = Store()
    amd, _ = store.image("linux", "amd64")
    arm, _ = store.image("linux", "arm64")
    root, data = store.index(
        [
            desc_json(amd),
            desc_json(arm),
            buildkit_attestation(store, amd, (SPDX_PREDICATE, SPDX)),
            buildkit_attestation(store, arm, (SPDX_PREDICATE, SPDX)),
        ]
    )
    results = find_platform_sboms(root, data, store, parse_predicate_type("spdx")).platforms
    assert [r.platform for r in results] == ["linux/amd64", "linux/arm64"]
    for result, platform in zip(results, (amd, arm), strict=True):
        assert result.digest == platform.digest
        assert result.source == "in-index" and result.reason_missing is None
        assert result.sbom is not None and result.sbom.predicate == SPDX
        assert result.sbom.subject_digests == {platform.digest}

    missing = find_platform_sboms(root, data, store, parse_predicate_type("cyclonedx")).platforms
    assert all(r.sbom is None for r in missing)
    assert SLSA in (missing[0].reason_missing or "") and SPDX_PREDICATE in (missing[0].reason_missing or "")


def test_referrer_sigstore_bundle_with_several_layers_and_in_index_attestations_both_count() -> None:
    store = Store()
    amd, _ = store.image()
    root, data = store.index(
        [desc_json(amd), buildkit_attestation(store, amd, (CDX_PREDICATE, {**BOM, "serialNumber": "in-index"}))]
    )
    referrer = store.attestation_manifest(
        [
            (
                encode(bundle(dsse(statement({}, SLSA, subject_digest=amd.digest)))),
                "application/vnd.dev.sigstore.bundle.v0.3+json",
                {"dev.sigstore.bundle.predicateType": SLSA},
            ),
            (
                encode(bundle(dsse(statement(BOM, CDX_PREDICATE + "/v1.6", subject_digest=amd.digest)))),
                "application/vnd.dev.sigstore.bundle.v0.3+json",
                {},
            ),
        ],
        artifact_type="application/vnd.dev.sigstore.bundle.v0.3+json",
        subject=amd,
    )
    store.refer(amd, referrer)
    (result,) = find_platform_sboms(root, data, store, parse_predicate_type("cyclonedx")).platforms
    assert result.source == "referrer" and result.attestation_digest == referrer.digest
    assert result.sbom is not None and result.sbom.envelope == "sigstore-bundle"
    assert result.sbom.predicate_type == CDX_PREDICATE + "/v1.6" and result.sbom.predicate == BOM
    assert [found.source for found in result.sboms] == ["referrer", "in-index"]  # none wins: both are scanned
    assert result.sboms[1].attestation.predicate["serialNumber"] == "in-index"
    assert result.seen_predicate_types == (SLSA, CDX_PREDICATE + "/v1.6", SLSA, CDX_PREDICATE)


def test_lone_manifest_reads_its_platform_from_the_config_and_keeps_every_referrer() -> None:
    store = Store()
    image, data = store.image("linux", "s390x")
    lone = Descriptor(image.media_type, image.digest, image.size)
    for created, serial in (("2024-01-01T00:00:00Z", "old"), ("2025-01-01T00:00:00Z", "new")):
        ref = store.attestation_manifest(
            [(encode(dsse(statement({**BOM, "serialNumber": serial}, subject_digest=image.digest))), INTOTO, {})],
            artifact_type=INTOTO,
            descriptor_annotations={"org.opencontainers.image.created": created},
        )
        store.refer(lone, ref)
    (result,) = find_platform_sboms(lone, data, store, parse_predicate_type("cyclonedx")).platforms
    assert result.platform == "linux/s390x"
    # "newest wins" let whoever pushes last decide: every SBOM counts, newest first
    assert [found.attestation.predicate["serialNumber"] for found in result.sboms] == ["new", "old"]


def test_raw_cyclonedx_referrer_by_artifact_type() -> None:
    store = Store()
    image, data = store.image()
    ref = store.attestation_manifest(
        [(encode(BOM), "application/vnd.cyclonedx+json", {})], artifact_type="application/vnd.cyclonedx+json"
    )
    store.refer(image, ref)
    (result,) = find_platform_sboms(image, data, store, parse_predicate_type("cyclonedx")).platforms
    assert result.sbom is not None and result.sbom.envelope == "raw" and result.sbom.predicate == BOM


def test_signatures_and_mismatched_annotations_are_not_fetched() -> None:
    store = Store()
    image, data = store.image()
    signature = store.attestation_manifest(
        [(b"sig", "application/vnd.dev.cosign.simplesigning.v1+json", {})],
        artifact_type="application/vnd.dev.cosign.artifact.sig.v1+json",
    )
    provenance = store.attestation_manifest(
        [(encode(statement({}, SLSA)), INTOTO, {})], annotations={"in-toto.io/predicate-type": SLSA}
    )
    store.refer(image, signature)
    store.refer(image, provenance)
    (result,) = find_platform_sboms(image, data, store, parse_predicate_type("cyclonedx")).platforms
    assert result.sbom is None and SLSA in (result.reason_missing or "")
    assert signature.digest not in store.fetched and provenance.digest not in store.fetched


def test_subject_naming_another_image_is_skipped_with_a_reason() -> None:
    store = Store()
    image, data = store.image()
    ref = store.attestation_manifest([(encode(dsse(statement(BOM, subject_digest="sha256:" + "f" * 64))), INTOTO, {})])
    store.refer(image, ref)
    (result,) = find_platform_sboms(image, data, store, parse_predicate_type("cyclonedx")).platforms
    assert result.sbom is None and "subject does not name" in (result.reason_missing or "")


def test_annotation_and_statement_disagree() -> None:
    store = Store()
    image, data = store.image()
    ref = store.attestation_manifest(
        [
            (
                encode(statement({}, SLSA, subject_digest=image.digest)),
                INTOTO,
                {"in-toto.io/predicate-type": CDX_PREDICATE},
            )
        ]
    )
    store.refer(image, ref)
    (result,) = find_platform_sboms(image, data, store, parse_predicate_type("cyclonedx")).platforms
    assert result.sbom is None and "statement says" in (result.reason_missing or "")


def test_annotated_but_malformed_attestation_is_an_input_error_naming_the_digest() -> None:
    store = Store()
    image, data = store.image()
    ref = store.attestation_manifest([(b"{broken", INTOTO, {"in-toto.io/predicate-type": CDX_PREDICATE})])
    store.refer(image, ref)
    with pytest.raises(InputError) as info:
        find_platform_sboms(image, data, store, parse_predicate_type("cyclonedx"))
    assert digest_of(b"{broken") in info.value.message and ref.digest in info.value.message


def test_unannotated_unreadable_layer_is_skipped_with_a_note() -> None:
    store = Store()
    image, data = store.image()
    ref = store.attestation_manifest(
        [(b"{broken", "application/json", {}), (b"\x00bin", "application/octet-stream", {})]
    )
    store.refer(image, ref)
    (result,) = find_platform_sboms(image, data, store, parse_predicate_type("cyclonedx")).platforms
    assert result.sbom is None and "unreadable" in (result.reason_missing or "")
    assert digest_of(b"\x00bin") not in store.fetched


def test_no_attachments_nested_index_and_unknown_children() -> None:
    store = Store()
    amd, _ = store.image()
    nested, _ = store.index([desc_json(amd)])
    unknown = desc_json(store.put(b"{}", OCI_MANIFEST, platform=Platform("unknown", "unknown")))
    root, data = store.index(
        [desc_json(amd), {**desc_json(nested), "platform": {"os": "linux", "architecture": "arm"}}, unknown]
    )
    results = by_platform(find_platform_sboms(root, data, store, parse_predicate_type("cyclonedx")).platforms)
    assert set(results) == {"linux/amd64", "linux/arm"}
    assert results["linux/amd64"].reason_missing == (
        "no referrers and no in-index attestation manifest, and no SBOM attested on the index"
    )
    assert results["linux/arm"].reason_missing == "nested index"


D1 = "sha256:" + "1" * 64


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (b"[]", "expected a JSON object"),
        (b"{x", "not valid JSON"),
        (json.dumps({"mediaType": OCI_INDEX, "manifests": []}).encode(), "no platform manifests"),
        (json.dumps({"mediaType": OCI_INDEX, "manifests": {}}).encode(), "manifests must be a list"),
        (json.dumps({"manifests": [{"digest": "sha256:1"}]}).encode(), "manifests[0]"),
        (json.dumps({"manifests": [{"mediaType": "m", "digest": "sha256:1", "size": 1}]}).encode(), "invalid digest"),
        (json.dumps({"manifests": [{"mediaType": "m", "digest": D1, "size": -1}]}).encode(), "size"),
        (json.dumps({"manifests": [{"mediaType": "m", "digest": D1, "size": 1, "platform": {}}]}).encode(), "platform"),
        (
            json.dumps({"manifests": [{"mediaType": "m", "digest": D1, "size": 1, "annotations": {"n": 1}}]}).encode(),
            "annotations",
        ),
    ],
)
def test_malformed_index_is_an_input_error(index: bytes, expected: str) -> None:
    root = Descriptor(OCI_INDEX, digest_of(index), len(index))
    with pytest.raises(InputError) as info:
        find_platform_sboms(root, index, Store(), parse_predicate_type("cyclonedx"))
    assert expected in info.value.message and root.digest in info.value.message


def test_real_sbom_found_through_dsse_referrer() -> None:
    path = REAL_WORLD / "node-alpine-image.cdx.json"
    if not path.is_file():
        pytest.skip(f"real-world fixture {path} is absent")
    document = json.loads(path.read_bytes())
    store = Store()
    image, data = store.image()
    store.refer(
        image,
        store.attestation_manifest([(encode(dsse(statement(document, subject_digest=image.digest))), INTOTO, {})]),
    )
    (result,) = find_platform_sboms(image, data, store, parse_predicate_type("cyclonedx")).platforms
    assert result.sbom is not None and result.sbom.predicate == document


class MemoryTarget:
    """Just the three Target methods TargetFetcher uses, over a Store."""

    display_name = "memory"

    def __init__(self, store: Store) -> None:
        self.store = store

    def fetch_manifest(self, reference: str) -> Manifest:
        if reference not in self.store.content:
            raise NotFound(f"memory: no manifest {reference}")
        data = self.store.content[reference]
        return Manifest(Descriptor(OCI_MANIFEST, reference, len(data)), data)

    @contextmanager
    def open_blob(self, descriptor: Descriptor) -> Iterator[Iterator[bytes]]:
        data = self.store.content[descriptor.digest]
        yield iter([data[i : i + 3] for i in range(0, len(data), 3)])

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        return self.store.referrer_table.get(digest, [])


def test_target_fetcher_feeds_the_lookup_and_caps_blobs() -> None:
    store = Store()
    image, data = store.image()
    store.refer(
        image, store.attestation_manifest([(encode(dsse(statement(BOM, subject_digest=image.digest))), INTOTO, {})])
    )
    fetcher = TargetFetcher(MemoryTarget(store))  # type: ignore[arg-type]
    (result,) = find_platform_sboms(image, data, fetcher, parse_predicate_type("cyclonedx")).platforms
    assert result.sbom is not None and result.sbom.predicate == BOM
    big = store.put(b"x" * 10, "application/octet-stream")
    with pytest.raises(InputError, match="exceeds the cap"):
        fetcher.blob(big, 5)
    lying = Descriptor(big.media_type, big.digest, 2)
    with pytest.raises(InputError, match="more than 5 bytes"):
        fetcher.blob(lying, 5)


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=200)
    | st.dictionaries(
        st.sampled_from(["manifests", "mediaType", "layers", "config"]),
        st.lists(
            st.dictionaries(
                st.sampled_from(["mediaType", "digest", "size", "platform", "annotations"]),
                st.none()
                | st.integers()
                | st.text(max_size=8)
                | st.dictionaries(st.text(max_size=4), st.text(max_size=4)),
            )
        )
        | st.text(max_size=8),
    ).map(lambda d: json.dumps(d).encode())
)
def test_fuzz_root_manifest_only_gate_errors(data: bytes) -> None:
    root = Descriptor(OCI_INDEX, digest_of(data), len(data))
    try:
        results = find_platform_sboms(root, data, Store(), parse_predicate_type("cyclonedx")).platforms
    except GateError:
        return
    assert results and all(r.sbom is None and r.reason_missing for r in results)


def test_lookup_through_a_real_oci_layout_target(tmp_path: Path) -> None:
    from gate.oci.layout import LayoutTarget

    store = Store()
    amd, _ = store.image("linux", "amd64")
    arm, _ = store.image("linux", "arm64")
    in_index = buildkit_attestation(store, arm, (CDX_PREDICATE, {**BOM, "serialNumber": "arm"}))
    root, root_data = store.index([desc_json(amd), desc_json(arm), in_index])
    referrer = store.attestation_manifest(
        [(encode(dsse(statement({**BOM, "serialNumber": "amd"}, subject_digest=amd.digest))), INTOTO, {})],
        artifact_type=INTOTO,
        subject=amd,
    )
    target = LayoutTarget(tmp_path / "layout", create=True)
    for digest, data in store.content.items():
        descriptor = Descriptor("application/octet-stream", digest, len(data))
        target.push_blob(descriptor, lambda data=data: nullcontext(iter([data])))  # type: ignore[misc]
    target.push_manifest(Manifest(root, root_data), tag="v1")
    target.add_referrer(amd, Manifest(referrer, store.content[referrer.digest]))

    reopened = LayoutTarget(tmp_path / "layout")
    top = reopened.fetch_manifest("v1")
    results = find_platform_sboms(
        top.descriptor, top.data, TargetFetcher(reopened), parse_predicate_type("cyclonedx")
    ).platforms
    found = {r.platform: (r.source, r.sbom.predicate["serialNumber"] if r.sbom else None) for r in results}
    assert found == {"linux/amd64": ("referrer", "amd"), "linux/arm64": ("in-index", "arm")}
