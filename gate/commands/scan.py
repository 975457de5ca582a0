"""``python -m gate scan IMAGE``: scan every platform's SBOM attestation, write one SARIF, gate it.

The stage itself is ``gate.scan.image.scan_image``; this module is its CLI/action edge: options,
config, and the outcome (JSON document, outputs, summary, annotations). Exit 0 pass, 1 fail,
2 bad input, 3 runtime failure (unreachable registry, scanner crash).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gate.commands import Context
from gate.commands.evaluate import gate_outcome
from gate.commands.gate_options import GATE_REQUIRED
from gate.commands.options import (
    PLATFORMS_SCHEMA,
    SourceAccessFields,
    access_schema,
    access_values_from_args,
    access_values_from_inputs,
    add_access_arguments,
    add_platform_argument,
    config_secrets,
)
from gate.commands.scan_options import (
    SCAN_SCHEMA_PROPERTIES,
    ScanFields,
    add_scan_arguments,
    check_scan_values,
    scan_values_from_args,
    scan_values_from_inputs,
)
from gate.config import ActionInputs, build_config
from gate.errors import InputError
from gate.markdown import md_code, md_details, md_table, md_text
from gate.oci.refs import parse_target_reference
from gate.outcome import Outcome
from gate.policy.summary import summary_markdown
from gate.scan.image import ImageScanRequest, ScanOutcome, scan_image

NAME = "scan"
HELP = "scan each platform's SBOM attestation (Trivy or offline OSV), write one SARIF, and gate it"

MAX_LISTED = 200
SIDES = {"source": "the image's registry"}

SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["image", *GATE_REQUIRED],
    "properties": {
        "image": {"type": "string", "minLength": 1},
        "platforms": PLATFORMS_SCHEMA,
        **SCAN_SCHEMA_PROPERTIES,
        **access_schema(tuple(SIDES), concurrency=False),
    },
}


@dataclass(frozen=True)
class ScanConfig(ScanFields, SourceAccessFields):
    image: str
    platforms: tuple[str, ...] = ()

    def secrets(self) -> tuple[str, ...]:
        """Every password the config carries (masked before anything is printed)."""
        return config_secrets(self.source_password, registry_auth=self.registry_auth, urls=[self.osv_db])

    def request(self) -> ImageScanRequest:
        """The stage's request."""
        return self.scan_request(self.image, self.access(parse_target_reference(self.image)), self.platforms)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="image to scan: host/repo[:tag][@digest] or oci:PATH[:tag]")
    add_platform_argument(parser, "scan only these platforms of an index (repeatable; default: all)")
    add_access_arguments(parser, SIDES, concurrency=False)
    add_scan_arguments(parser, "scan options")


def config_from_args(namespace: argparse.Namespace) -> ScanConfig:
    values = {
        "image": namespace.image,
        "platforms": list(namespace.platforms),
        **scan_values_from_args(namespace),
        **access_values_from_args(namespace, tuple(SIDES), concurrency=False),
    }
    return build_config(ScanConfig, SCHEMA, check_scan_values(values, "command line"), "command line")


def config_from_inputs(inputs: ActionInputs) -> ScanConfig:
    values = {
        "image": inputs.get("source").strip(),
        "platforms": inputs.list("platforms"),
        **scan_values_from_inputs(inputs),
        **access_values_from_inputs(inputs, tuple(SIDES), concurrency=False),
    }
    if not values["image"]:
        raise InputError("input source is required for command scan: the image to scan")
    return build_config(ScanConfig, SCHEMA, check_scan_values(values, "action inputs"), "action inputs")


def run(config: ScanConfig, context: Context) -> Outcome:
    outcome = scan_image(config.request(), log=context.log, mask=context.mask, environ=context.environ)
    return to_outcome(outcome)


def to_outcome(outcome: ScanOutcome) -> Outcome:
    """The command's outcome of a finished scan (``pipeline`` reuses the pieces)."""
    result, scanned = outcome.gate, outcome.scan
    messages = [
        f"scan: {result.verdict.upper()}: {scanned.image} ({scanned.digest}): {len(scanned.platforms)} platform(s) "
        f"scanned with {scanned.scanner}, {len(scanned.missing)} without SBOM; {len(result.blocking)} blocking "
        f"finding(s) at or above {result.threshold} ({result.severity_source}); {len(result.suppressed)} suppressed",
        f"scan: SARIF written to {outcome.sarif_file}",
    ]
    messages += [f"note: {note}" for note in (*result.notes, *scanned.notes)]
    return gate_outcome(
        result,
        document=outcome.to_json(),
        outputs={"sarif_file": str(outcome.sarif_file), "digest": scanned.digest},
        summary=render_summary(outcome),
        messages=messages,
    )


def render_summary(outcome: ScanOutcome) -> str:
    """The gate summary (verdict first, per-platform table...) then what the scan read: SBOMs, VEX, unchecked."""
    scanned = outcome.scan
    parts = [summary_markdown(outcome.gate, title="image-gate scan")]
    version = f" {scanned.scanner_version}" if scanned.scanner_version else ""
    parts.append(
        f"\n**Image** {md_code(scanned.image)} ({md_code(scanned.digest)}), scanned with "
        f"{md_text(scanned.scanner + version)}, SBOM predicate {md_code(scanned.predicate_type)}; "
        f"SARIF {md_code(str(outcome.sarif_file))}.\n"
    )
    rows = [
        [
            md_code(p.platform),
            md_code(p.sbom.attestation_digest or "-"),
            md_text(p.sbom.source or "-"),
            md_code(p.sbom.sbom.predicate_type if p.sbom.sbom else "-"),
            md_text(f"{p.bom_format} {p.bom_spec_version}"),
            str(p.components),
            str(len(p.unchecked)),
            str(p.vex_suppressed),
        ]
        for p in scanned.platforms
    ]
    rows += [[md_code(m.platform), "**none**", "-", "-", "-", "0", "0", "0"] for m in scanned.missing]
    parts.append(
        "\n"
        + md_table(
            ["platform", "SBOM attestation", "found as", "predicate type", "format", "components", "unchecked", "VEX"],
            rows,
        )
    )
    if scanned.vex_documents:
        body = md_table(
            ["VEX document", "statements", "format", "attached to"],
            [
                [md_code(d.source), str(d.statements), md_text(", ".join(d.formats)), md_code(d.subject or "(file)")]
                for d in scanned.vex_documents[:MAX_LISTED]
            ],
        )
        parts.append("\n" + md_details(md_text(f"VEX documents read ({len(scanned.vex_documents)})"), body))
    unchecked = scanned.unchecked
    if unchecked:
        body = md_table(
            ["platform", "component", "version", "purl", "reason"],
            [
                [
                    md_code(platform),
                    md_code(c.name),
                    md_code(c.version) if c.version else "-",
                    md_code(c.purl) if c.purl else "-",
                    md_text(c.reason),
                ]
                for platform, c in unchecked[:MAX_LISTED]
            ],
        )
        if len(unchecked) > MAX_LISTED:
            body += f"\n… and {len(unchecked) - MAX_LISTED} more (see the JSON output).\n"
        parts.append("\n" + md_details(md_text(f"Unchecked components ({len(unchecked)})"), body))
    for note in scanned.notes:
        parts.append(f"\n> {md_text(note)}\n")
    return "".join(parts)
