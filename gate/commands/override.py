"""``python -m gate override``: act on a maintainer's ``/approve`` or ``/deny`` comment on a tracking issue.

Run from an ``issue_comment`` workflow (``examples/promotion-override.yml``). The flow is
``gate.github.override``; what an approval promotes, ``gate.github.promotion`` (the digest the issue
records, scanned again with the issue's CVEs accepted, then ``promote`` with the override recorded in
the report). Exit 0 decided (approved, already promoted, denied) or nothing to do (not a command, not a
pending issue), 1 refused (role below the minimum, a bot, the tag moved, findings the issue does not
list), 2 bad input (the issue's metadata block missing or malformed: the reply says why), 3 runtime failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.commands import SUMMARIES
from gate.markdown import md_code, md_text
from gate.options.access import access_group
from gate.options.base import CommandOptions, Group
from gate.options.github import DEFAULT_MIN_PERMISSION, EVENT, GITHUB_REPOSITORY, MIN_PERMISSION
from gate.options.promote import (
    DELETE_SOURCE_TAG,
    GITHUB_TOKEN,
    REPORT_FORMAT,
    REPORT_SIGNING_KEY,
    PromotionFields,
)
from gate.options.scan import check_scan_values, scan_groups
from gate.outcome import Annotation, Context, Outcome

if TYPE_CHECKING:  # the flow (the GitHub client, the promotion) is imported when the command runs, not for --help
    from gate.github.override import OverrideResult

NAME = "override"
HELP = SUMMARIES[NAME]


@dataclass(frozen=True)
class OverrideConfig(PromotionFields):
    github_repository: str = ""
    min_permission: str = DEFAULT_MIN_PERMISSION
    event: str = ""


OPTIONS = CommandOptions(
    OverrideConfig,
    (
        Group(None, (GITHUB_TOKEN, GITHUB_REPOSITORY, MIN_PERMISSION, EVENT)),
        Group("promote options", (DELETE_SOURCE_TAG, REPORT_FORMAT, REPORT_SIGNING_KEY)),
        access_group(
            {"source": "the quarantine registry", "destination": "the production registry"},
        ),
        *scan_groups("scan options (the approved digest is scanned again with the issue's CVEs accepted)"),
    ),
    check=check_scan_values,
)
add_arguments = OPTIONS.add_arguments
config_from_args = OPTIONS.config_from_args
config_from_inputs = OPTIONS.config_from_inputs


def run(config: OverrideConfig, context: Context) -> Outcome:
    from gate.github.client import api_url, connect, repository_name
    from gate.github.override import OverrideResult, decide, read_trigger
    from gate.github.promotion import override_promoter

    environ = context.environ
    repository = repository_name(config.github_repository, environ)
    base_url = api_url(environ)
    # built once, before anything is read or written: a bad report signing key fails here (exit 2)
    options = config.promote_options(environ, "the override scan")
    trigger = read_trigger(config.event or environ.get("GITHUB_EVENT_PATH", ""))
    if trigger is None:
        return _outcome(OverrideResult("skipped", "the event is not a new comment"))
    repo = connect(config.github_token, repository, base_url)
    promoter = override_promoter(config, options, context)
    return _outcome(decide(repo, trigger, config.min_permission, promoter, context.log))


def _outcome(result: OverrideResult) -> Outcome:
    promotion = result.promotion
    message = f"override: {result.status.upper()}" + (f": {result.reason}" if result.reason else "")
    if promotion is not None:
        message += f": {promotion.digest} -> {promotion.destination}"
    summary = f"### image-gate override: {md_text(result.status)}\n\n"
    if result.issue_url:
        summary += f"Issue: {md_text(result.issue_url)}; comment by {md_code(result.approver or '?')}\n\n"
    if result.reason:
        summary += md_text(result.reason) + "\n"
    annotations: tuple[Annotation, ...] = ()
    if result.status in ("refused", "invalid"):
        annotations = (Annotation("error", result.reason, title="image-gate override"),)
    return Outcome(
        exit_code=result.exit_code,
        document=result.to_json(),
        outputs={
            "override_status": result.status,
            "promoted": "true" if promotion is not None else "false",
            "digest": promotion.digest if promotion else "",
            "report_digest": promotion.report_digest if promotion else "",
        },
        summary=summary,
        messages=(message,),
        annotations=annotations,
    )
