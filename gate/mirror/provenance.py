"""Acquisition provenance: an in-toto statement, attached as an OCI referrer to a mirrored image (the
index or lone manifest) and to each of its platform manifests, saying where it came from and which run
brought it. The seed system's format, so both tools read each other's records:

- artifact type ``application/vnd.in-toto+json``, one layer of that type (the statement), empty config;
- predicate type ``https://toddysm.com/acquisition-provenance/v0.1``; predicate ``source{reference,
  registry,repository,tag,digest}``, ``destination{reference,digest}``, ``acquiredAt``, ``runUrl``,
  ``actor``, ``workflow{name,runId,runAttempt}``, ``copyMethod``, ``copyReferrers``,
  ``sourceAuthenticated``, and ``platformSourceDigest`` on a platform's statement;
- annotations ``in-toto.io/predicate-type``, ``org.opencontainers.image.title`` and
  ``com.toddysm.acquisition.{source,source-digest,timestamp,run-url}``.

With the report signing key (``gate.promote.signing``) the statement is signed the way the scan report
is: one layer, a sigstore bundle v0.3 of a DSSE envelope of the statement, artifact type
``application/vnd.dev.sigstore.bundle.v0.3+json``, annotations ``dev.sigstore.bundle.content:
dsse-envelope`` and ``dev.sigstore.bundle.predicateType`` besides the ones above (``cosign
verify-attestation --key PUB --type https://toddysm.com/acquisition-provenance/v0.1 --insecure-ignore-tlog``
verifies it).

A subject that already has a statement of this acquisition (same source reference and source digest;
signed when a key is given) gets no second one: a warm re-run adds nothing (the digest did not change),
and a run that stopped half-way completes the set.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gate.mirror.run_info import RunInfo
from gate.oci.blobs import bytes_source
from gate.oci.manifest import is_attestation_child, parse
from gate.oci.reference import compute_digest, descriptor_to_json, split_digest
from gate.oci.tags import EMPTY_CONFIG, EMPTY_CONFIG_DATA
from gate.oci.target import OCI_MANIFEST, Descriptor, Manifest, Platform, Target
from gate.outcome import ignore

if TYPE_CHECKING:  # cryptography is loaded only when a statement is signed
    from gate.promote.signing import SigningKey

PREDICATE_TYPE = "https://toddysm.com/acquisition-provenance/v0.1"
IN_TOTO = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
COPY_METHOD = "image-gate"
PREDICATE_ANNOTATION = "in-toto.io/predicate-type"
TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"
SOURCE = "com.toddysm.acquisition.source"
SOURCE_DIGEST = "com.toddysm.acquisition.source-digest"
TIMESTAMP = "com.toddysm.acquisition.timestamp"
RUN_URL = "com.toddysm.acquisition.run-url"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"  # gate.promote.signing's
BUNDLE_CONTENT = "dev.sigstore.bundle.content"
BUNDLE_PREDICATE_TYPE = "dev.sigstore.bundle.predicateType"


@dataclass(frozen=True)
class Acquisition:
    """What every statement of one acquisition says."""

    source_reference: str  # docker.io/library/python:3.13
    source_registry: str
    source_repository: str
    source_tag: str
    source_digest: str
    image: str  # the destination repository, the statements' subject name
    destination_reference: str
    destination_digest: str
    acquired_at: str
    run: RunInfo
    copy_referrers: bool
    source_authenticated: bool

    def statement(self, subject: str, platform_digest: str | None = None) -> dict[str, Any]:
        algorithm, hexpart = split_digest(subject)
        predicate: dict[str, Any] = {
            "source": {
                "reference": self.source_reference,
                "registry": self.source_registry,
                "repository": self.source_repository,
                "tag": self.source_tag,
                "digest": self.source_digest,
            },
            "destination": {"reference": self.destination_reference, "digest": self.destination_digest},
            "acquiredAt": self.acquired_at,
            "runUrl": self.run.run_url,
            "actor": self.run.actor,
            "workflow": {"name": self.run.workflow, "runId": self.run.run_id, "runAttempt": self.run.run_attempt},
            "copyMethod": COPY_METHOD,
            "copyReferrers": self.copy_referrers,
            "sourceAuthenticated": self.source_authenticated,
        }
        if platform_digest is not None:
            predicate["platformSourceDigest"] = platform_digest
        return {
            "_type": STATEMENT_TYPE,
            "predicateType": PREDICATE_TYPE,
            "subject": [{"name": self.image, "digest": {algorithm: hexpart}}],
            "predicate": predicate,
        }

    def annotations(self, title: str) -> dict[str, str]:
        return {
            PREDICATE_ANNOTATION: PREDICATE_TYPE,
            TITLE: title,
            SOURCE: self.source_reference,
            SOURCE_DIGEST: self.source_digest,
            TIMESTAMP: self.acquired_at,
            RUN_URL: self.run.run_url,
            CREATED: self.acquired_at,
        }


@dataclass(frozen=True)
class ProvenanceRecord:
    """One statement: its subject (and platform, None for the index), the referrer, whether this run attached it."""

    subject: str
    platform: str | None
    digest: str | None  # the referrer; None when one was there already
    attached: bool

    def to_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "platform": self.platform, "digest": self.digest, "attached": self.attached}


def attach_provenance(
    destination: Target,
    root_digest: str,
    acquisition: Acquisition,
    *,
    signing_key: SigningKey | None = None,
    log: Callable[[str], None] = ignore,
) -> tuple[ProvenanceRecord, ...]:
    """Attach the acquisition's statements (signed with ``signing_key`` when given) to ``root_digest`` in
    ``destination`` and to its platform manifests."""
    root = destination.fetch_manifest(root_digest)
    where = f"{destination.display_name}@{root_digest}"
    subjects: list[tuple[Descriptor, Platform | None]] = [(root.descriptor, None)]
    parsed = parse(root, where)
    if parsed.is_index:
        for child in parsed.manifests:
            platform = child.platform
            if is_attestation_child(child) or platform is None or platform.os in ("", "unknown"):
                continue
            subjects.append((child, platform))
    records: list[ProvenanceRecord] = []
    config_pushed = False
    for subject, platform in subjects:
        name = str(platform) if platform else None
        artifact_type = IN_TOTO if signing_key is None else BUNDLE_MEDIA_TYPE
        if _has_statement(destination, subject.digest, acquisition, artifact_type):
            records.append(ProvenanceRecord(subject.digest, name, None, False))
            continue
        stem = "acquisition-provenance" if platform is None else f"acquisition-provenance-{_slug(platform)}"
        statement = acquisition.statement(subject.digest, subject.digest if platform else None)
        data = json.dumps(statement, indent=2).encode()
        annotations = acquisition.annotations(f"{stem}.json")
        if signing_key is not None:
            from gate.promote.signing import sign_statement

            data = sign_statement(data, signing_key)
            annotations = {BUNDLE_CONTENT: "dsse-envelope", BUNDLE_PREDICATE_TYPE: PREDICATE_TYPE, **annotations}
        title = annotations[TITLE] = f"{stem}.json" if signing_key is None else f"{stem}.sigstore.json"
        if not config_pushed:
            destination.push_blob(EMPTY_CONFIG, bytes_source(EMPTY_CONFIG_DATA))
            config_pushed = True
        referrer = _referrer(destination, data, artifact_type, subject, annotations, title)
        destination.push_manifest(referrer)
        destination.add_referrer(Descriptor(subject.media_type, subject.digest, subject.size), referrer)
        log(f"{destination.display_name}: acquisition provenance {referrer.descriptor.digest} -> {subject.digest}")
        records.append(ProvenanceRecord(subject.digest, name, referrer.descriptor.digest, True))
    return tuple(records)


def _has_statement(destination: Target, subject: str, acquisition: Acquisition, artifact_type: str) -> bool:
    for found in destination.referrers(subject, artifact_type):
        notes: Mapping[str, str] = found.annotations
        if (
            notes.get(PREDICATE_ANNOTATION) == PREDICATE_TYPE
            and notes.get(SOURCE) == acquisition.source_reference
            and notes.get(SOURCE_DIGEST) == acquisition.source_digest
        ):
            return True
    return False


def _referrer(
    destination: Target,
    data: bytes,
    artifact_type: str,
    subject: Descriptor,
    annotations: Mapping[str, str],
    title: str,
) -> Manifest:
    """Push the statement (or its bundle); the referrer manifest naming ``subject`` (not pushed), whose
    config, the empty one, the caller has pushed."""
    layer = Descriptor(artifact_type, compute_digest(data), len(data))
    destination.push_blob(layer, bytes_source(data))
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": descriptor_to_json(EMPTY_CONFIG),
        "layers": [{**descriptor_to_json(layer), "annotations": {TITLE: title}}],
        "subject": descriptor_to_json(Descriptor(subject.media_type, subject.digest, subject.size)),
        "annotations": dict(annotations),
    }
    body = json.dumps(document, indent=2).encode()
    return Manifest(Descriptor(OCI_MANIFEST, compute_digest(body), len(body), artifact_type=artifact_type), body)


def _slug(platform: Platform) -> str:
    """``linux-arm64-v8``: how the seed names a platform's statement file."""
    return "-".join(part for part in (platform.os, platform.architecture, platform.variant) if part)
