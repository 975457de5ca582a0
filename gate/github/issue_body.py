"""The tracking issue's text: its title, its body (blocking findings per platform, the exceptions file
to edit, how to approve, then the metadata block) and the comments the gate adds to it.

Everything that comes from the scan (ids, packages, versions, titles, platforms, references) goes
through ``gate.markdown``; the body stays under GitHub's 65536 characters by listing at most
``MAX_ROWS`` findings (the metadata block keeps every blocking id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gate.github.metadata import IssueMetadata, render_block
from gate.markdown import md_code, md_table, md_text

TITLE_PREFIX = "Promotion blocked: "
MAX_ROWS = 150
MAX_ID_CHARS = 128


def issue_title(source_repo: str, tag: str) -> str:
    """``Promotion blocked: <repo>:<tag>``: one issue per repository and tag."""
    return f"{TITLE_PREFIX}{source_repo}:{tag}"


def metadata_of(document: Mapping[str, Any], source_repo: str, dest_repo: str, tag: str) -> IssueMetadata:
    """The metadata block's values from a scan's ``--json`` document (the blocked verdict)."""
    scanner = document.get("scanner")
    name = version = ""
    if isinstance(scanner, Mapping):
        name, version = str(scanner.get("name") or ""), str(scanner.get("version") or "")
    rows = [row for row in _list(document.get("platforms")) if isinstance(row, Mapping)]
    predicate = next((str(r["sbom_predicate_type"]) for r in rows if r.get("sbom_predicate_type")), "")
    ids = dict.fromkeys(str(entry.get("id")) for entry in _findings(document) if entry.get("id"))
    return IssueMetadata(
        source_repo=source_repo,
        dest_repo=dest_repo,
        tag=tag,
        digest=str(document.get("digest") or ""),
        threshold=str(document.get("threshold") or ""),
        scanner=name,
        scanner_version=version,
        method=str(document.get("method") or ""),
        blocking_cves=tuple(i for i in ids if len(i) <= MAX_ID_CHARS),
        sbom_predicate_type=predicate or str(document.get("predicate_type") or ""),
    )


def issue_body(
    document: Mapping[str, Any],
    metadata: IssueMetadata,
    *,
    exceptions_file: str,
    run_url: str,
) -> str:
    """The body: what blocks, per platform; what to do; the metadata block last."""
    lines = [
        f"image-gate blocked the promotion of {md_code(metadata.source)} ({md_code(metadata.digest)}) "
        f"to {md_code(metadata.dest_repo)}: threshold {md_code(metadata.threshold)}, "
        f"scanner {md_code(metadata.scanner)} {md_code(metadata.scanner_version)}.",
        "",
    ]
    if run_url:
        lines += [f"Run: {run_url}", ""]
    lines += ["### Blocking findings", "", *_platform_sections(document), ""]
    exceptions = md_code(exceptions_file) if exceptions_file else "an exceptions file (none was given: `--exceptions`)"
    lines += [
        "### What to do",
        "",
        "- **Fix it:** rebuild from a base image without these findings; the next run that passes closes this issue.",
        f"- **Accept a finding for good:** add it, with a reason and an expiry date, to {exceptions}.",
        "- **Approve this digest once:** a maintainer comments `/approve` (the first word of the comment; "
        "maintain or admin permission, read from GitHub, never from the comment). The override promotes exactly "
        f"{md_code(metadata.digest)}, accepting the CVEs listed below, and records who approved it in the scan "
        "report. `/deny` closes this issue and keeps the image in quarantine.",
        "",
        "The block below is what the override reads; do not edit it.",
        "",
        render_block(metadata),
    ]
    return "\n".join(lines)


def _platform_sections(document: Mapping[str, Any]) -> list[str]:
    findings = _findings(document)
    lines: list[str] = []
    shown = 0
    for row in _list(document.get("platforms")):
        if not isinstance(row, Mapping) or row.get("verdict") == "pass":
            continue
        platform = row.get("platform") or "the index"
        mine = [f for f in findings if f.get("platform") == row.get("platform")]
        head = f"#### {md_text(platform)}: {len(mine)} blocking finding(s)"
        if row.get("reason"):
            head += f"; {md_text(row['reason'])}"
        lines += [head, ""]
        rows = []
        for finding in mine[: max(0, MAX_ROWS - shown)]:
            rows.append(
                [
                    md_code(finding.get("id") or ""),
                    md_text(finding.get("severity") or ""),
                    md_text("" if finding.get("score") is None else finding.get("score")),
                    md_code(finding.get("package") or ""),
                    md_code(finding.get("installed") or ""),
                    md_code(finding.get("fixed") or ""),
                    md_text(finding.get("title") or ""),
                ]
            )
        shown += len(rows)
        if rows:
            lines.append(md_table(["id", "severity", "score", "package", "installed", "fixed", "title"], rows))
        if len(rows) < len(mine):
            lines += [f"... and {len(mine) - len(rows)} more (the run's JSON document lists them all).", ""]
    return lines or ["(no platform row failed: see the run)"]


def blocked_again_comment(metadata: IssueMetadata, run_url: str) -> str:
    where = f" ({run_url})" if run_url else ""
    return (
        f"Blocked again{where}: {md_code(metadata.source)} is {md_code(metadata.digest)}, "
        f"{len(metadata.blocking_cves)} blocking id(s). The body above is updated."
    )


def passed_comment(source: str, digest: str, run_url: str) -> str:
    where = f" ({run_url})" if run_url else ""
    return f"A later run passed{where}: {md_code(source)} ({md_code(digest)}) passes the gate. Closing."


def _findings(document: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    return [entry for entry in _list(document.get("blocking")) if isinstance(entry, Mapping)]


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
