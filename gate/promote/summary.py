"""The promote stage's step summary: the promotion, the scan report, the source tag, then the copy (all escaped)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.markdown import md_code, md_details, md_table, md_text
from gate.mirror.summary import render_summary as mirror_summary
from gate.promote.promotion import PromoteReport


def render_summary(report: PromoteReport) -> str:
    """The summary of a promotion; the copy's own summary one heading down."""
    scan = report.scan_report.document["scan"]
    rows = [
        ["Digest", md_code(report.digest)],
        ["Verdict", md_text(report.verdict)],
        ["Scan report", md_code(report.report_digest) + (" (reused)" if report.report_reused else "")],
        ["Report format", md_code(report.report_format) + " " + md_code(report.report_artifact_type)],
        ["Report signed by", md_code(report.report_signer) if report.report_signer else "— (unsigned)"],
        ["Scan method", md_code(scan["method"])],
        ["Predicate type", md_code(scan["predicate_type"]) if scan["predicate_type"] else "—"],
        ["Attestations", _attestations(report.scan_report.document.get("verification"))],
        ["Referrers verified", str(report.referrers_verified)],
        [
            "Source tag",
            "deleted"
            if report.source_tag_deleted
            else ("kept: " + md_text(report.source_tag_delete_error) if report.source_tag_delete_error else "kept"),
        ],
    ]
    if report.deleted or report.left:
        rows.append(["Quarantine cleanup", f"{len(report.deleted)} deleted, {len(report.left)} left"])
    lines = [
        "### image-gate promote: promoted\n",
        f"{md_code(report.source)} → {md_code(report.destination)}\n",
        md_table(["", ""], rows),
        "",
        *_cleanup(report),
        mirror_summary(report.copy).replace("### image-gate mirror:", "#### copy:", 1),
    ]
    return "\n".join(lines)


def _attestations(verification: Mapping[str, Any] | None) -> str:
    """Whether the scan behind the verdict verified the signatures of the SBOMs and VEX it used."""
    verified = (verification or {}).get("attestations_verified")
    if verified is True:
        left_out = (verification or {}).get("unverified_attestations") or 0
        return "signatures verified" + (f" ({left_out} left out: not verified)" if left_out else "")
    if verified is False:
        return "**not verified**: every SBOM and VEX attached to the image counted"
    return "— (the verdict does not say)"


def _cleanup(report: PromoteReport) -> list[str]:
    """What the quarantine cleanup deleted and left, folded (it can be long)."""
    parts: list[str] = []
    if report.deleted:
        rows = [[md_code(item.digest), md_code(item.tag) if item.tag else "—"] for item in report.deleted]
        parts.append(md_details(f"Deleted in quarantine ({len(report.deleted)})", md_table(["Digest", "Tag"], rows)))
    if report.left:
        rows = [
            [md_code(item.digest), md_code(item.tag) if item.tag else "—", md_text(item.reason)] for item in report.left
        ]
        parts.append(md_details(f"Left in quarantine ({len(report.left)})", md_table(["Digest", "Tag", "Why"], rows)))
    return parts
