"""The scan report: what the gate decided about an image, as a document.

``build_scan_report(verdict_document, ...)`` turns the JSON document of ``scan --json`` or
``evaluate --json`` (the verdict) into the scan-report document, validated against
``gate/promote/schemas/scan-report.schema.json``: the verdict, threshold, counts, blocking findings,
exceptions and VEX applied, the SBOM of each platform and, when the scan says, whether it verified the
attestations' signatures. ``gate.promote.referrer`` attaches it: as the ``decision`` of the in-toto vuln
statement (the default), or as the layer of an ``application/vnd.cssc.scan-report.v1+json`` referrer
(``--report-format cssc-v1``) with the annotations ``com.cssc.scan.method``, ``com.cssc.scan.predicate-type``,
``com.cssc.scan.verdict``, ``org.opencontainers.image.created`` and ``vnd.image-gate.verdict-digest`` (the
sha256 of the verdict document, so a re-run of the same promotion finds and reuses its report).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from gate import __version__
from gate.errors import InputError
from gate.files import read_capped
from gate.policy.severity import SEVERITIES
from gate.schema_files import check_document

REPORT_MEDIA_TYPE = "application/vnd.cssc.scan-report.v1+json"
REPORT_ARTIFACT_TYPE = REPORT_MEDIA_TYPE
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "scan-report.schema.json"

ANNOTATION_METHOD = "com.cssc.scan.method"
ANNOTATION_PREDICATE_TYPE = "com.cssc.scan.predicate-type"
ANNOTATION_VERDICT = "com.cssc.scan.verdict"
ANNOTATION_CREATED = "org.opencontainers.image.created"
ANNOTATION_VERDICT_DIGEST = "vnd.image-gate.verdict-digest"

MAX_VERDICT_BYTES = 64 * 1024 * 1024

ScanMethod = Literal["sbom", "image", "sarif"]
SCAN_METHODS: tuple[ScanMethod, ...] = ("sbom", "image", "sarif")


def validate_scan_report(document: Any, source: str = "scan report") -> None:
    """Raise ``InputError`` naming the first JSON path that breaks the schema."""
    check_document(SCHEMA_PATH, document, source)


def load_verdict(path: str | Path) -> dict[str, Any]:
    """The JSON document of an earlier ``scan --json`` / ``evaluate --json`` (an ``InputError`` otherwise)."""
    file = Path(path)
    data = read_capped(file, MAX_VERDICT_BYTES, "the verdict file", regular_only=False)
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"verdict file {file}: not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InputError(f"verdict file {file}: expected a JSON object (the --json document of scan or evaluate)")
    if "error" in document and "verdict" not in document:
        raise InputError(f"verdict file {file}: it holds an error document, not a verdict")
    return document


def verdict_digest(document: Mapping[str, Any]) -> str:
    """The sha256 of a verdict document in canonical JSON (sorted keys, compact)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ScanReport:
    """A validated scan-report document and its exact bytes (the referrer's layer)."""

    document: Mapping[str, Any]
    data: bytes
    verdict_digest: str

    @property
    def verdict(self) -> str:
        return str(self.document["verdict"])

    @property
    def digest(self) -> str:
        return str(self.document["digest"])

    @property
    def method(self) -> str:
        return str(self.document["scan"]["method"])

    @property
    def predicate_type(self) -> str | None:
        value = self.document["scan"]["predicate_type"]
        return str(value) if value is not None else None

    @property
    def created(self) -> str:
        return str(self.document["created"])

    def annotations(self) -> dict[str, str]:
        """The referrer manifest's annotations (predicate type empty when the scan used no SBOM)."""
        return {
            ANNOTATION_METHOD: self.method,
            ANNOTATION_PREDICATE_TYPE: self.predicate_type or "",
            ANNOTATION_VERDICT: self.verdict,
            ANNOTATION_CREATED: self.created,
            ANNOTATION_VERDICT_DIGEST: self.verdict_digest,
        }


