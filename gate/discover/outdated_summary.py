"""The step-summary markdown of an outdated run: one row per image (pinned and current digest with
their ages, what the update fixes and introduces, where it is used). Every text from the Dockerfiles,
the registries or the scanner goes through ``gate.markdown``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from gate.discover.outdated_stage import OutdatedImage, OutdatedRun
from gate.markdown import md_code, md_details, md_table, md_text

INLINE_ROWS = 20
SHOWN_IDS = 10
HEADERS = ["Image", "Pinned (age)", "Current (age)", "Fixes", "Introduces", "Location"]


def short_digest(digest: str) -> str:
    """``sha256:`` and the first 12 hex digits: enough to tell two digests of one tag apart."""
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}:{hex_part[:12]}"


def age(created: dt.datetime | None, now: dt.datetime) -> str:
    if created is None:
        return "age unknown"
    days = max(0, int((now - created).total_seconds() // 86_400))
    return f"{days} day{'s' if days != 1 else ''}"


def _digest_cell(digest: str | None, created: dt.datetime | None, now: dt.datetime, *, missing: str) -> str:
    if digest is None:
        return md_text(missing)
    return f"{md_code(short_digest(digest))} ({md_text(age(created, now))})"


def _ids(ids: Sequence[str]) -> str:
    if not ids:
        return "none"
    shown = ", ".join(md_code(vid) for vid in ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")


def _row(image: OutdatedImage, now: dt.datetime) -> list[str]:
    entry, comparison = image.entry, image.comparison
    if comparison is None:
        fixes = introduces = "not scanned"
    elif comparison.error is not None:
        fixes = introduces = "scan failed"
    else:
        fixes, introduces = _ids(comparison.fixes), _ids(comparison.introduces)
    return [
        md_code(entry.image.partition("@")[0]),  # the digests are in the next columns
        _digest_cell(entry.digest, entry.created, now, missing="not pinned"),
        _digest_cell(entry.current_digest, entry.current_created, now, missing="lookup failed"),
        fixes,
        introduces,
        ", ".join(md_code(f"{location.path}:{location.line}") for location in entry.locations),
    ]


def _table(title: str, images: Sequence[OutdatedImage], now: dt.datetime) -> str:
    table = md_table(HEADERS, [_row(image, now) for image in images])
    return md_details(f"{md_text(title)} ({len(images)})", table) if len(images) > INLINE_ROWS else table


def render(run: OutdatedRun, verdict: str) -> str:
    """The summary: the verdict, the outdated images, the unpinned ones, the failed lookups and scans,
    then the up-to-date ones (collapsed)."""
    now = run.checked_at
    outdated = run.outdated
    unpinned = [image for image in run.images if image.entry.digest is None and image.entry.error is None]
    failed = [
        image
        for image in run.images
        if image.entry.error is not None or (image.comparison is not None and image.comparison.error is not None)
    ]
    current = [image for image in run.images if image.entry.digest is not None and not image.entry.outdated]
    current = [image for image in current if image.entry.error is None]
    lines = [
        "## image-gate outdated",
        "",
        f"**{md_text(verdict)}**",
        "",
        f"{len(run.images)} image(s) in {len(run.production.files)} production Dockerfile(s); "
        f"{len(outdated)} behind their tag"
        + (f", {len(run.fixable)} whose update fixes a blocking vulnerability" if run.scanned else " (not scanned)")
        + f"; {len(unpinned)} not pinned; {len(failed)} with an error.",
        "",
        "### Behind their tag",
        "",
    ]
    lines.append(_table("Behind their tag", outdated, now) if outdated else "None.\n")
    if unpinned:
        lines += ["### Not pinned (pin writes the current digest)", "", _table("Not pinned", unpinned, now)]
    if failed:
        rows = [
            [
                md_code(image.entry.image),
                md_text(image.entry.error or (image.comparison.error if image.comparison else "") or ""),
            ]
            for image in failed
        ]
        lines += ["### Errors", "", md_table(["Image", "Error"], rows)]
    if current:
        lines += [
            "### Up to date",
            "",
            md_details(f"Up to date ({len(current)})", md_table(HEADERS, [_row(i, now) for i in current])),
        ]
    return "\n".join(lines)
