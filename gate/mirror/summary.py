"""The mirror stage's step summary: what was copied, per platform, with each referrer's types (all escaped)."""

from __future__ import annotations

from gate.markdown import md_code, md_details, md_table, md_text
from gate.oci.copy import CopyReport, ReferrerInfo


def size_text(size: int) -> str:
    """A byte count for people: ``512 B``, ``1.5 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _referrer_rows(referrers: tuple[ReferrerInfo, ...]) -> list[list[str]]:
    return [
        [
            md_text(r.kind),
            md_code(r.artifact_type or r.media_type),
            ", ".join(md_code(p) for p in r.predicate_types) or "",
            md_code(r.digest[:19]) + (f" ({md_code(r.tag)})" if r.tag else ""),
            "copied" if r.copied else "present",
        ]
        for r in referrers
    ]


def render_summary(report: CopyReport) -> str:
    """The step summary: what was copied, per platform, with each referrer's types (all escaped)."""
    state = "up to date" if report.up_to_date else "copied"
    lines = [
        f"### image-gate mirror: {state}\n",
        f"{md_code(report.source)} → {md_code(report.destination)}\n",
        f"Digest {md_code(report.digest)} ({md_code(report.media_type)})"
        + (" — a platform-filtered index" if report.filtered else "")
        + "\n",
    ]
    lines.append(
        md_table(
            [
                "Manifests copied",
                "Manifests present",
                "Blobs copied",
                "Blobs mounted",
                "Blobs present",
                "Bytes",
                "Referrers",
                "Seconds",
            ],
            [
                [
                    str(report.manifests_copied),
                    str(report.manifests_skipped),
                    str(report.blobs_copied),
                    str(report.blobs_mounted),
                    str(report.blobs_skipped),
                    size_text(report.bytes_copied),
                    f"{report.referrers_copied} copied / {report.referrers_total}",
                    f"{report.seconds:.2f}",
                ]
            ],
        )
    )
    lines.append(
        md_table(
            ["Platform", "Manifest", "Layers", "Size", "Referrers"],
            [
                [md_code(p.platform), md_code(p.digest), str(p.layers), size_text(p.size), str(len(p.referrers))]
                for p in report.graph
            ],
        )
    )
    headers = ["Kind", "Artifact type", "Predicate types", "Digest", "State"]
    for entry in report.graph:
        if entry.referrers:
            lines.append(
                md_details(
                    f"{md_text(entry.platform)}: {len(entry.referrers)} referrer(s)",
                    md_table(headers, _referrer_rows(entry.referrers)),
                )
            )
    if report.root_referrers:
        lines.append(
            md_details(
                f"the index: {len(report.root_referrers)} referrer(s)",
                md_table(headers, _referrer_rows(report.root_referrers)),
            )
        )
    return "\n".join(lines)