def rfc3339(moment: dt.datetime) -> str:
    """``2024-05-01T12:00:00Z`` (UTC, whole seconds)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no time zone")
    return moment.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_scan_report(
    verdict: Mapping[str, Any],
    *,
    image: str | None = None,
    digest: str | None = None,
    method: ScanMethod | None = None,
    created: dt.datetime | None = None,
    source: str = "verdict document",
) -> ScanReport:
    """The scan report of a verdict document (``scan``/``evaluate`` ``--json``), schema-validated.

    ``image``/``digest`` default to the verdict's own; ``method`` to ``sbom`` when the verdict
    names a scanner (the ``scan`` command scans SBOM attestations), else ``sarif`` (``evaluate``
    of another scanner's SARIF). Raises ``InputError`` (naming ``source``) when the verdict lacks
    what the report needs.
    """
    image_text = image or _opt_str(verdict.get("image"))
    digest_text = digest or _opt_str(verdict.get("digest"))
    if not image_text:
        raise InputError(f"{source}: no image: the verdict names none and none was given")
    if not digest_text:
        raise InputError(f"{source}: no image digest: the verdict names none and none was given")
    scanner = verdict.get("scanner")
    scanner_name: str | None = None
    scanner_version: str | None = None
    if isinstance(scanner, Mapping):
        scanner_name, scanner_version = _opt_str(scanner.get("name")), _opt_str(scanner.get("version"))
    elif isinstance(scanner, str):
        scanner_name, scanner_version = scanner, _opt_str(verdict.get("scanner_version"))
    chosen = method or _opt_str(verdict.get("method")) or ("sbom" if scanner_name else "sarif")
    if chosen not in SCAN_METHODS:
        raise InputError(f"{source}: unknown scan method {chosen!r}; expected one of {', '.join(SCAN_METHODS)}")
    rows = _list(verdict.get("platforms"))
    # the predicate type the SBOMs actually had (a URI) wins over the selector the scan was given
    predicate_type = next(
        (_opt_str(r.get("sbom_predicate_type")) for r in rows if _opt_str(r.get("sbom_predicate_type"))), None
    ) or _opt_str(verdict.get("predicate_type"))
    counts = verdict.get("counts")
    document: dict[str, Any] = {
        "report_version": 1,
        "generator": {"name": "image-gate", "version": __version__},
        "created": rfc3339(created or dt.datetime.now(dt.UTC)),
        "image": image_text,
        "digest": digest_text,
        "verdict": verdict.get("verdict"),
        "threshold": verdict.get("threshold"),
        "severity_source": verdict.get("severity_source"),
        "scan": {
            "method": chosen,
            "scanner": {"name": scanner_name, "version": scanner_version},
            "predicate_type": predicate_type,
        },
        "counts": {k: counts.get(k) for k in SEVERITIES} if isinstance(counts, Mapping) else counts,
        "blocking": [_finding(entry) for entry in _list(verdict.get("blocking"))],
        "exceptions": {
            "applied": _applied_exceptions(_list(verdict.get("excepted"))),
            "expired": [_exception(e) for e in _list(verdict.get("expired_exceptions"))],
            "stale": [_exception(e) for e in _list(verdict.get("stale_exceptions"))],
        },
        "vex": {
            "applied": [
                _vex(entry) for entry in _list(verdict.get("suppressed")) if entry.get("suppressed_by") == "vex"
            ]
        },
        "platforms": [_platform(row) for row in rows],
    }
    verification = _verification(verdict)
    if verification is not None:
        document["verification"] = verification
    override = verdict.get("override")
    if isinstance(override, Mapping):  # an approved override (gate.github.override.Approval), as it was recorded
        document["override"] = dict(override)
    validate_scan_report(document, source)
    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
    return ScanReport(document, data, verdict_digest(verdict))


# --- verdict fields -----------------------------------------------------------------------------


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _list(value: Any) -> Sequence[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _finding(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": entry.get("id"),
        "severity": entry.get("severity"),
        "score": entry.get("score"),
        "package": entry.get("package"),
        "installed": entry.get("installed"),
        "fixed": entry.get("fixed"),
        "platform": entry.get("platform"),
    }


def _applied_exceptions(excepted: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    applied: dict[tuple[Any, Any], dict[str, Any]] = {}
    for entry in excepted:
        exception = entry.get("exception")
        if not isinstance(exception, Mapping):
            continue
        key = (exception.get("id"), exception.get("where"))
        row = applied.setdefault(
            key,
            {
                "id": exception.get("id"),
                "reason": exception.get("reason"),
                "where": exception.get("where"),
                "findings": 0,
            },
        )
        row["findings"] += 1
    return list(applied.values())


def _exception(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": entry.get("id"),
        "reason": entry.get("reason"),
        "expires": entry.get("expires"),
        "where": entry.get("where"),
    }


def _vex(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": entry.get("id"),
        "package": entry.get("package"),
        "platform": entry.get("platform"),
        "status": entry.get("status"),
        "justification": entry.get("justification"),
        "source": entry.get("source"),
    }


def _verification(verdict: Mapping[str, Any]) -> dict[str, Any] | None:
    """Whether the scan verified the attestations' signatures, when the verdict says (None: it does not)."""
    if "attestations_verified" not in verdict and "unverified_attestations" not in verdict:
        return None
    verified = verdict.get("attestations_verified")
    unverified = verdict.get("unverified_attestations")
    return {
        "attestations_verified": verified if isinstance(verified, bool) else None,
        "unverified_attestations": len(unverified) if isinstance(unverified, list) else 0,
    }


def _platform(row: Mapping[str, Any]) -> dict[str, Any]:
    attestation = _opt_str(row.get("sbom_attestation"))
    layer = _opt_str(row.get("sbom_layer"))
    sbom: dict[str, Any] | None = None
    if attestation or layer or row.get("sbom_source") == "layers":  # layers: Trivy's inventory, no attestation
        sbom = {
            "attestation": attestation,
            "layer": layer,
            "predicate_type": _opt_str(row.get("sbom_predicate_type")),
            "source": _opt_str(row.get("sbom_source")),
        }
        if "sbom_verified" in row or "sbom_signer" in row:  # a scan that verified signatures says so
            verified = row.get("sbom_verified")
            sbom.update(
                verified=verified if isinstance(verified, bool) else None, signer=_opt_str(row.get("sbom_signer"))
            )
    verdict = row.get("verdict")
    if verdict is None:
        verdict = "pass" if not row.get("blocking") and not row.get("reason") else "fail"
    return {
        "platform": row.get("platform"),
        "digest": row.get("digest"),
        "verdict": verdict,
        "findings": row.get("findings", 0),
        "blocking": row.get("blocking", 0),
        "reason": row.get("reason"),
        "sbom": sbom,
    }
