"""Unwrap an attestation blob down to its in-toto predicate.

Accepted shapes (outermost first):
- a sigstore bundle (v0.1, v0.2, v0.3) carrying a ``dsseEnvelope``;
- a DSSE envelope ``{payloadType, payload (base64), signatures}``;
- a bare in-toto Statement (``https://in-toto.io/Statement/v0.1`` or ``/v1``);
- inside a statement, cosign's legacy predicate wrapper ``{"Data": ..., "Timestamp": ...}``;
- a CycloneDX or SPDX JSON document with no wrapper at all (``raw``).

Signatures are not verified here: this module only reads. Every malformed input is an
``InputError`` naming ``source`` (the blob's digest or file), never a stray exception.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gate.errors import InputError
from gate.sbom.bom import MAX_BOM_BYTES, BomDocument, recognise_bom
from gate.sbom.predicates import CYCLONEDX_PREDICATE, SPDX_PREDICATE

MAX_ATTESTATION_BYTES = MAX_BOM_BYTES
"""Cap on an attestation blob (and on a decoded DSSE payload): as big as the BOM it carries may be."""

STATEMENT_V01 = "https://in-toto.io/Statement/v0.1"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
STATEMENT_TYPES = frozenset({STATEMENT_V01, STATEMENT_V1})
DSSE_INTOTO_PAYLOAD = "application/vnd.in-toto+json"
SIGSTORE_BUNDLE_PREFIX = "application/vnd.dev.sigstore.bundle"

EnvelopeKind = Literal["sigstore-bundle", "dsse", "statement", "raw"]


@dataclass(frozen=True)
class Subject:
    """An in-toto subject: a name and its digests (``{"sha256": "<hex>"}``)."""

    name: str
    digests: Mapping[str, str]


@dataclass(frozen=True)
class Attestation:
    """What an attestation says, whatever wrapped it."""

    predicate_type: str
    subjects: tuple[Subject, ...]
    predicate: Any = field(compare=False, hash=False, repr=False)
    """The predicate as parsed JSON (for an SBOM: the CycloneDX/SPDX document as a dict)."""
    envelope: EnvelopeKind
    """The outermost wrapper found."""
    statement_type: str | None = None
    """The in-toto ``_type``; None for a raw document."""
    cosign_legacy: bool = False
    """True when the predicate came out of cosign's ``{"Data": ...}`` wrapper."""
    source: str = ""

    @property
    def subject_digests(self) -> frozenset[str]:
        """Every subject digest as ``algorithm:hex`` (lower-case), for matching against manifests."""
        return frozenset(f"{alg.lower()}:{value.lower()}" for s in self.subjects for alg, value in s.digests.items())

    def predicate_json(self) -> bytes:
        """The predicate serialised as compact JSON (ASCII, so any JSON string survives)."""
        return json.dumps(self.predicate, separators=(",", ":")).encode("ascii")


def unwrap(data: bytes, source: str, *, predicate_type: str | None = None) -> Attestation:
    """Read an attestation blob. ``source`` names it in errors (a digest or a path).

    ``predicate_type`` is what the manifest or layer annotation says; it is required to
    accept a raw document of an unknown kind and, when a statement says otherwise, the
    statement wins (the annotation is only a hint for finding it).
    """
    if len(data) > MAX_ATTESTATION_BYTES:
        raise InputError(f"attestation {source}: {len(data)} bytes exceeds the cap of {MAX_ATTESTATION_BYTES} bytes")
    document = _parse_json(data, source, "attestation")
    if not isinstance(document, dict):
        raise InputError(f"attestation {source}: expected a JSON object, got {_kind(document)}")
    return unwrap_document(document, source, predicate_type=predicate_type)


def unwrap_document(document: Mapping[str, Any], source: str, *, predicate_type: str | None = None) -> Attestation:
    """Like ``unwrap`` for an already parsed JSON object."""
    media_type = document.get("mediaType")
    if isinstance(media_type, str) and media_type.startswith(SIGSTORE_BUNDLE_PREFIX):
        envelope = document.get("dsseEnvelope")
        if not isinstance(envelope, dict):
            raise InputError(
                f"attestation {source}: sigstore bundle ({media_type}) has no dsseEnvelope "
                "(a message signature is not an attestation)"
            )
        return _from_dsse(envelope, source, "sigstore-bundle")
    if "payloadType" in document or "payload" in document:
        return _from_dsse(document, source, "dsse")
    if "_type" in document:
        return _from_statement(document, source, "statement")
    raw_type = _raw_predicate_type(document, predicate_type)
    if raw_type is not None:
        return Attestation(raw_type, (), dict(document), "raw", None, False, source)
    raise InputError(
        f"attestation {source}: not a DSSE envelope, in-toto statement, sigstore bundle, "
        "CycloneDX or SPDX document (no payloadType, _type, mediaType, bomFormat or spdxVersion)"
    )


