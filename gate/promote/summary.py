"""The promote stage's step summary: the promotion, the scan report, the source tag, then the copy (all escaped)."""

from __future__ import annotations

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
