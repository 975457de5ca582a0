"""The override: a maintainer's ``/approve`` or ``/deny`` on a tracking issue (``python -m gate override``,
run from an ``issue_comment`` workflow).

``read_trigger`` takes the issue number and comment id from the event; everything else is fetched from
the API: the comment (its first whitespace-separated token must be ``/approve`` or ``/deny``: a quoted
``> /approve`` starts with ``>``), the issue (open, labelled ``promotion-pending``, not a pull request),
the commenter's role (``gate.github.approver``) and the metadata block of the issue BODY
(``gate.github.metadata``; a block in a comment is never read).

``decide`` then denies (label ``promotion-denied``, close) or approves: ``promoter`` promotes the digest
the issue records (``gate.github.promotion``) and the issue is labelled ``promotion-approved``, told the
digest and closed. Anything that stops the override is said in a reply on the issue.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from gate.errors import EXIT_INPUT, EXIT_OK, EXIT_POLICY, GateError, InputError
from gate.files import read_capped_text
from gate.github.approver import check_permission
from gate.github.client import github_call
from gate.github.metadata import IssueMetadata, MetadataError, parse_block
from gate.github.tracking import APPROVED, DENIED, PENDING, label_names
from gate.markdown import md_code, md_text
from gate.mirror.run_info import utc_timestamp

if TYPE_CHECKING:
    from github.Issue import Issue
    from github.Repository import Repository

Decision = Literal["approve", "deny"]
Status = Literal["skipped", "refused", "invalid", "denied", "approved", "already-promoted"]
COMMANDS: Mapping[str, Decision] = {"/approve": "approve", "/deny": "deny"}
MAX_EVENT_BYTES = 25 * 1024 * 1024
Log = Callable[[str], None]


class OverrideRefused(GateError):
    """The approval cannot promote (the tag moved, findings the issue does not list): exit 1, said on the issue."""

    exit_code = EXIT_POLICY


@dataclass(frozen=True)
class Trigger:
    issue_number: int
    comment_id: int


@dataclass(frozen=True)
class Approval:
    """Who approved what, recorded in the scan report (``override``) and its annotations."""

    approver: str
    permission: str
    issue_url: str
    comment_url: str
    accepted_cves: tuple[str, ...]
    time: str

    def to_json(self) -> dict[str, Any]:
        return {
            "approver": self.approver,
            "permission": self.permission,
            "issue": self.issue_url,
            "comment": self.comment_url,
            "accepted_cves": list(self.accepted_cves),
            "time": self.time,
        }


@dataclass(frozen=True)
class Promotion:
    """What the promoter did: promoted now, or found the digest already at the destination."""

    already: bool
    destination: str
    digest: str
    report_digest: str = ""
    document: Mapping[str, Any] = field(default_factory=dict)


Promoter = Callable[[IssueMetadata, Approval], Promotion]


@dataclass(frozen=True)
class OverrideResult:
    status: Status
    reason: str = ""
    decision: Decision | None = None
    issue_url: str = ""
    comment_url: str = ""
    approver: str = ""
    permission: str = ""
    metadata: IssueMetadata | None = None
    promotion: Promotion | None = None

    @property
    def exit_code(self) -> int:
        return {"refused": EXIT_POLICY, "invalid": EXIT_INPUT}.get(self.status, EXIT_OK)

    def to_json(self) -> dict[str, Any]:
        promotion = self.promotion
        return {
            "status": self.status,
            "reason": self.reason,
            "decision": self.decision,
            "issue": self.issue_url or None,
            "comment": self.comment_url or None,
            "approver": self.approver or None,
            "permission": self.permission or None,
            "metadata": self.metadata.to_json() if self.metadata else None,
            "promoted": bool(promotion),
            "destination": promotion.destination if promotion else None,
            "digest": promotion.digest if promotion else (self.metadata.digest if self.metadata else None),
            "report_digest": (promotion.report_digest or None) if promotion else None,
            "promotion": dict(promotion.document) if promotion and promotion.document else None,
        }


def parse_command(body: str | None) -> Decision | None:
    """``approve`` or ``deny`` when the comment's first token is ``/approve`` or ``/deny``, else None."""
    tokens = (body or "").split(None, 1)
    return COMMANDS.get(tokens[0]) if tokens else None


