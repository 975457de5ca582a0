"""The scan-report referrer promote attaches to the promoted root, in the format asked for.

Every format is an OCI image manifest whose ``config`` is the OCI empty descriptor (the 2 bytes ``{}``),
whose ``subject`` is the promoted root and whose one layer holds the report:

- ``vuln`` (the default): the in-toto statement of ``gate.promote.vuln``; ``artifactType`` and layer
  ``application/vnd.in-toto+json``, annotation ``in-toto.io/predicate-type``
  ``https://cosign.sigstore.dev/attestation/vuln/v1``;
- ``vuln`` signed (``--report-signing-key``): the same statement in a DSSE envelope in a sigstore bundle
  (``gate.promote.signing``); ``artifactType`` and layer ``application/vnd.dev.sigstore.bundle.v0.3+json``
  and the annotations cosign writes on its own bundles (``dev.sigstore.bundle.content: dsse-envelope``,
  ``dev.sigstore.bundle.predicateType``), so ``cosign verify-attestation --type vuln`` finds it: one
  referrer, not an unsigned report beside a signed one;
- ``cssc-v1``: the scan-report document of ``gate.promote.report`` (``application/vnd.cssc.scan-report.v1+json``)
  with the annotations it always had.

``vuln`` annotations, for readers of annotations alone (the seed system's keys, ``com.cssc.scan.*``):
``source`` (the source repository), ``tag``, ``threshold``, ``exceptions`` (the excepted ids, ``|``-separated),
``scanner``, ``scanner-version``, ``method``, ``sbom-predicate-type`` (when SBOMs were read), after an approved
override ``override`` (``true``), ``override-approver``, ``override-issue`` and ``override-cves`` (``|``-separated),
and ``verdict``;
then ``org.opencontainers.image.created`` and ``vnd.image-gate.verdict-digest`` (the sha256 of the verdict
document: a re-run of the same promotion finds its report and reuses it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.attest.unwrap import DSSE_INTOTO_PAYLOAD
from gate.errors import InputError
from gate.oci.reference import compute_digest, descriptor_to_json
from gate.oci.target import OCI_EMPTY_CONFIG, OCI_MANIFEST, Descriptor, Manifest
from gate.promote.report import (
    ANNOTATION_CREATED,
    ANNOTATION_METHOD,
    ANNOTATION_VERDICT,
    ANNOTATION_VERDICT_DIGEST,
    REPORT_ARTIFACT_TYPE,
    REPORT_MEDIA_TYPE,
    ScanReport,
)
from gate.promote.report_format import DEFAULT_REPORT_FORMAT, REPORT_FORMATS, ReportFormat
from gate.promote.signing import BUNDLE_MEDIA_TYPE, SigningKey, sign_statement
from gate.promote.vuln import VULN_PREDICATE_TYPE, Invocation, VulnContext, vuln_statement

VULN_ARTIFACT_TYPE = DSSE_INTOTO_PAYLOAD  # application/vnd.in-toto+json
SIGNED_ARTIFACT_TYPE = BUNDLE_MEDIA_TYPE
EMPTY_DATA = b"{}"
EMPTY_DESCRIPTOR = Descriptor(OCI_EMPTY_CONFIG, compute_digest(EMPTY_DATA), len(EMPTY_DATA))

ANNOTATION_PREDICATE_TYPE = "in-toto.io/predicate-type"
ANNOTATION_BUNDLE_CONTENT = "dev.sigstore.bundle.content"
ANNOTATION_BUNDLE_PREDICATE_TYPE = "dev.sigstore.bundle.predicateType"
ANNOTATION_SOURCE = "com.cssc.scan.source"
ANNOTATION_TAG = "com.cssc.scan.tag"
ANNOTATION_THRESHOLD = "com.cssc.scan.threshold"
ANNOTATION_EXCEPTIONS = "com.cssc.scan.exceptions"
ANNOTATION_SCANNER = "com.cssc.scan.scanner"
ANNOTATION_SCANNER_VERSION = "com.cssc.scan.scanner-version"
ANNOTATION_SBOM_PREDICATE_TYPE = "com.cssc.scan.sbom-predicate-type"
ANNOTATION_OVERRIDE = "com.cssc.scan.override"
ANNOTATION_OVERRIDE_APPROVER = "com.cssc.scan.override-approver"
ANNOTATION_OVERRIDE_ISSUE = "com.cssc.scan.override-issue"
ANNOTATION_OVERRIDE_CVES = "com.cssc.scan.override-cves"


def artifact_type_of(report_format: ReportFormat, signed: bool) -> str:
    """The ``artifactType`` of the referrer a format (signed or not) attaches."""
    if report_format == "cssc-v1":
        return REPORT_ARTIFACT_TYPE
    return SIGNED_ARTIFACT_TYPE if signed else VULN_ARTIFACT_TYPE


@dataclass(frozen=True)
class ReportSettings:
    """How promote writes its report: the format, and the key that signs it (None: unsigned)."""

    report_format: ReportFormat = DEFAULT_REPORT_FORMAT
    signing_key: SigningKey | None = None
    invocation: Invocation = field(default_factory=Invocation)

    def __post_init__(self) -> None:
        if self.report_format not in REPORT_FORMATS:
            raise InputError(f"report format {self.report_format!r}: expected one of {', '.join(REPORT_FORMATS)}")
        if self.signing_key is not None and self.report_format != "vuln":
            raise InputError(
                f"--report-signing-key signs the vuln report, and --report-format is {self.report_format}: "
                "drop one of them (the cssc-v1 report is not an attestation)"
            )

    @property
    def artifact_type(self) -> str:
        return artifact_type_of(self.report_format, self.signing_key is not None)


@dataclass(frozen=True)
class ReportPlace:
    """Where the report goes: the repositories and tag it names, and when the scan ran (None: unknown)."""

    source: str
    destination: str
    tag: str | None
    started: dt.datetime | None = None
    finished: dt.datetime | None = None


@dataclass(frozen=True)
class ReportArtifact:
    """The referrer to push: blobs first (empty config, report layer), then the manifest."""

    manifest: Manifest
    blobs: tuple[tuple[Descriptor, bytes], ...]


@dataclass(frozen=True)
class ReportReferrer:
    """The report as it is attached: its artifact type, its one layer and the manifest's annotations."""

    report: ScanReport
    artifact_type: str
    layer_media_type: str
    layer: bytes
    annotations: Mapping[str, str]
    signer: str | None = None
    """The signing key's ``sha256:`` fingerprint, when signed."""

    def artifact(self, subject: Descriptor) -> ReportArtifact:
        """The referrer manifest for ``subject`` (the promoted root) and its blobs."""
        layer = Descriptor(self.layer_media_type, compute_digest(self.layer), len(self.layer))
        document = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": self.artifact_type,
            "config": descriptor_to_json(EMPTY_DESCRIPTOR),
            "layers": [descriptor_to_json(layer)],
            "subject": descriptor_to_json(Descriptor(subject.media_type, subject.digest, subject.size)),
            "annotations": dict(self.annotations),
        }
        data = json.dumps(document, separators=(",", ":")).encode()
        manifest = Manifest(
            Descriptor(OCI_MANIFEST, compute_digest(data), len(data), artifact_type=self.artifact_type), data
        )
        return ReportArtifact(manifest, ((EMPTY_DESCRIPTOR, EMPTY_DATA), (layer, self.layer)))


