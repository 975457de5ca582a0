from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import InputError
from gate.oci.manifest import (
    OCI_ARTIFACT_MANIFEST,
    attestation_subject,
    detect_media_type,
    is_attestation_child,
    manifest_from_bytes,
    parse_manifest,
    parse_platform,
    platform_from_config,
    platform_matches,
    verify_manifest_bytes,
)
from gate.oci.reference import compute_digest
from gate.oci.target import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    MAX_MANIFEST_BYTES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    DigestMismatch,
    Platform,
)

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


def encode(document: object) -> bytes:
    return json.dumps(document).encode()


def test_oci_image_manifest_blobs_subject_annotations() -> None:
    data = encode(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.example+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": D1, "size": 2},
            "layers": [
                {
                    "mediaType": "application/vnd.cyclonedx+json",
                    "digest": D2,
                    "size": 10,
                    "annotations": {"in-toto.io/predicate-type": "https://cyclonedx.org/bom"},
                }
            ],
            "subject": {"mediaType": OCI_INDEX, "digest": D3, "size": 300},
            "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
        }
    )
    parsed = parse_manifest(data)
    assert parsed.media_type == OCI_MANIFEST
    assert not parsed.is_index
    assert [b.digest for b in parsed.blobs] == [D1, D2]
    assert parsed.subject == Descriptor(OCI_INDEX, D3, 300)
    assert parsed.artifact_type == "application/vnd.example+json"
    assert parsed.effective_artifact_type == "application/vnd.example+json"
    assert parsed.predicate_types == ("https://cyclonedx.org/bom",)
    assert parsed.annotations == {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}


def test_artifact_type_falls_back_to_config_media_type_but_not_for_images() -> None:
    artifact = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.dev.cosign.sig", "digest": D1, "size": 2},
        "layers": [],
    }
    assert parse_manifest(encode(artifact)).effective_artifact_type == "application/vnd.dev.cosign.sig"
    image = dict(artifact, config={"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D1, "size": 2})
    assert parse_manifest(encode(image)).effective_artifact_type is None


def test_docker_schema2_manifest_and_list() -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": D1, "size": 7},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": D2, "size": 9}],
    }
    assert parse_manifest(encode(manifest)).media_type == DOCKER_MANIFEST
    listing = {
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST,
        "manifests": [
            {
                "mediaType": DOCKER_MANIFEST,
                "digest": D1,
                "size": 5,
                "platform": {"os": "linux", "architecture": "arm", "variant": "v7"},
            }
        ],
    }
    parsed = parse_manifest(encode(listing))
    assert parsed.is_index
    assert parsed.manifests[0].platform == Platform("linux", "arm", "v7")
    assert parsed.blobs == ()


def test_index_with_buildkit_attestation_child() -> None:
    attestation = {
        "mediaType": OCI_MANIFEST,
        "digest": D2,
        "size": 5,
        "platform": {"os": "unknown", "architecture": "unknown"},
        "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": D1},
    }
    image = {"mediaType": OCI_MANIFEST, "digest": D1, "size": 5, "platform": {"os": "linux", "architecture": "amd64"}}
    parsed = parse_manifest(encode({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [image, attestation]}))
    assert [is_attestation_child(c) for c in parsed.manifests] == [False, True]
    assert attestation_subject(parsed.manifests[1]) == D1
    assert attestation_subject(parsed.manifests[0]) is None


def test_media_type_detection_without_media_type_field() -> None:
    assert detect_media_type(encode({"schemaVersion": 2, "manifests": []})) == OCI_INDEX
    image = {"schemaVersion": 2, "config": {"mediaType": "x/y", "digest": D1, "size": 1}, "layers": []}
    assert detect_media_type(encode(image)) == OCI_MANIFEST
    # the store's word counts when the document is silent
    assert parse_manifest(encode(image), DOCKER_MANIFEST).media_type == DOCKER_MANIFEST


