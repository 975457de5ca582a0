"""The outcome of the mirror command (``gate.mirror.acquire``): one image, with its provenance and history;
or several tags, one result line each in the JSON document, the log and the step summary."""

from __future__ import annotations

from typing import Any

from gate.errors import EXIT_OK
from gate.markdown import md_code, md_details, md_table, md_text
from gate.mirror.acquire import MirrorRun, TagResult
from gate.mirror.outcome import mirror_outcome
from gate.mirror.selection import REASON_TEXT
from gate.mirror.summary import size_text
from gate.outcome import Outcome


def mirror_run_outcome(run: MirrorRun) -> Outcome:
    return _single(run) if run.selection is None else _several(run)


def _history_json(run: MirrorRun) -> dict[str, Any] | None:
    if not run.history_checked:
        return None
    update = run.history.to_json() if run.history is not None else {}
    return {"recorded": run.history is not None, **update}


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _provenance_lines(result: TagResult) -> tuple[list[str], list[str]]:
    """Log lines and summary lines for the provenance of ``result``; the text is ours (counts), the
    digests go through ``md_code``."""
    attached = [p for p in result.provenance if p.attached]
    lines: list[str] = []
    summary: list[str] = []
    if result.provenance:
        lines.append(
            f"acquisition provenance: {_count(len(attached), 'statement', 'statements')} attached, "
            f"{len(result.provenance) - len(attached)} already there"
        )
        summary.append(f"{lines[-1]}.\n")
        if attached:
            rows = [[md_code(p.platform or "index"), md_code(p.subject), md_code(p.digest or "")] for p in attached]
            summary.append(md_table(["Subject", "Subject digest", "Statement"], rows))
    return lines, summary


def _history_lines(run: MirrorRun) -> tuple[list[str], list[str]]:
    """Log lines and summary lines for the history update of the run (counts only)."""
    lines: list[str] = []
    summary: list[str] = []
    if run.history is not None:
        dropped = run.history.dropped
        dropped_text = f", {_count(dropped, 'oldest entry', 'oldest entries')} dropped" if dropped else ""
        lines.append(
            f"mirror history: {_count(run.history.added, 'entry', 'entries')} added, {run.history.count} held{dropped_text}"
        )
    elif run.history_checked:
        lines.append("mirror history: nothing to add")
    if run.history_checked:
        summary.append(f"{lines[-1]}.\n")
    return lines, summary


def _single(run: MirrorRun) -> Outcome:
    result = run.results[0]
    document = {**result.to_json(), "history": _history_json(run)}
    del document["tag"], document["error"]  # the source and destination name the tags; an error raised
    provenance, history = _provenance_lines(result), _history_lines(run)
    messages, summary_lines = provenance[0] + history[0], provenance[1] + history[1]
    if result.report is not None:
        base = mirror_outcome(result.report)
        return Outcome(
            exit_code=base.exit_code,
            document=document,
            outputs={**base.outputs, "skipped": ""},
            summary="\n".join([base.summary, *summary_lines]),
            messages=(*base.messages, *messages),
        )
    message = f"mirror: {result.source} skipped: {result.source_digest} is in the history of {run.destination}"
    summary = [
        "### image-gate mirror: skipped (in the mirror history)\n",
        f"{md_code(result.source)} → {md_code(result.destination)}\n",
        f"The history of the destination holds source tag {md_code(result.tag or '')} at digest "
        f"{md_code(result.source_digest or '')}: it was mirrored before (force copies it again).\n",
    ]
    return Outcome(
        exit_code=EXIT_OK,
        document=document,
        outputs={
            "digest": result.source_digest or "",
            "referrers_copied": "0",
            "up_to_date": "false",
            "skipped": "history",
        },
        summary="\n".join(summary),
        messages=(message,),
    )


def _line(result: TagResult) -> str:
    report = result.report
    if result.error is not None:
        return f"mirror: {result.tag}: failed: {result.error.message}"
    if result.skipped is not None:
        return f"mirror: {result.tag}: skipped ({result.skipped}): {result.source_digest}"
    assert report is not None
    if report.up_to_date:
        return f"mirror: {result.tag}: up to date ({report.digest})"
    return (
        f"mirror: {result.tag}: copied ({report.digest}): {report.manifests_copied} manifest(s), "
        f"{report.blobs_copied} blob(s) ({report.bytes_copied} bytes), {report.blobs_mounted} mounted, "
        f"{report.referrers_copied}/{report.referrers_total} referrer(s) in {report.seconds:.2f}s"
    )


