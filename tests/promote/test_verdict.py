"""What a verdict must say before promote copies anything (gate.promote.verdict), on documents alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.oci.reference import parse_target_reference
from gate.oci.target import OCI_INDEX, OCI_MANIFEST, Descriptor, Manifest
from gate.promote.verdict import PromotionRefused, check_coverage, check_repository, check_verdict, platform_digests

ROOT = "sha256:" + "1" * 64
AMD64 = "sha256:" + "2" * 64
ARM64 = "sha256:" + "3" * 64
ATTESTATION = "sha256:" + "4" * 64
UNKNOWN = "sha256:" + "5" * 64


def row(platform: str, digest: str, **extra: Any) -> dict[str, Any]:
    return {
        "platform": platform, "digest": digest, "findings": 0, "blocking": 0, "blocking_ids": [],
        "verdict": "pass", "reason": None, "sources": [f"{platform}.sarif#0"], **extra,
    }  # fmt: skip


def verdict(*rows: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "verdict": "pass",
        "digest": ROOT,
        "image": "127.0.0.1:5000/acme/quarantine:v1",
        "blocking": [],
        "platforms": list(rows) if rows else [row("linux/amd64", AMD64), row("linux/arm64", ARM64)],
        **extra,
    }


def child(digest: str, platform: tuple[str, str] | None, **annotations: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"mediaType": OCI_MANIFEST, "digest": digest, "size": 100}
    if platform:
        entry["platform"] = {"os": platform[0], "architecture": platform[1]}
    if annotations:
        entry["annotations"] = annotations
    return entry


def index(*children: dict[str, Any]) -> Manifest:
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(children)}).encode()
    return Manifest(Descriptor(OCI_INDEX, ROOT, len(data)), data)


IMAGE_INDEX = index(
    child(AMD64, ("linux", "amd64")),
    child(ARM64, ("linux", "arm64")),
    child(
        ATTESTATION,
        ("unknown", "unknown"),
        **{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": AMD64},
    ),
    child(UNKNOWN, ("unknown", "unknown")),
)


def test_a_complete_pass_is_accepted() -> None:
    document = verdict()
    assert check_verdict(document, ROOT) == ROOT
    check_coverage(document, IMAGE_INDEX)
    check_repository(document, parse_target_reference("127.0.0.1:5000/acme/quarantine:v1"))
    check_repository(document, parse_target_reference("127.0.0.1:5000/acme/quarantine@" + ROOT))


def test_platforms_are_what_the_scan_reads_without_attestations_or_unknown() -> None:
    assert platform_digests(IMAGE_INDEX) == (AMD64, ARM64)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (verdict(row("linux/amd64", AMD64)), "judged 1 of the 2 platform manifests"),
        (verdict(row("linux/amd64", AMD64), row(None, None)), "judged 1 of the 2"),  # type: ignore[arg-type]
        (verdict(row("linux/amd64", AMD64), row("linux/arm64", ARM64), row("x/y", ATTESTATION)), "not in"),
    ],
)
def test_a_verdict_must_judge_exactly_the_platforms_of_the_root(document: dict[str, Any], expected: str) -> None:
    with pytest.raises(PromotionRefused, match=expected) as refused:
        check_coverage(document, IMAGE_INDEX)
    assert refused.value.exit_code == 1


def test_a_single_manifest_is_covered_by_its_digest() -> None:
    config = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": UNKNOWN, "size": 2}
    data = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": []}).encode()
    single = Manifest(Descriptor(OCI_MANIFEST, ROOT, len(data)), data)
    assert platform_digests(single) == (ROOT,)
    check_coverage(verdict(row("linux/amd64", ROOT)), single)
    check_coverage(verdict(row(None, None)), single)  # type: ignore[arg-type]  # another scanner's SARIF
    with pytest.raises(PromotionRefused, match="not in"):
        check_coverage(verdict(row("linux/amd64", AMD64)), single)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"platforms": []}, "judged no platform"),
        ({"platforms": "all"}, "judged no platform"),
        ({"platforms": [row("linux/amd64", AMD64, sources=[])]}, "fed by a SARIF run"),
        ({"blocking": [{"id": "CVE-2024-1"}]}, "lists 1 blocking finding"),
        ({"blocking": None}, "blocking list is missing"),
        ({"platforms": [row("linux/amd64", AMD64, verdict="fail")]}, "platform linux/amd64 did not pass"),
        ({"platforms": [row("linux/amd64", AMD64, blocking=2)]}, "did not pass"),
        ({"platforms": [row("linux/amd64", AMD64, blocking_ids=["CVE-1"])]}, "did not pass"),
        ({"platforms": [row("linux/amd64", AMD64, reason="no SBOM")]}, "did not pass"),
        ({"verdict": "fail"}, "the verdict is 'fail'"),
        ({"digest": None}, "names no image digest"),
    ],
)
def test_a_verdict_that_judged_nothing_or_contradicts_itself_is_refused(change: dict[str, Any], expected: str) -> None:
    with pytest.raises(PromotionRefused, match=expected):
        check_verdict({**verdict(), **change}, None)


def test_another_digest_is_refused() -> None:
    with pytest.raises(PromotionRefused, match="the source now resolves to"):
        check_verdict(verdict(), AMD64)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("127.0.0.1:5000/acme/elsewhere:v1", "judged 127.0.0.1:5000/acme/elsewhere"),
        ("127.0.0.1:5001/acme/quarantine:v1", "another repository"),
        ("NOT A REFERENCE", "is not an image reference"),
        (7, "is not a string"),
    ],
)
def test_a_verdict_naming_another_repository_is_refused(image: Any, expected: str) -> None:
    with pytest.raises(PromotionRefused, match=expected):
        check_repository(verdict(image=image), parse_target_reference("127.0.0.1:5000/acme/quarantine:v1"))


def test_a_verdict_naming_no_image_is_bound_by_its_digest_alone() -> None:
    source = parse_target_reference("127.0.0.1:5000/acme/quarantine:v1")
    check_repository(verdict(image=None), source)
    check_repository(verdict(image=""), source)


def test_layout_repositories_compare_by_their_real_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = parse_target_reference(f"oci:{tmp_path}/layout:v1")
    check_repository(verdict(image="oci:layout:v1"), source)
    with pytest.raises(PromotionRefused, match="another repository"):
        check_repository(verdict(image="oci:other:v1"), source)
