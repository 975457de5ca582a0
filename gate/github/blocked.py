"""The tracking issue at the edge of ``scan`` and ``pipeline``: ``blocked_issue_target`` checks the options
before anything runs (bad input exits 2 before a scan), ``with_blocked_issue`` opens, updates or closes the
issue after the verdict and adds it to the outcome (output ``blocked_issue_url``, JSON ``blocked_issue``).

A GitHub failure here is a warning, never a change of the verdict: the gate decided, the issue reports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from gate.errors import GateError, InputError
from gate.github.client import api_url, connect, repository_name
from gate.github.issue_body import issue_body, metadata_of
from gate.github.tracking import TrackedIssue, close_passed, open_or_update
from gate.markdown import md_text
from gate.mirror.run_info import RunInfo
from gate.oci.reference import TargetReference, parse_target_reference
from gate.outcome import Annotation, Outcome

Log = Callable[[str], None]


@dataclass(frozen=True)
class BlockedIssueTarget:
    """Where the issue goes and what it names: the quarantine repository and tag, the production repository."""

    token: str
    repository: str
    api_url: str
    source_repo: str
    tag: str
    dest_repo: str
    exceptions_file: str
    run_url: str


def blocked_issue_target(
    *,
    enabled: bool,
    token: str,
    repository: str,
    source: TargetReference,
    tag: str | None,
    destination: str,
    exceptions_file: str | None,
    environ: Mapping[str, str],
) -> BlockedIssueTarget | None:
    """The target, checked (exit 2 now rather than after the scan); None without ``--blocked-issue``."""
    if not enabled:
        return None
    if not token.strip():
        raise InputError("--blocked-issue (input blocked_issue) needs --github-token (input github_token)")
    if not tag:
        raise InputError(f"--blocked-issue: {source} has no tag: the tracking issue is per repository and tag")
    if not destination.strip():
        raise InputError(
            "--blocked-issue: no production repository for the override to promote to "
            "(scan: --blocked-issue-destination, input blocked_issue_destination)"
        )
    dest = parse_target_reference(destination.strip(), default_tag=None)
    if dest.digest is not None or dest.tag is not None:
        raise InputError(f"--blocked-issue-destination {destination}: name a repository, without a tag or digest")
    return BlockedIssueTarget(
        token=token,
        repository=repository_name(repository, environ),
        api_url=api_url(environ),
        source_repo=source.name,
        tag=tag,
        dest_repo=dest.name,
        exceptions_file=exceptions_file or "",
        run_url=RunInfo.from_environ(environ).run_url,
    )


def track(target: BlockedIssueTarget, document: Mapping[str, Any], log: Log) -> TrackedIssue:
    """Open or update the issue of a blocked verdict, close it on a pass."""
    repo = connect(target.token, target.repository, target.api_url)
    digest = str(document.get("digest") or "")
    if document.get("verdict") == "pass":
        return close_passed(repo, target.source_repo, target.tag, digest, target.run_url, log)
    metadata = metadata_of(document, target.source_repo, target.dest_repo, target.tag)
    body = issue_body(document, metadata, exceptions_file=target.exceptions_file, run_url=target.run_url)
    return open_or_update(repo, metadata, body, target.run_url, log)


def with_blocked_issue(
    outcome: Outcome, target: BlockedIssueTarget | None, scan_document: Mapping[str, Any] | None, log: Log
) -> Outcome:
    """``outcome`` with the issue opened, updated or closed after ``scan_document``'s verdict."""
    if target is None:
        return outcome
    if scan_document is None:  # the scan never ran (a stage failed): nothing to say on the issue
        return replace(outcome, outputs={**outcome.outputs, "blocked_issue_url": ""})
    try:
        tracked = track(target, scan_document, log)
    except GateError as exc:
        message = f"the tracking issue could not be written: {exc.diagnostics()}"
        return replace(
            outcome,
            document={**outcome.document, "blocked_issue": {"action": "failed", "error": exc.diagnostics()}},
            outputs={**outcome.outputs, "blocked_issue_url": ""},
            messages=(*outcome.messages, f"warning: {message}"),
            annotations=(*outcome.annotations, Annotation("warning", message, title="image-gate: tracking issue")),
        )
    messages, summary = outcome.messages, outcome.summary
    if tracked.action != "none":
        messages = (*messages, f"tracking issue: {tracked.action} {tracked.url}")
        summary += f"\n**Tracking issue** ({md_text(tracked.action)}): {md_text(tracked.url)}\n"
    return replace(
        outcome,
        document={**outcome.document, "blocked_issue": tracked.to_json()},
        outputs={**outcome.outputs, "blocked_issue_url": tracked.url},
        messages=messages,
        summary=summary,
    )
