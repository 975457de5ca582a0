"""The pipeline over real registries and layouts: its config, the plan checked before anything is
copied, and the three stages (``gate.mirror``, ``gate.scan``, ``gate.promote``) the chain runs.

``run_stages(config, context)`` is the entry: plan (bad input exits 2 before any copy), run the chain,
combine the stages' outcomes into one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gate.errors import InputError
from gate.oci.reference import TargetReference, parse_target_reference
from gate.options.github import TrackingFields
from gate.options.promote import PromotionFields
from gate.outcome import Context, Outcome
from gate.pipeline.chain import Mirrored, Promoted, Scanned, run_pipeline
from gate.pipeline.summary import Names, combine

if TYPE_CHECKING:  # the stages are imported when the pipeline runs: PipelineConfig (its --help) does without
    from gate.mirror.stage import MirrorRequest
    from gate.oci.open import Access
    from gate.promote.promotion import PromoteReport
    from gate.scan.stage import ScanOutcome, ScanSettings
    from gate.scanners.base import Scanner


@dataclass(frozen=True)
class PipelineConfig(PromotionFields, TrackingFields):
    source: str
    quarantine: str
    production: str
    copy_referrers: bool = True
    referrers_source: str = ""
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    source: TargetReference
    quarantine: TargetReference
    production: TargetReference
    mirror: MirrorRequest
    access: Access
    scanner: Scanner
    settings: ScanSettings
    """The scan's settings (their verification policy read once, here): the scan's image replaces theirs."""

    @property
    def quarantine_tag(self) -> str | None:
        return self.mirror.plan.tag

    @property
    def production_name(self) -> str:
        """Where a pass goes: the production reference, with the quarantine tag when it names none."""
        if self.production.tag is None and self.quarantine_tag:
            return f"{self.production.name}:{self.quarantine_tag}"
        return str(self.production)


def _repository_only(ref: TargetReference, name: str) -> None:
    if ref.digest is not None:
        raise InputError(f"--{name} {ref}: name a repository and an optional tag, not a digest")


def plan(config: PipelineConfig, context: Context) -> Plan:
    """Parse and check every input that can be checked without a registry: bad input exits 2 before any copy."""
    from gate.mirror.stage import MirrorRequest
    from gate.mirror.stage import plan as mirror_plan
    from gate.policy.vex_match import load_given_vex
    from gate.policy.waivers import load_exceptions
    from gate.scan.stage import make_scanner

    source = parse_target_reference(config.source)
    quarantine = parse_target_reference(config.quarantine, default_tag=None)
    production = parse_target_reference(config.production, default_tag=None)
    _repository_only(quarantine, "quarantine")
    _repository_only(production, "production")
    if quarantine.name == production.name:
        raise InputError(
            f"--quarantine and --production are the same repository ({quarantine.name}): "
            "quarantine must keep unscanned images apart from production"
        )
    if source.name == production.name:
        raise InputError(f"--source and --production are the same repository ({source.name}): nothing to gate")
    if config.referrers_source.strip():
        parse_target_reference(config.referrers_source)
    output = Path(config.sarif_output)
    if output.is_dir():
        raise InputError(f"sarif_output {output} is a directory; name a file")
    if config.exceptions_file:
        load_exceptions(config.exceptions_file)
    load_given_vex(config.vex_files, config.use_vex)
    settings = config.scan_settings(config.quarantine)
    scanner = make_scanner(settings, context.log)
    copy = mirror_plan(config.source, config.quarantine, config.referrers_source)
    if config.delete_source_tag and not copy.tag:
        raise InputError(
            f"--delete-source-tag: neither --quarantine {quarantine} nor --source {source} has a tag to delete"
        )
    access = config.access(source, quarantine, production)
    config.report_settings(context.environ)  # the report signing key is read now: a bad one fails before any copy
    request = MirrorRequest(copy, config.access(copy.source, copy.destination), config.copy_referrers, config.platforms)
    return Plan(source, quarantine, production, request, access, scanner, settings)


class RealStages:
    """The stages over real registries / layouts (``gate.pipeline.chain.Stages``)."""

    def __init__(self, config: PipelineConfig, steps: Plan, context: Context) -> None:
        self.config = config
        self.steps = steps
        self.context = context
        self.scanned_from: dt.datetime | None = None
        self.scanned_until: dt.datetime | None = None

    def mirror(self) -> Mirrored:
        from gate.mirror.outcome import mirror_outcome
        from gate.mirror.stage import mirror

        context = self.context
        report = mirror(self.steps.mirror, environ=context.environ, mask=context.mask, log=context.log)
        return Mirrored(report.digest, mirror_outcome(report))

    def scan(self, digest: str) -> Scanned[ScanOutcome]:
        from gate.scan.outcome import scan_outcome
        from gate.scan.stage import scan_image

        image = f"{self.steps.quarantine.name}@{digest}"
        self.scanned_from = dt.datetime.now(dt.UTC)
        found = scan_image(
            self.config.scan_request(image, self.steps.access, settings=self.steps.settings),
            log=self.context.log,
            mask=self.context.mask,
            environ=self.context.environ,
            scanner=self.steps.scanner,
        )
        self.scanned_until = dt.datetime.now(dt.UTC)
        # Report only is said once, for the whole run (run_stages): the stage's part is rendered as enforced,
        # and its document says what the run did.
        stage = scan_outcome(found)
        stage = replace(stage, document={**stage.document, "enforced": self.config.enforce})
        return Scanned(found.scan.digest, found.verdict, found, stage)

    def promote(self, scanned: Scanned[ScanOutcome]) -> Promoted:
        from gate.promote.promotion import promote

        tag = self.steps.quarantine_tag
        name = self.steps.quarantine.name
        source = f"{name}:{tag}" if tag else f"{name}@{scanned.digest}"
        report = promote(
            source,
            self.steps.production_name,
            scanned.value.to_json(),
            replace(
                self.config.promote_options(
                    self.context.environ, f"the verdict of this run's scan of {name}@{scanned.digest}"
                ),
                scan_started=self.scanned_from,
                scan_finished=self.scanned_until,
            ),
            self.steps.access,
            environ=self.context.environ,
            mask=self.context.mask,
            log=self.context.log,
        )
        return Promoted(report.promoted, report.digest, promote_outcome(report))


def promote_outcome(report: PromoteReport) -> Outcome:
    """The promote stage's part of the pipeline outcome: the ``promote`` command's document and summary."""
    from gate.promote.outcome import promoted_outcome

    message = (
        f"promote: {report.source} -> {report.destination} ({report.digest}); scan report {report.report_digest}"
        + (" (reused)" if report.report_reused else "")
        + f"; {report.referrers_verified} referrer(s) verified; source tag "
        + ("deleted" if report.source_tag_deleted else "kept")
    )
    return promoted_outcome(report, message=message, title="image-gate pipeline: promote")


def run_stages(config: PipelineConfig, context: Context) -> Outcome:
    """Plan, run the chain over the real stages, and combine their outcomes into one."""
    from gate.github.blocked import blocked_issue_target, with_blocked_issue
    from gate.policy.outcome import enforced_outcome

    steps = plan(config, context)
    tag = steps.quarantine_tag
    quarantine = f"{steps.quarantine.name}:{tag}" if tag else steps.quarantine.name
    issue = blocked_issue_target(
        enabled=config.blocked_issue, token=config.github_token, repository=config.github_repository,
        source=steps.quarantine, tag=tag, destination=steps.production.name,
        exceptions_file=config.exceptions_file, environ=context.environ,
    )  # fmt: skip
    result = run_pipeline(RealStages(config, steps, context), context.log)
    outcome = combine(result, Names(str(steps.source), quarantine, steps.production_name))
    # the tracking issue: opened on a block, closed once promoted; nothing said when a stage failed
    decided = result.scan if result.failure is None else None
    outcome = with_blocked_issue(outcome, issue, decided.document if decided else None, context.log)
    # Report only: a blocked image still stays in quarantine (the chain promotes a pass only).
    blocked = result.failure is None and result.verdict == "fail"
    return enforced_outcome(outcome, enforce=config.enforce, blocked=blocked)