def read_trigger(path: str) -> Trigger | None:
    """The issue number and comment id of an ``issue_comment`` event file; None for another action than created."""
    if not path:
        raise InputError(
            "override: no event: give --event FILE (in a workflow: GITHUB_EVENT_PATH, an issue_comment event)"
        )
    try:
        event = json.loads(read_capped_text(path, MAX_EVENT_BYTES, "the event"))
    except ValueError as exc:
        raise InputError(f"{path}: the event is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise InputError(f"{path}: the event is not a JSON object")
    if event.get("action", "created") != "created":
        return None
    issue, comment = event.get("issue"), event.get("comment")
    number = issue.get("number") if isinstance(issue, dict) else None
    comment_id = comment.get("id") if isinstance(comment, dict) else None
    if (
        not isinstance(number, int)
        or isinstance(number, bool)
        or not isinstance(comment_id, int)
        or isinstance(comment_id, bool)
    ):
        raise InputError(f"{path}: not an issue_comment event (issue.number and comment.id are required)")
    return Trigger(number, comment_id)


def decide(repo: Repository, trigger: Trigger, min_permission: str, promoter: Promoter, log: Log) -> OverrideResult:
    """Act on the comment (see the module docstring); a ``GateError`` of the promoter is replied, then raised."""
    with github_call(f"read issue #{trigger.issue_number} and comment {trigger.comment_id}"):
        issue = repo.get_issue(trigger.issue_number)
        comment = issue.get_comment(trigger.comment_id)
        labels = label_names(issue)
    if not comment.issue_url.endswith(f"/issues/{trigger.issue_number}"):
        raise InputError(f"comment {trigger.comment_id} is not on issue #{trigger.issue_number}")
    decision = parse_command(comment.body)
    result = OverrideResult("skipped", "", decision, issue.html_url, comment.html_url)
    if decision is None:
        return replace(result, reason="the comment does not start with /approve or /deny")
    if issue.pull_request is not None or issue.state != "open" or PENDING not in labels:
        reason = f"the issue is not an open issue labelled {PENDING} (closed: already decided)"
        log(f"override: {reason}; nothing to do")
        return replace(result, reason=reason)
    user = comment.user
    permission = check_permission(repo, user.login, user.type, min_permission)
    result = replace(result, approver=permission.login, permission=permission.role)
    command = md_code("/" + decision)
    if not permission.allowed:
        _reply(issue, f"{command} by {md_code(permission.login)} ignored: {md_text(permission.reason)}.")
        return replace(result, status="refused", reason=permission.reason)
    try:
        metadata = parse_block(issue.body, f"the body of issue #{issue.number}")
    except MetadataError as exc:
        _reply(issue, f"{command} cannot be acted on: {md_text(exc.message)}.")
        return replace(result, status="invalid", reason=exc.message)
    result = replace(result, metadata=metadata)
    if decision == "deny":
        _close(issue, DENIED, "not_planned", (
            f"Denied by {md_code(permission.login)} ({md_text(permission.role)}): {md_code(metadata.source)} "
            f"({md_code(metadata.digest)}) stays in quarantine."
        ))  # fmt: skip
        log(f"override: denied by {permission.login}; {issue.html_url} closed")
        return replace(result, status="denied")
    approval = Approval(
        permission.login, permission.role, issue.html_url, comment.html_url, metadata.blocking_cves, utc_timestamp()
    )
    try:
        promotion = promoter(metadata, approval)
    except OverrideRefused as exc:
        _reply(issue, f"{command} by {md_code(permission.login)} refused: {md_text(exc.message)}")
        return replace(result, status="refused", reason=exc.message)
    except GateError as exc:
        _reply(issue, f"{command} by {md_code(permission.login)} failed: {md_text(exc.message)}")
        raise
    what = "was already promoted" if promotion.already else "promoted"
    report = f"; scan report {md_code(promotion.report_digest)} records the override" if promotion.report_digest else ""
    accepted = ", ".join(md_code(c) for c in approval.accepted_cves) or "no CVE"
    _close(issue, APPROVED, "completed", (
        f"Approved by {md_code(permission.login)} ({md_text(permission.role)}) at {md_text(approval.time)}: "
        f"{md_code(promotion.digest)} {what} to {md_code(promotion.destination)}{report}. Accepted: {accepted}."
    ))  # fmt: skip
    log(f"override: approved by {permission.login}: {promotion.digest} {what} to {promotion.destination}")
    return replace(result, status="already-promoted" if promotion.already else "approved", promotion=promotion)


def _reply(issue: Issue, text: str) -> None:
    with github_call(f"reply on {issue.html_url}"):
        issue.create_comment(text)


def _close(issue: Issue, label: str, reason: str, text: str) -> None:
    """Comment, then in one update: ``promotion-pending`` replaced by ``label``, and closed."""
    labels = [name for name in label_names(issue) if name != PENDING]
    with github_call(f"close {issue.html_url}"):
        issue.create_comment(text)
        issue.edit(state="closed", state_reason=reason, labels=sorted({*labels, label}))