def report_referrer(
    report: ScanReport, verdict: Mapping[str, Any], settings: ReportSettings, place: ReportPlace
) -> ReportReferrer:
    """The referrer of ``report`` (the decision made of ``verdict``) in the format ``settings`` ask for."""
    if settings.report_format == "cssc-v1":
        return ReportReferrer(report, REPORT_ARTIFACT_TYPE, REPORT_MEDIA_TYPE, report.data, report.annotations())
    context = VulnContext(place.destination, place.started, place.finished, settings.invocation)
    statement = vuln_statement(report, verdict, context)
    annotations = {ANNOTATION_PREDICATE_TYPE: VULN_PREDICATE_TYPE, **seed_annotations(report, place)}
    key = settings.signing_key
    if key is None:
        return ReportReferrer(report, VULN_ARTIFACT_TYPE, VULN_ARTIFACT_TYPE, statement.data, annotations)
    annotations = {
        ANNOTATION_BUNDLE_CONTENT: "dsse-envelope",
        ANNOTATION_BUNDLE_PREDICATE_TYPE: VULN_PREDICATE_TYPE,
        **annotations,
    }
    bundle = sign_statement(statement.data, key)
    return ReportReferrer(report, SIGNED_ARTIFACT_TYPE, BUNDLE_MEDIA_TYPE, bundle, annotations, key.fingerprint)


def seed_annotations(report: ScanReport, place: ReportPlace) -> dict[str, str]:
    """The ``com.cssc.scan.*`` annotations (the seed system's keys), then the creation time and verdict digest."""
    decision = report.document
    scanner = decision["scan"]["scanner"]
    excepted = dict.fromkeys(str(entry["id"]) for entry in decision["exceptions"]["applied"])
    annotations = {
        ANNOTATION_SOURCE: place.source,
        ANNOTATION_TAG: place.tag or "",
        ANNOTATION_THRESHOLD: str(decision["threshold"]),
        ANNOTATION_EXCEPTIONS: "|".join(excepted),
        ANNOTATION_SCANNER: scanner["name"] or "",
        ANNOTATION_SCANNER_VERSION: scanner["version"] or "",
        ANNOTATION_METHOD: report.method,
    }
    if report.predicate_type:
        annotations[ANNOTATION_SBOM_PREDICATE_TYPE] = report.predicate_type
    override = decision.get("override")
    if override:  # the seed system's override annotations (a maintainer approved a blocked image)
        annotations[ANNOTATION_OVERRIDE] = "true"
        annotations[ANNOTATION_OVERRIDE_APPROVER] = override["approver"]
        annotations[ANNOTATION_OVERRIDE_ISSUE] = override["issue"]
        annotations[ANNOTATION_OVERRIDE_CVES] = "|".join(override["accepted_cves"])
    annotations.update(
        {
            ANNOTATION_VERDICT: report.verdict,
            ANNOTATION_CREATED: report.created,
            ANNOTATION_VERDICT_DIGEST: report.verdict_digest,
        }
    )
    return annotations
