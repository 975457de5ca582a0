"""``python -m gate scan IMAGE``: scan every platform's SBOM attestation, write one SARIF, gate it.

The stage itself is ``gate.scan.stage.scan_image``; this module is its CLI/action edge: options,
config, and the outcome (``gate.scan.outcome``). Exit 0 pass, 1 fail, 2 bad input, 3 runtime failure
(unreachable registry, scanner crash).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.commands import SUMMARIES
from gate.oci.reference import parse_target_reference
from gate.options.access import SourceAccessFields, access_group, config_secrets
from gate.options.base import CommandOptions, Group
from gate.options.github import BLOCKED_ISSUE, BLOCKED_ISSUE_DESTINATION, GITHUB_REPOSITORY, TrackingFields
from gate.options.images import SCANNED_IMAGE, SCANNED_PLATFORMS
from gate.options.promote import GITHUB_TOKEN
from gate.options.scan import ScanFields, check_scan_values, scan_groups
from gate.outcome import Context, Outcome

if TYPE_CHECKING:  # the tracking issue (the GitHub client) and the stage are imported when the command runs
    from gate.github.blocked import BlockedIssueTarget
    from gate.scan.stage import ImageScanRequest

NAME = "scan"
HELP = SUMMARIES[NAME]


@dataclass(frozen=True)
class ScanConfig(ScanFields, SourceAccessFields, TrackingFields):
    image: str
    platforms: tuple[str, ...] = ()
    blocked_issue_destination: str = ""

    def secrets(self) -> tuple[str, ...]:
        """Every credential the config carries (masked before anything is printed)."""
        return config_secrets(
            self.source_password, self.github_token, registry_auth=self.registry_auth, urls=[self.osv_db]
        )

    def blocked_issue_target(self, environ: Mapping[str, str]) -> BlockedIssueTarget | None:
        """The tracking issue's target (``--blocked-issue``), checked before the scan."""
        from gate.github.blocked import blocked_issue_target

        source = parse_target_reference(self.image)
        return blocked_issue_target(
            enabled=self.blocked_issue,
            token=self.github_token,
            repository=self.github_repository,
            source=source,
            tag=source.tag,
            destination=self.blocked_issue_destination,
            exceptions_file=self.exceptions_file,
            environ=environ,
        )

    def request(self) -> ImageScanRequest:
        """The stage's request."""
        return self.scan_request(self.image, self.access(parse_target_reference(self.image)), self.platforms)


OPTIONS = CommandOptions(
    ScanConfig,
    (
        Group(None, (SCANNED_IMAGE, SCANNED_PLATFORMS)),
        access_group({"source": "the image's registry"}, concurrency=False),
        *scan_groups("scan options"),
        Group("tracking issue", (BLOCKED_ISSUE, GITHUB_TOKEN, GITHUB_REPOSITORY, BLOCKED_ISSUE_DESTINATION)),
    ),
    check=check_scan_values,
)
add_arguments = OPTIONS.add_arguments
config_from_args = OPTIONS.config_from_args
config_from_inputs = OPTIONS.config_from_inputs


def run(config: ScanConfig, context: Context) -> Outcome:
    # the stage is imported when the command runs, not for its --help
    from gate.github.blocked import with_blocked_issue
    from gate.scan.outcome import scan_outcome
    from gate.scan.stage import scan_image

    target = config.blocked_issue_target(context.environ)
    scanned = scan_image(config.request(), log=context.log, mask=context.mask, environ=context.environ)
    outcome = scan_outcome(scanned, enforce=config.enforce)
    return with_blocked_issue(outcome, target, outcome.document, context.log)
