"""The ``scan`` step summary: the gate's summary (verdict first, per-platform table...) then what the
scan read: each platform's SBOM, the VEX documents, the components the scanner could not check.
Every scanned string goes through the markdown helpers (escaped)."""

from __future__ import annotations

from gate.markdown import md_code, md_details, md_table, md_text
from gate.policy.summary import summary_markdown
from gate.scan.stage import ScanOutcome

MAX_LISTED = 200
"""Rows listed of the VEX documents and of the unchecked components (the JSON output has them all)."""


def render(outcome: ScanOutcome) -> str:
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
