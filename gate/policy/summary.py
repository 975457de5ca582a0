"""The gate's step summary (markdown) and its annotations, from a ``GateResult``.

Everything that comes from scanned content (ids, package names, versions, titles, platforms)
goes through ``md_text``/``md_code``; annotation texts are neutral sentences built from the
finding's fields (the runner escapes them; nothing can start a workflow command).
"""

from __future__ import annotations

from gate.markdown import md_code, md_details, md_table, md_text
from gate.outcome import Annotation
from gate.policy.severity import SEVERITIES
from gate.policy.verdict import MAX_ANNOTATIONS, GateResult, Judged
from gate.policy.vex_match import provenance_note
from gate.policy.waivers import ExceptionEntry

# Lists longer than this go into a collapsed <details> block.
INLINE_ITEMS = 10
MAX_LISTED = 500
MAX_IDS_IN_CELL = 8


def summary_markdown(result: GateResult, title: str = "image-gate evaluate") -> str:
    """The step summary: verdict first, per-platform table, blocking findings, exceptions."""
    icon = "✅" if result.verdict == "pass" else "❌"
    blocked = len(result.blocking)
    missing = sum(1 for p in result.platforms if p.reason)
    parts = [f"## {md_text(title)}: {icon} **{result.verdict.upper()}**\n"]
    why = [f"{blocked} blocking finding(s)"] if blocked else []
    if missing:
        why.append(f"{missing} platform(s) without an SBOM")
    parts.append(
        f"Threshold **{md_text(result.threshold)}** by **{md_text(result.severity_source)}**"
        + (f"; {', '.join(why)}." if why else "; nothing at or above the threshold blocks.")
        + "\n"
    )
    parts.append(
        "Findings by severity: " + ", ".join(f"{name} {result.counts.get(name, 0)}" for name in SEVERITIES) + "\n"
    )
    for note in result.notes:
        parts.append(f"> {md_text(note)}\n")

    rows = []
    for p in result.platforms:
        sbom = "yes" if p.sbom else ("**no**" if p.sbom is False else "n/a")
        ids = ", ".join(md_code(i) for i in p.blocking_ids[:MAX_IDS_IN_CELL])
        if len(p.blocking_ids) > MAX_IDS_IN_CELL:
            ids += f" and {len(p.blocking_ids) - MAX_IDS_IN_CELL} more"
        if p.reason:
            ids = md_text(p.reason)
        name = md_code(p.platform) if p.platform else md_text(", ".join(p.sources) or "(unknown)")
        rows.append([name, sbom, str(p.findings), str(p.blocking), ids or "-"])
    if rows:
        parts.append("\n" + md_table(["platform", "SBOM", "at/above threshold", "blocking", "blocking ids"], rows))

    if result.blocking:
        parts.append("\n" + _findings_block("Blocking findings", result.blocking))
    if result.excepted:
        parts.append("\n" + _findings_block("Excepted findings", result.excepted, with_reason=True))
    if result.suppressed:
        parts.append("\n" + _findings_block("Suppressed (VEX or SARIF)", result.suppressed, with_suppression=True))
    if result.expired_exceptions:
        parts.append("\n" + _exceptions_block("Expired exceptions (no longer applied)", result.expired_exceptions))
    if result.stale_exceptions:
        parts.append("\n" + _exceptions_block("Stale exceptions (matched no finding)", result.stale_exceptions))
    return "".join(parts)


def _findings_block(
    heading: str, items: tuple[Judged, ...], with_reason: bool = False, with_suppression: bool = False
) -> str:
    headers = ["id", "severity", "score", "package", "installed", "fixed", "platform"]
    if with_reason:
        headers.append("exception")
    if with_suppression:
        headers += ["status", "justification", "source"]
    rows = []
    for judged in items[:MAX_LISTED]:
        f = judged.finding
        row = [
            md_code(f.id),
            judged.severity,
            "-" if f.score is None else f"{f.score:g}",
            md_code(f.package) if f.package else "-",
            md_code(f.installed) if f.installed else "-",
            md_code(f.fixed) if f.fixed else "-",
            md_code(f.platform) if f.platform else "-",
        ]
        if with_reason:
            row.append(md_text(judged.exception.reason) if judged.exception else "-")
        if with_suppression:
            vex = judged.vex
            row += [
                md_text(vex.status) if vex else "accepted (in the SARIF)",
                md_text(vex.justification or vex.impact or "-") if vex else "-",
                md_code(vex.source) + md_text(provenance_note(vex)) if vex else md_code(f.source),
            ]
        rows.append(row)
    body = md_table(headers, rows)
    if len(items) > MAX_LISTED:
        body += f"\n… and {len(items) - MAX_LISTED} more (see the JSON output).\n"
    label = f"{heading} ({len(items)})"  # our own words: no escaping needed
    if len(items) > INLINE_ITEMS:
        return md_details(label, body)
    return f"**{label}**\n\n{body}"


def _exceptions_block(heading: str, entries: tuple[ExceptionEntry, ...]) -> str:
    rows = [
        [md_code(e.id), md_text(e.expires.isoformat()) if e.expires else "-", md_text(e.reason), md_text(e.where)]
        for e in entries[:MAX_LISTED]
    ]
    body = md_table(["id", "expires", "reason", "where"], rows)
    label = f"{heading} ({len(entries)})"
    if len(entries) > INLINE_ITEMS:
        return md_details(label, body)
    return f"**{label}**\n\n{body}"


def blocking_annotations(result: GateResult) -> tuple[Annotation, ...]:
    """One ``error`` annotation per blocking finding (capped), one per platform without SBOM."""
    annotations: list[Annotation] = []
    for judged in result.blocking[:MAX_ANNOTATIONS]:
        f = judged.finding
        what = f"in package {f.package} {f.installed or ''}".rstrip() if f.package else f"({f.kind})"
        fix = f"; fixed in {f.fixed}" if f.fixed else "; no fixed version"
        where = f" on {f.platform}" if f.platform else ""
        annotations.append(
            Annotation(
                "error",
                f"Blocking {judged.severity} finding {f.id} {what}{fix}{where}.",
                title=f"image-gate: {f.id} ({judged.severity})",
            )
        )
    if len(result.blocking) > MAX_ANNOTATIONS:
        annotations.append(
            Annotation(
                "error",
                f"{len(result.blocking) - MAX_ANNOTATIONS} more blocking finding(s); see the step summary or JSON.",
                title="image-gate: more blocking findings",
            )
        )
    for platform in result.platforms:
        if platform.reason:
            annotations.append(
                Annotation("error", f"Platform {platform.platform}: {platform.reason}.", title="image-gate: no SBOM")
            )
    return tuple(annotations)
