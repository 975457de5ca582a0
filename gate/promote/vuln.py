"""The scan report as a standard attestation: an in-toto statement with cosign's vulnerability predicate.

``vuln_statement(report, verdict, context)`` turns the gate's decision into the statement ``promote``
attaches (or signs, ``gate.promote.signing``), validated against ``schemas/vuln-report.schema.json``:

- ``_type`` in-toto Statement v1; ``subject`` the promoted root (its repository and digest);
- ``predicateType`` ``https://cosign.sigstore.dev/attestation/vuln/v1``, the predicate cosign's
  ``verify-attestation --type vuln`` and admission controllers read:

  - ``invocation``: ``parameters`` (the gate's settings), ``uri``, ``event_id`` and ``builder.id`` (the
    GitHub Actions run and workflow, when promote runs in one; else empty);
  - ``scanner``: ``uri`` (the scanner as a purl), ``version``, ``db`` (empty: a verdict does not record
    the database), ``result``: the findings the gate listed, per platform (blocking, excepted, suppressed);
  - ``metadata``: ``scanStartedOn``/``scanFinishedOn``: the scan's when promote ran it, else the time of
    the decision (a verdict file records no time);
  - ``decision``: the gate's decision, the scan-report document of ``gate.promote.report`` (verdict,
    threshold, counts, exceptions and VEX applied, SBOM digests per platform, verification status).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packageurl import PackageURL

from gate.attest.unwrap import STATEMENT_V1
from gate.promote.report import ScanReport, rfc3339
from gate.schema_files import check_document

VULN_PREDICATE_TYPE = "https://cosign.sigstore.dev/attestation/vuln/v1"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "vuln-report.schema.json"
# Scanners by the name their SARIF or the verdict gives, as purls (type, namespace, name).
_KNOWN_SCANNERS = {
    "trivy": ("github", "aquasecurity", "trivy"),
    "grype": ("github", "anchore", "grype"),
    "osv-scanner": ("github", "google", "osv-scanner"),
    "osv": ("generic", "image-gate", "osv"),  # image-gate's built-in OSV matcher
}


@dataclass(frozen=True)
class Invocation:
    """The run that made the decision (the predicate's ``invocation``); empty outside GitHub Actions."""

    uri: str = ""
    event_id: str = ""
    builder_id: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Invocation:
        """The GitHub Actions run (``GITHUB_SERVER_URL``/``GITHUB_REPOSITORY``/``GITHUB_RUN_ID``) and workflow."""
        server = environ.get("GITHUB_SERVER_URL") or "https://github.com"
        repository, run_id = environ.get("GITHUB_REPOSITORY", ""), environ.get("GITHUB_RUN_ID", "")
        workflow = environ.get("GITHUB_WORKFLOW_REF", "")
        return cls(
            uri=f"{server}/{repository}/actions/runs/{run_id}" if repository and run_id else "",
            event_id=run_id,
            builder_id=f"{server}/{workflow}" if workflow else "",
        )


@dataclass(frozen=True)
class VulnContext:
    """What the statement names besides the decision: the promoted repository, when the scan ran, the run."""

    subject_name: str
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    invocation: Invocation = field(default_factory=Invocation)


@dataclass(frozen=True)
class VulnStatement:
    """A validated statement and its exact bytes (the layer, or the signed DSSE payload)."""

    document: Mapping[str, Any]
    data: bytes


def validate_vuln_statement(document: Any, source: str = "vuln report") -> None:
    """Raise ``InputError`` naming the first JSON path that breaks the schema."""
    check_document(SCHEMA_PATH, document, source)


def scanner_uri(name: str | None, version: str | None) -> str:
    """The scanner as a purl (``pkg:github/aquasecurity/trivy@0.50.0``); empty when the verdict names none."""
    if not name:
        return ""
    kind, namespace, purl_name = _KNOWN_SCANNERS.get(name.lower(), ("generic", None, name))
    return str(PackageURL(type=kind, namespace=namespace, name=purl_name, version=version or None).to_string())


def vuln_statement(report: ScanReport, verdict: Mapping[str, Any], context: VulnContext) -> VulnStatement:
    """The in-toto statement of the decision ``report`` made of ``verdict``, about ``report.digest``."""
    decision = report.document
    scan = decision["scan"]
    algorithm, _, value = report.digest.partition(":")
    decided = dt.datetime.strptime(report.created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    document = {
        "_type": STATEMENT_V1,
        "subject": [{"name": context.subject_name, "digest": {algorithm: value}}],
        "predicateType": VULN_PREDICATE_TYPE,
        "predicate": {
            "invocation": {
                "parameters": _parameters(verdict, decision),
                "uri": context.invocation.uri,
                "event_id": context.invocation.event_id,
                "builder.id": context.invocation.builder_id,
            },
            "scanner": {
                "uri": scanner_uri(scan["scanner"]["name"], scan["scanner"]["version"]),
                "version": scan["scanner"]["version"] or "",
                "db": {"uri": "", "version": ""},
                "result": {"platforms": _results(verdict, decision)},
            },
            "metadata": {
                "scanStartedOn": rfc3339(context.started or decided),
                "scanFinishedOn": rfc3339(context.finished or decided),
            },
            "decision": decision,
        },
    }
    validate_vuln_statement(document)
    return VulnStatement(document, (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode())


def _parameters(verdict: Mapping[str, Any], decision: Mapping[str, Any]) -> dict[str, Any]:
    """The gate's settings as the verdict records them."""
    parameters: dict[str, Any] = {
        "threshold": decision["threshold"],
        "severity_source": decision["severity_source"],
        "method": decision["scan"]["method"],
    }
    for key in ("ignore_unfixed", "allow_missing_sbom", "enforced"):
        if isinstance(verdict.get(key), bool):
            parameters[key] = verdict[key]
    return parameters


def _results(verdict: Mapping[str, Any], decision: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entry per platform of the decision, each with the findings the gate listed for it.

    A finding belongs to the first platform named like it; one whose platform no row names (a SARIF run
    without a platform) goes to a row without a platform, else to an entry of its own."""
    platforms = [
        {
            "platform": row["platform"],
            "digest": row["digest"],
            "verdict": row["verdict"],
            "sbom": row["sbom"],
            "findings": [],
        }
        for row in decision["platforms"]
    ]
    by_name: dict[str | None, dict[str, Any]] = {}
    for entry in platforms:
        by_name.setdefault(entry["platform"], entry)
    for finding in _findings(verdict):
        home = by_name.get(finding.pop("platform"))
        if home is None:
            home = by_name.setdefault(
                None, {"platform": None, "digest": None, "verdict": "pass", "sbom": None, "findings": []}
            )
            if home not in platforms:
                platforms.append(home)
        home["findings"].append(finding)
    return platforms


def _findings(verdict: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = [{**_finding(entry), "status": "blocking"} for entry in _list(verdict.get("blocking"))]
    for entry in _list(verdict.get("excepted")):
        given = entry.get("exception")
        exception: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        found.append(
            {
                **_finding(entry),
                "status": "excepted",
                "exception": {
                    "id": _text(exception.get("id")),
                    "reason": _text(exception.get("reason")),
                    "where": _text(exception.get("where")),
                },
            }
        )
    for entry in _list(verdict.get("suppressed")):
        found.append(
            {
                **_finding(entry),
                "status": "suppressed",
                "suppression": {
                    "by": _text(entry.get("suppressed_by")),
                    "status": _text(entry.get("status")),
                    "justification": _text(entry.get("justification")),
                    "source": _text(entry.get("source")),
                },
            }
        )
    return found


def _finding(entry: Mapping[str, Any]) -> dict[str, Any]:
    score = entry.get("score")
    return {
        "id": str(entry.get("id") or "?"),
        "severity": entry.get("severity"),
        "score": score if isinstance(score, int | float) and not isinstance(score, bool) else None,
        "package": _text(entry.get("package")),
        "installed": _text(entry.get("installed")),
        "fixed": _text(entry.get("fixed")),
        "platform": _text(entry.get("platform")),
    }


def _list(value: Any) -> Sequence[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
