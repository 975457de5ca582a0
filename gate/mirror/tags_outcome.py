"""The outcome of ``tags``: the matrix (output ``matrix``, ready for ``fromJSON``), the number of tags to
mirror (``tag_count``), the JSON document with every tag kept and dropped, and the summary. More tags
than the matrix cap: exit 1 and no ``matrix`` output."""

from __future__ import annotations

from gate.discover.matrix import compact_json
from gate.errors import EXIT_OK, EXIT_POLICY
from gate.mirror.tags import TagList
from gate.mirror.tags_summary import render_tags_summary
from gate.outcome import Outcome


def tags_outcome(found: TagList) -> Outcome:
    request, selection = found.request, found.selection
    failure = found.failure
    matrix = None if failure else found.matrix()
    document = {
        "source": request.source.name,
        "destination": request.destination.name if request.destination is not None else None,
        "listed": found.listed,
        "kept": list(selection.kept),
        "dropped": [dropped.to_json() for dropped in selection.dropped],
        "matrix": matrix,
    }
    outputs = {"tag_count": str(len(selection.kept))}
    if matrix is not None:
        outputs["matrix"] = compact_json(matrix)
    message = (
        f"tags: {found.listed} tag(s) in {request.source.name}: {len(selection.kept)} to mirror, "
        f"{len(selection.dropped)} dropped"
    )
    return Outcome(
        exit_code=EXIT_POLICY if failure else EXIT_OK,
        document=document,
        outputs=outputs,
        summary=render_tags_summary(found),
        messages=(message, *([f"error: {failure}"] if failure else [])),
    )
