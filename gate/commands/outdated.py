"""``outdated``: for every tag the production Dockerfiles use, whether the pinned digest is behind the
tag's current one (and how many days); with ``--scan``, the blocking vulnerabilities an update fixes
and introduces (the stage: ``gate.discover.outdated_stage``). A report: exit 0 unless told to fail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.commands import SUMMARIES
from gate.options.access import config_secrets
from gate.options.base import CommandOptions
from gate.options.lookup import DockerfileFields, LookupFields
from gate.options.outdated import OUTDATED_GROUPS, check_outdated_values
from gate.options.scan import ScannerFields
from gate.options.trivy import trivy_scanner_options
from gate.options.trust import TrustFields
from gate.outcome import Context, Outcome
from gate.scan.defaults import DEFAULT_PREDICATE_TYPE, DEFAULT_SBOM_FALLBACK

if TYPE_CHECKING:
    from gate.discover.outdated_stage import OutdatedRequest

NAME = "outdated"
HELP = SUMMARIES[NAME]


@dataclass(frozen=True, kw_only=True)
class OutdatedConfig(DockerfileFields, LookupFields, TrustFields, ScannerFields):
    fail_on_outdated: bool = False
    fail_on_fixable: bool = False
    scan: bool = False
    sbom_predicate_type: str = DEFAULT_PREDICATE_TYPE
    sbom_fallback: str = DEFAULT_SBOM_FALLBACK
    severity_threshold: str = "high"
    severity_source: str = "cvss"
    exceptions_file: str | None = None
    ignore_unfixed: bool = False
    vex_files: tuple[str, ...] = ()
    use_vex: bool = True
    attached_vex: bool = True

    def secrets(self) -> tuple[str, ...]:
        return config_secrets(registry_auth=self.registry_auth, urls=[self.osv_db])

    def request(self) -> OutdatedRequest:
        from gate.discover.outdated_stage import OutdatedRequest

        scan = None
        if self.scan:
            from gate.policy.verdict import GateOptions
            from gate.scan.stage import ImageScanRequest, ScanSettings

            settings = ScanSettings(
                image="",
                sbom_predicate_type=self.sbom_predicate_type,
                scanner=self.scanner,
                scanner_options=self.scanner_options(),
                vex_files=self.vex_files,
                use_vex=self.use_vex,
                attached_vex=self.attached_vex,
                verification=self.verification_policy(),
                sbom_fallback=self.sbom_fallback,
                trivy_options=trivy_scanner_options(self),
            )
            policy = GateOptions(
                severity_threshold=self.severity_threshold,
                severity_source=self.severity_source,
                exceptions_file=self.exceptions_file,
                ignore_unfixed=self.ignore_unfixed,
            )
            scan = ImageScanRequest(settings, policy, self.access())
        return OutdatedRequest(
            path=self.path,
            selection=self.selection(),
            allow_empty=self.allow_empty,
            access=self.access(),
            scan=scan,
            fail_on_outdated=self.fail_on_outdated,
            fail_on_fixable=self.fail_on_fixable,
        )


OPTIONS = CommandOptions(OutdatedConfig, OUTDATED_GROUPS, check=check_outdated_values)
add_arguments = OPTIONS.add_arguments
config_from_args = OPTIONS.config_from_args
config_from_inputs = OPTIONS.config_from_inputs


def run(config: OutdatedConfig, context: Context) -> Outcome:
    # the stage is imported when the command runs, not for its --help
    from gate.discover.outdated_outcome import outdated_outcome
    from gate.discover.outdated_stage import find_outdated

    found = find_outdated(config.request(), log=context.log, mask=context.mask, environ=context.environ)
    return outdated_outcome(found)
