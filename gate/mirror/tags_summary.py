"""The step summary of ``tags``: the tags kept (the matrix) and those dropped, with why (all escaped)."""

from __future__ import annotations

from gate.markdown import md_code, md_details, md_table, md_text
from gate.mirror.selection import REASON_TEXT
from gate.mirror.tags import TagList

INLINE_ROWS = 20  # longer lists are collapsed into <details>


def render_tags_summary(found: TagList) -> str:
    """Verdict, counts, the matrix entries and the dropped tags."""
    request, selection = found.request, found.selection
    failure = found.failure
    destination = md_code(request.destination.name) if request.destination is not None else "no destination"
    lines = [
        "## image-gate tags",
        "",
        f"**{md_text('failed: ' + failure) if failure else 'passed'}**",
        "",
        f"{md_code(request.source.name)} → {destination}: {found.listed} tag(s) listed, "
        f"{len(selection.kept)} to mirror, {len(selection.dropped)} dropped.",
        "",
    ]
    if selection.kept:
        rows = [[md_code(entry["tag"]), md_code(entry["source"]), md_code(entry["destination"] or "—")]
                for entry in found.matrix()["include"]]  # fmt: skip
        table = md_table(["Tag", "Source", "Destination"], rows)
        lines.append(md_details(f"Tags to mirror ({len(rows)})", table) if len(rows) > INLINE_ROWS else table)
    else:
        lines += ["No tag to mirror.", ""]
    if selection.dropped:
        rows = [[md_code(d.tag), md_text(REASON_TEXT[d.reason])] for d in selection.dropped]
        lines.append(md_details(f"Dropped ({len(rows)})", md_table(["Tag", "Why"], rows)))
    return "\n".join(lines)
