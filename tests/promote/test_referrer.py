"""The scan-report referrer in each format: its manifest, layer and annotations (on real registries, with cosign
as referee: tests/commands/test_promote.py)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from gate.attest.verify.bundle import verify_bundle
from gate.errors import InputError
from gate.oci.target import OCI_INDEX, Descriptor
from gate.promote.referrer import (
    SIGNED_ARTIFACT_TYPE,
    VULN_ARTIFACT_TYPE,
    ReportPlace,
    ReportSettings,
    artifact_type_of,
    report_referrer,
)
from gate.promote.report import REPORT_ARTIFACT_TYPE, build_scan_report
from gate.promote.signing import parse_signing_key
from tests.attest.verify.signing import private_key, private_pem
from tests.promote.test_report import CREATED, CYCLONEDX, ROOT, scan_document

SUBJECT = Descriptor(OCI_INDEX, ROOT, 1234)
PLACE = ReportPlace("registry.example/quarantine/app", "registry.example/production/app", "1.0")
VULN = "https://cosign.sigstore.dev/attestation/vuln/v1"
EMPTY = "sha256:" + hashlib.sha256(b"{}").hexdigest()


def referrer(settings: ReportSettings) -> tuple[dict[str, Any], bytes]:
    verdict = scan_document()
    built = report_referrer(build_scan_report(verdict, created=CREATED), verdict, settings, PLACE)
    artifact = built.artifact(SUBJECT)
    manifest = json.loads(artifact.manifest.data)
    assert artifact.manifest.descriptor.digest == "sha256:" + hashlib.sha256(artifact.manifest.data).hexdigest()
    assert artifact.manifest.descriptor.artifact_type == built.artifact_type == settings.artifact_type
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["config"] == {"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY, "size": 2}
    assert manifest["subject"] == {"mediaType": OCI_INDEX, "digest": ROOT, "size": 1234}
    [layer] = manifest["layers"]
    assert layer["digest"] == "sha256:" + hashlib.sha256(built.layer).hexdigest() and layer["size"] == len(built.layer)
    assert [(d.digest, data) for d, data in artifact.blobs] == [(EMPTY, b"{}"), (layer["digest"], built.layer)]
    return manifest, built.layer


SEED_ANNOTATIONS = {
    "com.cssc.scan.source": "registry.example/quarantine/app",
    "com.cssc.scan.tag": "1.0",
    "com.cssc.scan.threshold": "high",
    "com.cssc.scan.exceptions": "CVE-2024-0002",
    "com.cssc.scan.scanner": "osv",
    "com.cssc.scan.scanner-version": "1.2.3",
    "com.cssc.scan.method": "sbom",
    "com.cssc.scan.sbom-predicate-type": CYCLONEDX,
    "com.cssc.scan.verdict": "pass",
    "org.opencontainers.image.created": "2025-06-01T12:30:05Z",
}


def test_the_default_is_the_vuln_statement_as_an_in_toto_referrer() -> None:
    manifest, layer = referrer(ReportSettings())
    assert manifest["artifactType"] == VULN_ARTIFACT_TYPE == "application/vnd.in-toto+json"
    assert manifest["layers"][0]["mediaType"] == "application/vnd.in-toto+json"
    annotations = manifest["annotations"]
    assert isinstance(annotations, dict)
    assert annotations.pop("vnd.image-gate.verdict-digest").startswith("sha256:")
    assert annotations == {"in-toto.io/predicate-type": VULN, **SEED_ANNOTATIONS}
    statement = json.loads(layer)
    assert statement["predicateType"] == VULN and statement["subject"][0]["name"] == PLACE.destination


def test_signed_it_is_one_sigstore_bundle_referrer_as_cosign_attaches_its_own() -> None:
    key = parse_signing_key(private_pem(private_key()), "test")
    manifest, layer = referrer(ReportSettings(signing_key=key))
    assert manifest["artifactType"] == SIGNED_ARTIFACT_TYPE == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert manifest["layers"][0]["mediaType"] == SIGNED_ARTIFACT_TYPE
    annotations = manifest["annotations"]
    assert isinstance(annotations, dict)
    assert annotations["dev.sigstore.bundle.content"] == "dsse-envelope"
    assert annotations["dev.sigstore.bundle.predicateType"] == VULN
    assert annotations["in-toto.io/predicate-type"] == VULN
    assert SEED_ANNOTATIONS.items() <= annotations.items()
    checked = verify_bundle(layer, key.policy())
    assert checked.verified and checked.signer == key.fingerprint
    bundle = json.loads(layer)
    assert json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))["predicateType"] == VULN


def test_cssc_v1_is_the_report_of_earlier_versions_unchanged() -> None:
    manifest, layer = referrer(ReportSettings("cssc-v1"))
    assert manifest["artifactType"] == REPORT_ARTIFACT_TYPE == "application/vnd.cssc.scan-report.v1+json"
    assert manifest["layers"][0]["mediaType"] == REPORT_ARTIFACT_TYPE
    annotations = manifest["annotations"]
    assert isinstance(annotations, dict)
    assert sorted(annotations) == [
        "com.cssc.scan.method", "com.cssc.scan.predicate-type", "com.cssc.scan.verdict",
        "org.opencontainers.image.created", "vnd.image-gate.verdict-digest",
    ]  # fmt: skip
    assert json.loads(layer)["report_version"] == 1


def test_a_signed_cssc_v1_report_or_an_unknown_format_is_bad_input() -> None:
    key = parse_signing_key(private_pem(private_key()), "test")
    with pytest.raises(InputError, match="signs the vuln report"):
        ReportSettings("cssc-v1", key)
    with pytest.raises(InputError, match="expected one of vuln, cssc-v1"):
        ReportSettings("sarif")  # type: ignore[arg-type]
    assert artifact_type_of("vuln", True) == SIGNED_ARTIFACT_TYPE
    assert artifact_type_of("vuln", False) == VULN_ARTIFACT_TYPE
    assert artifact_type_of("cssc-v1", False) == REPORT_ARTIFACT_TYPE


def test_a_scan_of_no_sbom_writes_no_sbom_predicate_type() -> None:
    verdict = {**scan_document(), "method": "sarif", "predicate_type": None}
    for row in verdict["platforms"]:
        row.update(sbom_attestation=None, sbom_layer=None, sbom_predicate_type=None)
    built = report_referrer(build_scan_report(verdict, created=CREATED), verdict, ReportSettings(), PLACE)
    assert "com.cssc.scan.sbom-predicate-type" not in built.annotations
    assert built.annotations["com.cssc.scan.method"] == "sarif"