def bom_from_attestation(attestation: Attestation) -> BomDocument:
    """The BOM carried as an attestation's predicate."""
    source = attestation.source or attestation.predicate_type
    return recognise_bom(attestation.predicate, f"{source} (predicate {attestation.predicate_type})")


def _from_dsse(envelope: Mapping[str, Any], source: str, kind: EnvelopeKind) -> Attestation:
    payload_type = envelope.get("payloadType")
    payload = envelope.get("payload")
    signatures = envelope.get("signatures")
    if not isinstance(payload_type, str) or not isinstance(payload, str):
        raise InputError(f"attestation {source}: DSSE envelope needs string payloadType and payload")
    if payload_type != DSSE_INTOTO_PAYLOAD:
        raise InputError(f"attestation {source}: DSSE payloadType {payload_type[:100]!r} is not {DSSE_INTOTO_PAYLOAD}")
    if signatures is not None and not isinstance(signatures, list):
        raise InputError(f"attestation {source}: DSSE signatures must be a list")
    if len(payload) > MAX_ATTESTATION_BYTES * 4 // 3 + 4:
        raise InputError(f"attestation {source}: DSSE payload exceeds the cap of {MAX_ATTESTATION_BYTES} bytes")
    raw = _b64decode(payload, source)
    statement = _parse_json(raw, source, "DSSE payload")
    if not isinstance(statement, dict):
        raise InputError(f"attestation {source}: DSSE payload is {_kind(statement)}, not an in-toto statement")
    return _from_statement(statement, source, kind)


def _from_statement(statement: Mapping[str, Any], source: str, kind: EnvelopeKind) -> Attestation:
    statement_type = statement.get("_type")
    if not isinstance(statement_type, str) or statement_type not in STATEMENT_TYPES:
        raise InputError(
            f"attestation {source}: in-toto _type {str(statement_type)[:100]!r} is not "
            f"{STATEMENT_V01} or {STATEMENT_V1}"
        )
    predicate_type = statement.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        raise InputError(f"attestation {source}: in-toto statement has no predicateType")
    subjects = _subjects(statement.get("subject"), source)
    if "predicate" not in statement:
        raise InputError(f"attestation {source}: in-toto statement has no predicate")
    predicate, legacy = _unwrap_cosign(statement["predicate"], source)
    return Attestation(predicate_type, subjects, predicate, kind, statement_type, legacy, source)


def _subjects(value: Any, source: str) -> tuple[Subject, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InputError(f"attestation {source}: in-toto subject must be a list")
    subjects = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InputError(f"attestation {source}: subject[{i}] must be an object")
        name = item.get("name", "")
        digests = item.get("digest", {})
        if not isinstance(name, str) or not isinstance(digests, dict):
            raise InputError(f"attestation {source}: subject[{i}] needs a string name and a digest object")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in digests.items()):
            raise InputError(f"attestation {source}: subject[{i}].digest values must be strings")
        subjects.append(Subject(name, dict(digests)))
    return tuple(subjects)


def _unwrap_cosign(predicate: Any, source: str) -> tuple[Any, bool]:
    """cosign (before v2) wrapped custom and SBOM predicates as ``{"Data": ..., "Timestamp": ...}``."""
    if not (isinstance(predicate, dict) and "Data" in predicate and set(predicate) <= {"Data", "Timestamp"}):
        return predicate, False
    data = predicate["Data"]
    if isinstance(data, str):
        if len(data) > MAX_ATTESTATION_BYTES:
            raise InputError(f"attestation {source}: cosign predicate Data exceeds the cap")
        data = _parse_json(data, source, "cosign predicate Data")
    if not isinstance(data, dict):
        raise InputError(f"attestation {source}: cosign predicate Data is {_kind(data)}, expected a JSON object")
    return data, True


def _raw_predicate_type(document: Mapping[str, Any], hint: str | None) -> str | None:
    if document.get("bomFormat") == "CycloneDX":
        return hint or CYCLONEDX_PREDICATE
    if isinstance(document.get("spdxVersion"), str):
        return hint or SPDX_PREDICATE
    return None


def _b64decode(text: str, source: str) -> bytes:
    # DSSE allows standard or URL-safe base64, padding optional.
    cleaned = text.strip()
    padded = cleaned + "=" * (-len(cleaned) % 4)
    alphabet = b"-_" if ("-" in cleaned or "_" in cleaned) else None
    try:
        return base64.b64decode(padded, altchars=alphabet, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"attestation {source}: DSSE payload is not valid base64 ({exc})") from None


def _parse_json(data: bytes | str, source: str, what: str) -> Any:
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise InputError(f"attestation {source}: {what} is not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"attestation {source}: {what} is not JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise InputError(f"attestation {source}: {what} is nested too deeply") from None
    except ValueError as exc:  # e.g. out-of-range numbers
        raise InputError(f"attestation {source}: {what} is not readable JSON ({exc})") from None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
