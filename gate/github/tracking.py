"""Open, update or close the tracking issue of a blocked image (``scan`` and ``pipeline`` with
``--blocked-issue``).

One issue per repository and tag: the open issue labelled ``promotion-pending`` whose title is
``Promotion blocked: <repo>:<tag>``. A blocked verdict opens it, or updates its body (and comments,
when the body changed: a new digest or other findings), never a second one; a passing verdict comments
and closes it. ``TrackedIssue`` says what was done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gate.github.client import github_call
from gate.github.issue_body import blocked_again_comment, issue_title, passed_comment

if TYPE_CHECKING:
    from github.Issue import Issue
    from github.Repository import Repository

    from gate.github.metadata import IssueMetadata

PENDING = "promotion-pending"
APPROVED = "promotion-approved"
DENIED = "promotion-denied"
MAX_SCANNED_ISSUES = 1000
Action = Literal["opened", "updated", "unchanged", "closed", "none"]
Log = Callable[[str], None]


@dataclass(frozen=True)
class TrackedIssue:
    """What the gate did to the tracking issue (``none``: there was none to close)."""

    action: Action
    title: str
    url: str = ""
    number: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "title": self.title, "url": self.url or None, "number": self.number}


def find_open_issue(repo: Repository, title: str) -> Issue | None:
    """The open ``promotion-pending`` issue (not a pull request) with exactly this title, the oldest first."""
    with github_call(f"list the open {PENDING} issues"):
        issues = repo.get_issues(state="open", labels=[PENDING], sort="created", direction="asc")
        for seen, issue in enumerate(issues):
            if seen >= MAX_SCANNED_ISSUES:
                break
            if issue.pull_request is None and issue.title == title:
                return issue
    return None


def open_or_update(repo: Repository, metadata: IssueMetadata, body: str, run_url: str, log: Log) -> TrackedIssue:
    """Open the issue, or bring the open one up to date (a comment only when its body changed)."""
    title = issue_title(metadata.source_repo, metadata.tag)
    issue = find_open_issue(repo, title)
    if issue is None:
        with github_call(f"open the issue {title!r}"):
            created = repo.create_issue(title=title, body=body, labels=[PENDING])
        log(f"tracking issue: opened {created.html_url}")
        return TrackedIssue("opened", title, created.html_url, created.number)
    if (issue.body or "").replace("\r\n", "\n") == body:
        log(f"tracking issue: {issue.html_url} is up to date")
        return TrackedIssue("unchanged", title, issue.html_url, issue.number)
    with github_call(f"update the issue {issue.html_url}"):
        issue.edit(body=body)
        issue.create_comment(blocked_again_comment(metadata, run_url))
    log(f"tracking issue: updated {issue.html_url}")
    return TrackedIssue("updated", title, issue.html_url, issue.number)


def close_passed(repo: Repository, source_repo: str, tag: str, digest: str, run_url: str, log: Log) -> TrackedIssue:
    """A passing verdict: comment on the open issue of this tag, if any, and close it."""
    title = issue_title(source_repo, tag)
    issue = find_open_issue(repo, title)
    if issue is None:
        return TrackedIssue("none", title)
    with github_call(f"close the issue {issue.html_url}"):
        issue.create_comment(passed_comment(f"{source_repo}:{tag}", digest, run_url))
        labels = sorted(name for name in label_names(issue) if name != PENDING)
        issue.edit(state="closed", state_reason="completed", labels=labels)
    log(f"tracking issue: closed {issue.html_url} (the image passes now)")
    return TrackedIssue("closed", title, issue.html_url, issue.number)


def label_names(issue: Issue) -> set[str]:
    return {label.name for label in issue.labels}
