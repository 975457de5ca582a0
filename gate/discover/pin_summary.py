"""The step-summary markdown of a pin run: what was (or would be) pinned, what was not and why, and the
diff in a code block. Every text from the Dockerfiles goes through ``gate.markdown``."""

from __future__ import annotations

from gate.discover.pin_stage import PinRun
from gate.markdown import md_code, md_code_block, md_details, md_table, md_text

INLINE_ROWS = 20


def _block(title: str, count: int, table: str) -> str:
    return md_details(f"{md_text(title)} ({count})", table) if count > INLINE_ROWS else table


def render(run: PinRun, verdict: str) -> str:
    """The summary: the verdict, the references pinned, those refused, the diff."""
    changes, refused = run.changes, run.refused
    mode = "would be pinned (--check: nothing written)" if run.request.check else "pinned"
    lines = [
        "## image-gate pin",
        "",
        f"**{md_text(verdict)}**",
        "",
        f"{len(run.files)} production Dockerfile(s); {len(changes)} reference(s) {mode} in {len(run.changed)} "
        f"file(s); {len(refused)} left as they are.",
        "",
        "### Pinned",
        "",
    ]
    if changes:
        rows = [[md_code(f"{c.path}:{c.line}"), md_code(c.before), md_code(c.after)] for c in changes]
        lines.append(_block("Pinned", len(rows), md_table(["Location", "From", "To"], rows)))
    else:
        lines += ["Nothing to pin.", ""]
    if refused:
        rows = [[md_code(f"{r.path}:{r.line}"), md_code(r.image), md_text(r.reason)] for r in refused]
        lines += [
            "### Not pinned",
            "",
            _block("Not pinned", len(rows), md_table(["Location", "Image", "Reason"], rows)),
        ]
    if run.conflicts:
        lines += ["### Not written", "", *(f"- {md_text(message)}" for message in run.conflicts), ""]
    diff = run.diff
    if diff:
        lines += ["### Diff", "", md_code_block(diff, "diff")]
    return "\n".join(lines)