def test_artifact_manifest() -> None:
    data = encode(
        {
            "mediaType": OCI_ARTIFACT_MANIFEST,
            "artifactType": "application/vnd.example.sbom",
            "blobs": [{"mediaType": "application/json", "digest": D1, "size": 3}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": D2, "size": 4},
        }
    )
    parsed = parse_manifest(data)
    assert parsed.media_type == OCI_ARTIFACT_MANIFEST
    assert [b.digest for b in parsed.blobs] == [D1]
    assert parsed.subject is not None and parsed.subject.digest == D2
    assert parsed.effective_artifact_type == "application/vnd.example.sbom"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not a JSON manifest"),
        (b"[]", "must be a JSON object"),
        (encode({"schemaVersion": 1, "name": "x"}), "schema 1"),
        (encode({"schemaVersion": 2, "mediaType": "text/plain"}), "unsupported manifest media type"),
        (encode({"schemaVersion": 3, "mediaType": OCI_INDEX, "manifests": []}), "schemaVersion must be 2"),
        (encode({"schemaVersion": 2, "mediaType": OCI_INDEX}), "manifests: missing"),
        (encode({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": {}}), "must be a list"),
        (encode({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}), "needs a config"),
        (encode({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{"digest": D1}]}), "mediaType missing"),
        (
            encode(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": [{"mediaType": "a", "digest": "sha256:x", "size": 1}],
                }
            ),
            "invalid digest",
        ),
        (
            encode(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": [{"mediaType": "a", "digest": D1, "size": -1}],
                }
            ),
            "non-negative",
        ),
        (
            encode(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": [{"mediaType": "a", "digest": D1, "size": True}],
                }
            ),
            "non-negative",
        ),
        (
            encode(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_INDEX,
                    "manifests": [{"mediaType": "a", "digest": D1, "size": 1, "platform": {"os": "linux"}}],
                }
            ),
            "os and architecture",
        ),
        (encode({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [], "annotations": {"a": 1}}), "annotations"),
        (encode({"schemaVersion": 2, "mediaType": 5, "manifests": []}), "mediaType must be a string"),
        (encode({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [], "artifactType": 1}), "artifactType"),
        (encode({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [], "subject": "x"}), "subject"),
    ],
)
def test_bad_manifests_name_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_manifest(data, where="registry/repo@x")


def test_verify_manifest_bytes() -> None:
    data = b'{"schemaVersion":2}'
    verify_manifest_bytes(data, compute_digest(data), "here")
    with pytest.raises(DigestMismatch, match="hashes to"):
        verify_manifest_bytes(data + b" ", compute_digest(data), "here")
    big = b" " * (MAX_MANIFEST_BYTES + 1)
    with pytest.raises(DigestMismatch, match="cap"):
        verify_manifest_bytes(big, compute_digest(big), "here")


def test_manifest_from_bytes_computes_digest() -> None:
    data = encode({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
    manifest = manifest_from_bytes(data)
    assert manifest.descriptor.digest == compute_digest(data)
    assert manifest.descriptor.size == len(data)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"os": "linux", "architecture": "arm64", "variant": "v8", "rootfs": {}}, Platform("linux", "arm64", "v8")),
        ({"os": "windows", "architecture": "amd64", "os.version": "10"}, Platform("windows", "amd64", None, "10")),
        ({"os": "linux", "architecture": "amd64", "variant": ""}, Platform("linux", "amd64")),
        ({"os": "linux"}, None),
        ({"architecture": "amd64"}, None),
        ({"os": 1, "architecture": "amd64"}, None),
        ({}, None),
    ],
)
def test_platform_from_config(config: dict[str, object], expected: Platform | None) -> None:
    platform = platform_from_config(json.dumps(config).encode(), "config x")
    assert platform == expected
    assert str(platform) == str(expected)


@pytest.mark.parametrize(("data", "message"), [(b"{", "not valid JSON"), (b"[]", "JSON object"), (b"\xff", "JSON")])
def test_platform_from_config_refuses_what_is_not_a_config(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=f"config x: .*{message}"):
        platform_from_config(data, "config x")


def test_platform_parsing_and_matching() -> None:
    assert parse_platform("linux/arm64/v8") == Platform("linux", "arm64", "v8")
    for bad in ("linux", "linux/", "a/b/c/d", "/amd64"):
        with pytest.raises(InputError, match="invalid platform"):
            parse_platform(bad)
    assert platform_matches(Platform("linux", "arm64"), Platform("linux", "arm64", "v8"))
    assert not platform_matches(Platform("linux", "arm64", "v7"), Platform("linux", "arm64", "v8"))
    assert not platform_matches(Platform("linux", "amd64"), None)


@given(st.binary(max_size=200))
def test_parse_never_crashes_on_garbage(data: bytes) -> None:
    with contextlib.suppress(InputError):
        parse_manifest(data)
