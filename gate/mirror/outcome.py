"""The outcome of a copy (``mirror``, and pipeline's mirror stage): its document, the digest and
referrer outputs, one log line and the step summary."""

from __future__ import annotations

from gate.errors import EXIT_OK
from gate.mirror.summary import render_summary
from gate.oci.copy import CopyReport
from gate.outcome import Outcome


def mirror_outcome(report: CopyReport) -> Outcome:
    """The outcome of a copy: its document, the digest and referrer outputs, one line, the summary."""
    message = (
        f"mirror: {report.destination} is up to date ({report.digest})"
        if report.up_to_date
        else f"mirror: copied {report.source} -> {report.destination} ({report.digest}): "
        f"{report.manifests_copied} manifest(s), {report.blobs_copied} blob(s) "
        f"({report.bytes_copied} bytes), {report.blobs_mounted} mounted, "
        f"{report.referrers_copied}/{report.referrers_total} referrer(s) in {report.seconds:.2f}s"
    )
    return Outcome(
        exit_code=EXIT_OK,
        document=report.to_json(),
        outputs={
            "digest": report.digest,
            "referrers_copied": str(report.referrers_copied),
            "up_to_date": "true" if report.up_to_date else "false",
        },
        summary=render_summary(report),
        messages=(message,),
    )
