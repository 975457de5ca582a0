"""The step-summary markdown of a discover run. Everything from the scanned tree is escaped."""

from __future__ import annotations

from collections.abc import Sequence

from gate.discover.matrix import Image
from gate.discover.policy import Violation
from gate.markdown import md_code, md_details, md_table, md_text

# Longer lists are collapsed into <details>.
INLINE_ROWS = 20


def _block(title: str, count: int, table: str) -> str:
    if count > INLINE_ROWS:
        return md_details(f"{md_text(title)} ({count})", table)
    return table


def render(
    dockerfiles: Sequence[tuple[str, bool]],
    images: Sequence[Image],
    violations: Sequence[Violation],
    *,
    verdict: str,
    marker: str,
) -> str:
    """The summary: verdict, Dockerfiles found (production or not), unique images, violations."""
    production = sum(1 for _, flag in dockerfiles if flag)
    lines = [
        "## image-gate discover",
        "",
        f"**{md_text(verdict)}**",
        "",
        f"{len(dockerfiles)} Dockerfile(s) found, {production} production (marker {md_code('# ' + marker)}); "
        f"{len(images)} unique image(s); {len(violations)} violation(s).",
        "",
        "### Dockerfiles",
        "",
    ]
    if dockerfiles:
        rows = [[md_code(path), "yes" if flag else "no"] for path, flag in dockerfiles]
        lines.append(_block("Dockerfiles", len(rows), md_table(["Path", "Production"], rows)))
    else:
        lines += ["No Dockerfile found.", ""]
    lines += ["### Images", ""]
    if images:
        rows = [
            [
                md_code(image.image),
                "yes" if image.pinned else "no",
                ", ".join(md_code(f"{loc.path}:{loc.line}") for loc in image.locations),
            ]
            for image in images
        ]
        lines.append(_block("Images", len(rows), md_table(["Image", "Pinned", "Used at"], rows)))
    else:
        lines += ["No production image.", ""]
    lines += ["### Violations", ""]
    if violations:
        rows = [[md_code(v.path), str(v.line), md_code(v.image), md_text(v.reason)] for v in violations]
        lines.append(_block("Violations", len(rows), md_table(["Path", "Line", "Image", "Reason"], rows)))
    else:
        lines += ["None.", ""]
    return "\n".join(lines)
