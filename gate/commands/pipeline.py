"""``python -m gate pipeline``: mirror -> scan -> gate -> promote in one step, failing closed.

    python -m gate pipeline --source S --quarantine Q --production P [mirror, scan and gate options]
        [--delete-source-tag] [--github-token T] --json

The source is mirrored into quarantine (with every referrer), the quarantine copy is scanned and gated
BY DIGEST, and only a ``pass`` for that digest is promoted to production, with the verdict produced in
this same run. The chaining lives in ``gate.pipeline``; this module supplies the real stages. Exit 0
promoted, 1 blocked, 2 bad input, 3 runtime failure. Bad input that can be seen before anything is
copied (references, exceptions and VEX files, the scanner's options) fails before the mirror starts.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.commands import Context
from gate.commands import mirror as mirror_command
from gate.commands.gate_options import GATE_REQUIRED
from gate.commands.options import (
    PLATFORMS_SCHEMA,
    AccessFields,
    access_schema,
    access_values_from_args,
    access_values_from_inputs,
    add_access_arguments,
    add_platform_argument,
    field_values,
)
from gate.commands.promote import (
    PROMOTION_SCHEMA_PROPERTIES,
    PromotionFields,
    add_promotion_arguments,
    promoted_outcome,
    promotion_values_from_args,
    promotion_values_from_inputs,
)
from gate.commands.scan import to_outcome as scan_outcome
from gate.commands.scan_options import (
    SCAN_SCHEMA_PROPERTIES,
    add_scan_arguments,
    check_scan_values,
    scan_values_from_args,
    scan_values_from_inputs,
)
from gate.config import ActionInputs, build_config
from gate.errors import InputError
from gate.oci.open import Access
from gate.oci.refs import TargetReference, parse_target_reference
from gate.outcome import Outcome
from gate.pipeline import Mirrored, Names, Promoted, Scanned, combine, run_pipeline
from gate.policy.vex import load_vex_files
from gate.policy.waivers import load_exceptions
from gate.promote.promotion import PromoteReport, promote
from gate.scan.base import Scanner
from gate.scan.image import ScanOutcome, make_scanner, scan_image

NAME = "pipeline"
HELP = "mirror into quarantine, scan and gate the quarantine copy, promote to production only on a pass"

SIDES = {"source": "the source registry", "destination": "the quarantine and production registries"}

SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["source", "quarantine", "production", *GATE_REQUIRED],
    "properties": {
        "source": {"type": "string", "minLength": 1},
        "quarantine": {"type": "string", "minLength": 1},
        "production": {"type": "string", "minLength": 1},
        "copy_referrers": {"type": "boolean"},
        "referrers_source": {"type": "string"},
        "platforms": PLATFORMS_SCHEMA,
        **access_schema(tuple(SIDES)),
        **SCAN_SCHEMA_PROPERTIES,
        **PROMOTION_SCHEMA_PROPERTIES,
    },
}


@dataclass(frozen=True)
class PipelineConfig(PromotionFields):
    source: str
    quarantine: str
    production: str
    copy_referrers: bool = True
    referrers_source: str = ""
    platforms: tuple[str, ...] = ()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    images = parser.add_argument_group("images")
    images.add_argument("--source", required=True, help="the image to bring in: host/repo[:tag][@digest] or oci:PATH")
    images.add_argument(
        "--quarantine",
        required=True,
        help="where to mirror and scan it: host/repo[:tag] (no tag: the source's tag)",
    )
    images.add_argument(
        "--production",
        required=True,
        help="where a passing image goes: host/repo[:tag] (no tag: the quarantine tag)",
    )
    mirror = parser.add_argument_group("mirror options")
    mirror.add_argument(
        "--copy-referrers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="copy every OCI referrer (SBOMs, provenance, VEX, signatures) into quarantine (default: on)",
    )
    mirror.add_argument(
        "--referrers-source", default="", metavar="REPO", help="read referrers from this repository too"
    )
    add_platform_argument(mirror, "mirror (and so scan and promote) only these platforms (repeatable)")
    add_promotion_arguments(parser.add_argument_group("promote options"), "quarantine")
    add_access_arguments(parser, SIDES)
    add_scan_arguments(parser, "scan options")


def config_from_args(namespace: argparse.Namespace) -> PipelineConfig:
    values = {
        "source": namespace.source,
        "quarantine": namespace.quarantine,
        "production": namespace.production,
        "copy_referrers": bool(namespace.copy_referrers),
        "referrers_source": namespace.referrers_source,
        "platforms": list(namespace.platforms),
        **access_values_from_args(namespace, tuple(SIDES)),
        **promotion_values_from_args(namespace),
        **scan_values_from_args(namespace),
    }
    return build_config(PipelineConfig, SCHEMA, check_scan_values(values, "command line"), "command line")


def config_from_inputs(inputs: ActionInputs) -> PipelineConfig:
    values = {
        "source": inputs.get("source").strip(),
        "quarantine": inputs.get("quarantine").strip(),
        "production": inputs.get("production").strip(),
        # The scan reads the SBOM attestations from the quarantine copy: the pipeline always copies referrers.
        "copy_referrers": True,
        "referrers_source": inputs.get("referrers_source").strip(),
        "platforms": inputs.list("platforms"),
        **access_values_from_inputs(inputs, tuple(SIDES)),
        **promotion_values_from_inputs(inputs),
        **scan_values_from_inputs(inputs),
    }
    for name, what in (("source", "the image to bring in"), ("quarantine", "where to mirror and scan it"),
                       ("production", "where a passing image goes")):  # fmt: skip
        if not values[name]:
            raise InputError(f"input {name} is required for command pipeline: {what}")
    return build_config(PipelineConfig, SCHEMA, check_scan_values(values, "action inputs"), "action inputs")


# --- the plan: everything checked before anything is copied -------------------------------------


@dataclass(frozen=True)
class Plan:
    source: TargetReference
    quarantine: TargetReference
    production: TargetReference
    quarantine_tag: str | None
    mirror: mirror_command.MirrorConfig
    access: Access
    scanner: Scanner

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
    if config.use_vex and config.vex_files:
        load_vex_files([Path(p) for p in config.vex_files])
    scanner = make_scanner(config.scan_settings(config.quarantine), context.log)
    mirror_config = mirror_command.MirrorConfig(
        source=config.source,
        destination=config.quarantine,
        copy_referrers=config.copy_referrers,
        referrers_source=config.referrers_source,
        platforms=config.platforms,
        **field_values(config, AccessFields),
    )
    tag = mirror_command.plan(mirror_config).tag
    if config.delete_source_tag and not tag:
        raise InputError(
            f"--delete-source-tag: neither --quarantine {quarantine} nor --source {source} has a tag to delete"
        )
    access = config.access(source, quarantine, production)
    return Plan(source, quarantine, production, tag, mirror_config, access, scanner)


# --- the real stages ------------------------------------------------------------------------------


class RealStages:
    """The stages over real registries / layouts (``gate.pipeline.Stages``)."""

    def __init__(self, config: PipelineConfig, steps: Plan, context: Context) -> None:
        self.config = config
        self.steps = steps
        self.context = context

    def mirror(self) -> Mirrored:
        outcome = mirror_command.run(self.steps.mirror, self.context)
        return Mirrored(outcome.outputs["digest"], outcome)

    def scan(self, digest: str) -> Scanned[ScanOutcome]:
        image = f"{self.steps.quarantine.name}@{digest}"
        found = scan_image(
            self.config.scan_request(image, self.steps.access),
            log=self.context.log,
            mask=self.context.mask,
            environ=self.context.environ,
            scanner=self.steps.scanner,
        )
        return Scanned(found.scan.digest, found.verdict, found, scan_outcome(found))

    def promote(self, scanned: Scanned[ScanOutcome]) -> Promoted:
        tag = self.steps.quarantine_tag
        name = self.steps.quarantine.name
        source = f"{name}:{tag}" if tag else f"{name}@{scanned.digest}"
        report = promote(
            source,
            self.steps.production_name,
            scanned.value.to_json(),
            self.config.promote_options(
                self.context.environ, f"the verdict of this run's scan of {name}@{scanned.digest}"
            ),
            self.steps.access,
            environ=self.context.environ,
            mask=self.context.mask,
            log=self.context.log,
        )
        return Promoted(report.promoted, report.digest, promote_outcome(report))


def promote_outcome(report: PromoteReport) -> Outcome:
    """The promote stage's part of the pipeline outcome: the ``promote`` command's document and summary."""
    message = (
        f"promote: {report.source} -> {report.destination} ({report.digest}); scan report {report.report_digest}"
        + (" (reused)" if report.report_reused else "")
        + f"; {report.referrers_verified} referrer(s) verified; source tag "
        + ("deleted" if report.source_tag_deleted else "kept")
    )
    return promoted_outcome(report, message=message, title="image-gate pipeline: promote")


def run(config: PipelineConfig, context: Context) -> Outcome:
    steps = plan(config, context)
    tag = steps.quarantine_tag
    quarantine = f"{steps.quarantine.name}:{tag}" if tag else steps.quarantine.name
    result = run_pipeline(RealStages(config, steps, context), context.log)
    return combine(result, Names(str(steps.source), quarantine, steps.production_name))
