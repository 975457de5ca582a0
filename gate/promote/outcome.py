"""The outcome of a promotion (``promote``, and pipeline's promote stage) and of a refused one."""

from __future__ import annotations

from gate.errors import EXIT_OK
from gate.markdown import md_text
from gate.outcome import Annotation, Outcome
from gate.promote.promotion import PromoteReport
from gate.promote.summary import render_summary
from gate.promote.verdict import PromotionRefused


def promoted_outcome(report: PromoteReport, *, message: str, title: str) -> Outcome:
    """A promotion's document, outputs and summary; ``message`` then the warnings, each also an
    annotation titled ``title``."""
    outputs = {
        "promoted": "true" if report.promoted else "false",
        "digest": report.digest,
        "report_digest": report.report_digest,
        "source_tag_deleted": "true" if report.source_tag_deleted else "false",
    }
    verified = (report.scan_report.document.get("verification") or {}).get("attestations_verified")
    if isinstance(verified, bool):  # the verdict says whether its scan verified the attestations' signatures
        outputs["attestations_verified"] = "true" if verified else "false"
    return Outcome(
        exit_code=EXIT_OK,
        document=report.to_json(),
        outputs=outputs,
        summary=render_summary(report),
        messages=(message, *(f"warning: {w}" for w in report.warnings)),
        annotations=tuple(Annotation("warning", w, title=title) for w in report.warnings),
    )


def promotion_outcome(report: PromoteReport) -> Outcome:
    """The outcome of the ``promote`` command."""
    message = (
        f"promote: {report.source} -> {report.destination} ({report.digest}): {report.referrers_copied} referrer(s) "
        f"copied, {report.referrers_verified} verified, scan report {report.report_digest}"
        + (" (reused)" if report.report_reused else "")
        + f", source tag {'deleted' if report.source_tag_deleted else 'kept'} in {report.seconds:.2f}s"
    )
    return promoted_outcome(report, message=message, title="image-gate promote")


def refused_outcome(source: str, destination: str, refused: PromotionRefused) -> Outcome:
    """Nothing promoted: the verdict does not vouch for the source (``gate.promote.verdict``)."""
    document = {
        "source": source,
        "destination": destination,
        "promoted": False,
        "refused": refused.message,
        "verdict": None,
    }
    return Outcome(
        exit_code=refused.exit_code,
        document=document,
        outputs={"promoted": "false", "source_tag_deleted": "false"},
        summary=f"### image-gate promote: refused\n\n{md_text(refused.message)}\n",
        messages=(f"promote: REFUSED: {refused.diagnostics()}",),
        annotations=(Annotation("error", refused.message, title="image-gate promote refused"),),
    )