def _several(run: MirrorRun) -> Outcome:
    from gate.discover.matrix import compact_json  # the discover modules: only for several tags

    assert run.selection is not None
    results = run.results
    failed = [r for r in results if r.error is not None]
    ledger = run.ledger
    totals = {
        "tags": len(results),
        "copied": sum(r.state == "copied" for r in results),
        "up_to_date": sum(r.state == "up to date" for r in results),
        "skipped": sum(r.state == "skipped" for r in results),
        "failed": len(failed),
        "blobs_uploaded": ledger.uploaded if ledger else 0,
        "bytes_uploaded": ledger.uploaded_bytes if ledger else 0,
        "blobs_mounted": ledger.mounted if ledger else 0,
        "referrers_copied": sum(r.report.referrers_copied for r in results if r.report is not None),
    }
    document = {
        "source": run.source,
        "destination": run.destination,
        "listed": run.listed,
        "tags": [result.to_json() for result in results],
        "dropped": [dropped.to_json() for dropped in run.selection.dropped],
        "totals": totals,
        "history": _history_json(run),
    }
    history_lines = _history_lines(run)
    messages = [
        f"mirror: {len(results)} of {run.listed} tag(s) of {run.source} -> {run.destination}: "
        f"{totals['copied']} copied, {totals['up_to_date']} up to date, {totals['skipped']} skipped, "
        f"{len(failed)} failed; {totals['blobs_uploaded']} blob(s) uploaded ({totals['bytes_uploaded']} bytes), "
        f"{totals['blobs_mounted']} mounted, each once",
        *(_line(result) for result in results),
        *history_lines[0],
    ]
    up_to_date = not failed and totals["copied"] == 0
    return Outcome(
        exit_code=max((r.error.exit_code for r in failed if r.error is not None), default=EXIT_OK),
        document=document,
        outputs={
            "referrers_copied": str(totals["referrers_copied"]),
            "up_to_date": "true" if up_to_date else "false",
            "tag_count": str(len(results)),
            "mirrored": compact_json([{"tag": r.tag, "digest": r.digest, "state": r.state} for r in results]),
        },
        summary=_several_summary(run, totals, history_lines[1]),
        messages=tuple(messages),
    )


def _several_summary(run: MirrorRun, totals: dict[str, int], history: list[str]) -> str:
    assert run.selection is not None
    state = "failed" if totals["failed"] else "up to date" if totals["copied"] == 0 else "copied"
    lines = [
        f"### image-gate mirror: {len(run.results)} tag(s), {state}\n",
        f"{md_code(run.source)} → {md_code(run.destination)}: {totals['copied']} copied, "
        f"{totals['up_to_date']} up to date, {totals['skipped']} skipped, {totals['failed']} failed; "
        f"{totals['blobs_uploaded']} blob(s) uploaded ({size_text(totals['bytes_uploaded'])}), "
        f"{totals['blobs_mounted']} mounted, each blob once.\n",
    ]
    rows = []
    for result in run.results:
        report = result.report
        rows.append(
            [
                md_code(result.tag or ""),
                md_text(result.state if result.error is None else f"failed: {result.error.message}"),
                md_code(result.digest or ""),
                str(report.manifests_copied) if report else "",
                str(report.blobs_copied) if report else "",
                size_text(report.bytes_copied) if report else "",
                f"{report.referrers_copied} / {report.referrers_total}" if report else "",
                str(sum(p.attached for p in result.provenance)),
            ]
        )
    headers = ["Tag", "State", "Digest", "Manifests", "Blobs", "Bytes", "Referrers", "Provenance"]
    lines.append(md_table(headers, rows))
    lines += history
    if run.selection.dropped:
        dropped = [[md_code(d.tag), md_text(REASON_TEXT[d.reason])] for d in run.selection.dropped]
        lines.append(md_details(f"Tags not mirrored ({len(dropped)})", md_table(["Tag", "Why"], dropped)))
    return "\n".join(lines)
