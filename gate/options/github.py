"""The options of GitHub's side of a blocked image: the tracking issue (``scan`` and ``pipeline``:
``--blocked-issue``, the repository it goes to, the production repository it names) and the override
(``override``: the minimum permission of an approver, the event that triggered it)."""

from __future__ import annotations

from dataclasses import dataclass

from gate.options.base import Option

PERMISSIONS: tuple[str, ...] = ("admin", "maintain", "write")
DEFAULT_MIN_PERMISSION = "maintain"

BLOCKED_ISSUE = Option(
    "blocked_issue",
    "on a blocked verdict, open (or update) one GitHub issue per repository and tag, titled 'Promotion blocked: "
    "<repo>:<tag>' and labelled promotion-pending, that a maintainer can approve (the override command); a later "
    "passing run closes it. Needs --github-token with issues: write",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--blocked-issue",
)
GITHUB_REPOSITORY = Option(
    "github_repository",
    "the GitHub repository (owner/name) of the tracking issue (env GITHUB_REPOSITORY when not given)",
    {"type": "string"},
    default="",
    flag="--github-repository",
    metavar="OWNER/NAME",
    env=("GITHUB_REPOSITORY",),
    action_default="${{ github.repository }}",
)
BLOCKED_ISSUE_DESTINATION = Option(
    "blocked_issue_destination",
    "with --blocked-issue: the production repository the override promotes the image to (its tag is the "
    "scanned one's), written into the issue's metadata block",
    {"type": "string"},
    default="",
    flag="--blocked-issue-destination",
    metavar="REPOSITORY",
)
MIN_PERMISSION = Option(
    "min_permission",
    "the lowest repository role (read from GitHub's collaborator permission API, role_name) whose /approve or "
    "/deny is honoured: admin, maintain or write. Bots are never honoured",
    {"enum": list(PERMISSIONS)},
    default=DEFAULT_MIN_PERMISSION,
    flag="--min-permission",
    choices=PERMISSIONS,
)
EVENT = Option(
    "event",
    "the issue_comment event (JSON) that triggered the override: only its issue number and comment id are "
    "read, the rest is fetched from the API (default: the run's GITHUB_EVENT_PATH)",
    {"type": "string"},
    default="",
    flag="--event",
    metavar="FILE",
    env=("GITHUB_EVENT_PATH",),
    input=False,
)


@dataclass(frozen=True, kw_only=True)
class TrackingFields:
    """The tracking-issue fields of ``scan`` and ``pipeline`` (the token is the promote options' one)."""

    blocked_issue: bool = False
    github_token: str = ""
    github_repository: str = ""
