"""The promote stage's step summary: the promotion, the scan report, the source tag, then the copy (all escaped)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.markdown import md_code, md_table, md_text
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
    lines = [
        "### image-gate promote: promoted\n",
        f"{md_code(report.source)} → {md_code(report.destination)}\n",
        md_table(["", ""], rows),
        "",
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
