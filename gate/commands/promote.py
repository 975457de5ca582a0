"""``promote``: copy a passing image with all referrers to production, attach a scan report, verify, then
(optionally) delete the quarantine tag.

The verdict comes from ``--verdict FILE`` (the ``--json`` document of an earlier ``scan`` or ``evaluate``, which
names the digest it judged), or, without it, from a scan and gate run in the same invocation (the scan options).
Exit 0 promoted, 1 refused (verdict fail, no digest, another digest), 2 bad input, 3 runtime failure.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gate.commands import Context
from gate.commands import scan as scan_command
from gate.commands.mirror import render_summary as copy_summary
from gate.commands.options import (
    AccessFields,
    SourceAccessFields,
    access_schema,
    access_values_from_args,
    access_values_from_inputs,
    add_access_arguments,
    add_github_token_argument,
    config_secrets,
    github_token_from_args,
    schema_values,
)
from gate.commands.scan_options import (
    SCAN_SCHEMA_PROPERTIES,
    ScanFields,
    add_scan_arguments,
    scan_values_from_args,
    scan_values_from_inputs,
)
from gate.config import ActionInputs, build_config
from gate.errors import EXIT_OK, InputError
from gate.markdown import md_code, md_table, md_text
from gate.oci.refs import parse_target_reference
from gate.outcome import Annotation, Outcome
from gate.promote.github_packages import DEFAULT_API_URL
from gate.promote.promotion import PromoteOptions, PromoteReport, PromotionRefused, check_verdict, promote
from gate.promote.report import load_verdict
from gate.scan.image import scan_image

NAME = "promote"
HELP = "promote a passing image with all referrers to production, attach a scan report, verify, delete the source tag"

SIDES = {"source": "the source (quarantine) registry", "destination": "the destination (production) registry"}

# What promote and pipeline share besides the scan options and registry access.
PROMOTION_SCHEMA_PROPERTIES: Mapping[str, Any] = {
    "delete_source_tag": {"type": "boolean"},
    "github_token": {"type": "string"},
}


@dataclass(frozen=True, kw_only=True)
class PromotionFields(ScanFields, AccessFields):
    """The config of a command that scans (or reads a verdict) and promotes: ``promote`` and ``pipeline``."""

    delete_source_tag: bool = False
    github_token: str = ""

    def secrets(self) -> tuple[str, ...]:
        """Every credential the config carries (masked before anything is printed)."""
        return config_secrets(
            self.source_password,
            self.destination_password,
            self.github_token,
            registry_auth=self.registry_auth,
            urls=[self.osv_db],
        )

    def promote_options(self, environ: Mapping[str, str], verdict_source: str) -> PromoteOptions:
        return PromoteOptions(
            delete_source_tag=self.delete_source_tag,
            github_token=self.github_token,
            github_api_url=environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
            concurrency=self.concurrency,
            verdict_source=verdict_source,
        )


def add_promotion_arguments(group: argparse.ArgumentParser | argparse._ArgumentGroup, tag: str) -> None:
    """``--delete-source-tag`` (of ``tag``) and ``--github-token``."""
    group.add_argument(
        "--delete-source-tag", action="store_true", help=f"after a verified promotion, delete the {tag} tag"
    )
    add_github_token_argument(group)


def promotion_values_from_args(namespace: argparse.Namespace) -> dict[str, Any]:
    return {
        "delete_source_tag": bool(namespace.delete_source_tag),
        "github_token": github_token_from_args(namespace.github_token),
    }


def promotion_values_from_inputs(inputs: ActionInputs) -> dict[str, Any]:
    return {"delete_source_tag": inputs.bool("delete_source_tag"), "github_token": inputs.get("github_token").strip()}


SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["source", "destination"],
    "properties": {
        "source": {"type": "string", "minLength": 1},
        "destination": {"type": "string", "minLength": 1},
        "verdict_file": {"type": "string"},
        **PROMOTION_SCHEMA_PROPERTIES,
        **access_schema(tuple(SIDES)),
        **SCAN_SCHEMA_PROPERTIES,
    },
}


@dataclass(frozen=True)
class PromoteConfig(PromotionFields):
    """The scan fields are used to scan and gate in the same invocation (no ``verdict_file``)."""

    source: str
    destination: str
    verdict_file: str = ""

    def scan_config(self) -> scan_command.ScanConfig:
        """The ``scan`` config of the in-invocation scan of the source."""
        values = {"image": self.source, **schema_values(self, ScanFields), **schema_values(self, SourceAccessFields)}
        return build_config(scan_command.ScanConfig, scan_command.SCHEMA, values, "scan options of promote")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="the image in quarantine: host/repo:tag[@digest] or oci:PATH[:tag]")
    parser.add_argument(
        "destination", help="where to promote it: host/repo[:tag] or oci:PATH[:tag] (no tag: the source's)"
    )
    parser.add_argument(
        "--verdict",
        dest="verdict_file",
        default="",
        metavar="FILE",
        help="the --json document of an earlier scan or evaluate of the source (it must say pass and name the "
        "same digest); without it the source is scanned and gated now (scan options)",
    )
    add_promotion_arguments(parser, "source (quarantine)")
    add_access_arguments(parser, SIDES)
    add_scan_arguments(parser, "scan options (without --verdict)")


def config_from_args(namespace: argparse.Namespace) -> PromoteConfig:
    values = {
        "source": namespace.source,
        "destination": namespace.destination,
        "verdict_file": namespace.verdict_file,
        **promotion_values_from_args(namespace),
        **access_values_from_args(namespace, tuple(SIDES)),
        **scan_values_from_args(namespace),
    }
    return build_config(PromoteConfig, SCHEMA, values, "command line")


def config_from_inputs(inputs: ActionInputs) -> PromoteConfig:
    values = {
        "source": inputs.get("source").strip(),
        "destination": inputs.get("destination").strip(),
        "verdict_file": inputs.get("verdict_file").strip(),
        **promotion_values_from_inputs(inputs),
        **access_values_from_inputs(inputs, tuple(SIDES)),
        **scan_values_from_inputs(inputs),
    }
    if not values["source"]:
        raise InputError("input source is required for command promote: the image in quarantine")
    if not values["destination"]:
        raise InputError("input destination is required for command promote: where to promote it")
    return build_config(PromoteConfig, SCHEMA, values, "action inputs")


def run(config: PromoteConfig, context: Context) -> Outcome:
    # bad credentials pairs fail before any scan
    access = config.access(
        parse_target_reference(config.source), parse_target_reference(config.destination, default_tag=None)
    )
    options = config.promote_options(
        context.environ,
        f"verdict file {config.verdict_file}" if config.verdict_file else "the scan of the source",
    )
    try:
        if config.verdict_file:
            verdict: Mapping[str, Any] = load_verdict(config.verdict_file)
            check_verdict(verdict, None, options.verdict_source)
        else:
            context.log(f"promote: no verdict file: scanning {config.source} now")
            scanned = scan_image(
                config.scan_config().request(), log=context.log, mask=context.mask, environ=context.environ
            )
            verdict = scanned.to_json()
        report = promote(
            config.source,
            config.destination,
            verdict,
            options,
            access,
            environ=context.environ,
            mask=context.mask,
            log=context.log,
        )
    except PromotionRefused as refused:
        return _refused(config, refused)
    return _outcome(report)


def _refused(config: PromoteConfig, refused: PromotionRefused) -> Outcome:
    document = {
        "source": config.source,
        "destination": config.destination,
        "promoted": False,
        "refused": refused.message,
        "verdict": None,
    }
    return Outcome(
        exit_code=refused.exit_code,
        document=document,
        outputs={"promoted": "false", "source_tag_deleted": "false"},
        summary=f"### image-gate promote: refused\n\n{md_text(refused.message)}\n",
        messages=(f"promote: REFUSED: {refused.diagnostics()}",),
        annotations=(Annotation("error", refused.message, title="image-gate promote refused"),),
    )


def _outcome(report: PromoteReport) -> Outcome:
    message = (
        f"promote: {report.source} -> {report.destination} ({report.digest}): {report.referrers_copied} referrer(s) "
        f"copied, {report.referrers_verified} verified, scan report {report.report_digest}"
        + (" (reused)" if report.report_reused else "")
        + f", source tag {'deleted' if report.source_tag_deleted else 'kept'} in {report.seconds:.2f}s"
    )
    return promoted_outcome(report, message=message, title="image-gate promote")


def promoted_outcome(report: PromoteReport, *, message: str, title: str) -> Outcome:
    """The outcome of a promotion (promote, pipeline): its document, outputs and summary; ``message`` then
    the warnings, each also an annotation titled ``title``."""
    return Outcome(
        exit_code=EXIT_OK,
        document=report.to_json(),
        outputs={
            "promoted": "true" if report.promoted else "false",
            "digest": report.digest,
            "report_digest": report.report_digest,
            "source_tag_deleted": "true" if report.source_tag_deleted else "false",
        },
        summary=render_summary(report),
        messages=(message, *(f"warning: {w}" for w in report.warnings)),
        annotations=tuple(Annotation("warning", w, title=title) for w in report.warnings),
    )


def render_summary(report: PromoteReport) -> str:
    """The step summary: the promotion, the scan report, the source tag, then the copy (all escaped)."""
    scan = report.scan_report.document["scan"]
    rows = [
        ["Digest", md_code(report.digest)],
        ["Verdict", md_text(report.verdict)],
        ["Scan report", md_code(report.report_digest) + (" (reused)" if report.report_reused else "")],
        ["Scan method", md_code(scan["method"])],
        ["Predicate type", md_code(scan["predicate_type"]) if scan["predicate_type"] else "—"],
        ["Referrers verified", str(report.referrers_verified)],
        [
            "Source tag",
            "deleted"
            if report.source_tag_deleted
            else ("kept: " + md_text(report.source_tag_delete_error) if report.source_tag_delete_error else "kept"),
        ],
    ]
    lines = [
        "### image-gate promote: promoted\n",
        f"{md_code(report.source)} → {md_code(report.destination)}\n",
        md_table(["", ""], rows),
        "",
        copy_summary(report.copy).replace("### image-gate mirror:", "#### copy:", 1),
    ]
    return "\n".join(lines)
