"""The ``scan`` step summary: the gate's summary (verdict first, per-platform table...) then what the
scan read: each platform's SBOM, the VEX documents, the components the scanner could not check.
Every scanned string goes through the markdown helpers (escaped)."""

from __future__ import annotations

from gate.markdown import md_code, md_details, md_table, md_text
from gate.policy.summary import summary_markdown
from gate.scan.stage import ScanOutcome

MAX_LISTED = 200
"""Rows listed of the VEX documents and of the unchecked components (the JSON output has them all)."""


def _trust_line(outcome: ScanOutcome) -> str:
    """Whether the attestations were verified, and under which policy."""
    policy = outcome.scan.verification
    if not policy.enabled:
        return (
            "> **The attestations were not verified**: every SBOM and VEX document attached to the image counted, "
            "whoever wrote it. Give `attestation_keys` or `certificate_identity` to count only signed ones."
        )
    signers = [md_code(key.fingerprint) for key in policy.keys]
    if policy.keyless:
        identity = policy.identity or f"/{policy.identity_regexp}/"
        issuer = policy.issuer or f"/{policy.issuer_regexp}/"
        signers.append(f"{md_code(identity)} (issuer {md_code(issuer)})")
    # A gate row carries only its reason: the one the gate gave a platform without a verified SBOM.
    unverified = {f"no SBOM: {missing.reason}" for missing in outcome.scan.missing if missing.none_verified}
    blocked = [row.platform for row in outcome.gate.platforms if row.reason in unverified]
    text = f"**Attestations verified**: only SBOMs and VEX signed by {', '.join(signers)} count"
    if policy.insecure_ignore_tlog:
        text += " (without a transparency-log entry: insecure_ignore_tlog)"
    if blocked:
        text += f"; no verified SBOM for {', '.join(md_code(p or '-') for p in blocked)}, which block"
    return text + "."


def _vex_signature(verified: bool | None, signer: str) -> str:
    """A VEX document's signature cell: your file (not verified: your own input), verified by whom, or not."""
    if verified is None:
        return "-"
    return f"verified, {md_code(signer)}" if verified else "**not verified**"


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
    parts.append("\n" + _trust_line(outcome) + "\n")
    rows = []
    for p in scanned.platforms:
        for number, item in enumerate(p.sboms):
            found = item.found
            rows.append(
                [
                    md_code(p.platform) if number == 0 else "",
                    md_code(found.attestation_digest or "-"),
                    md_text(found.source + (" (on the index)" if found.subject == "index" else "")),
                    md_code(found.attestation.predicate_type),
                    md_text(f"{item.bom_format} {item.bom_spec_version}"),
                    str(item.components) if item.components else "**0 (empty)**",
                    md_code(found.signer) if found.verified else "not verified",
                    str(len(p.unchecked)) if number == 0 else "",
                    str(p.vex_suppressed) if number == 0 else "",
                ]
            )
    rows += [[md_code(m.platform), "**none**", "-", "-", "-", "0", "-", "0", "0"] for m in scanned.missing]
    headers = ["platform", "SBOM attestation", "found as", "predicate type", "format", "components", "signed by"]
    parts.append("\n" + md_table([*headers, "unchecked", "VEX"], rows))
    if scanned.left_out:
        body = md_table(
            ["attestation", "for", "predicate type", "found as", "reason", "detail"],
            [
                [
                    md_code(item.digest),
                    md_code(item.platform or "the index"),
                    md_code(item.predicate_type),
                    md_text(item.source),
                    md_text(str(item.reason)),
                    md_text(item.detail[:300]),
                ]
                for item in scanned.left_out[:MAX_LISTED]
            ],
        )
        if len(scanned.left_out) > MAX_LISTED:
            body += f"\n… and {len(scanned.left_out) - MAX_LISTED} more (see the JSON output).\n"
        title = f"Attestations left out of the verdict: not verified under the policy ({len(scanned.left_out)})"
        parts.append("\n" + md_details(md_text(title), body))
    if scanned.vex_documents:
        body = md_table(
            ["VEX document", "statements", "format", "attached to", "signature"],
            [
                [
                    md_code(d.source),
                    str(d.statements),
                    md_text(", ".join(d.formats)),
                    md_code(d.subject or "(file)"),
                    _vex_signature(d.verified, d.signer),
                ]
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
