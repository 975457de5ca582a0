"""The images a command works on: the references it takes (each command says what they are for) and
the platforms of an index to keep."""

from __future__ import annotations

from dataclasses import replace

from gate.options.base import Option

_REFERENCE = {"type": "string", "minLength": 1}

SOURCE = Option(
    "source",
    "image to copy: host/repo[:tag][@digest] or oci:PATH[:tag]",
    _REFERENCE,
    positional=True,
    required="input source is required for command mirror",
)
DESTINATION = Option(
    "destination",
    "where to copy it: host/repo[:tag] or oci:PATH[:tag] (no tag: the source's tag, else by digest only)",
    _REFERENCE,
    positional=True,
    required="input destination is required for command mirror",
)
QUARANTINE = Option(
    "quarantine",
    "where to mirror and scan it: host/repo[:tag] (no tag: the source's tag)",
    _REFERENCE,
    flag="--quarantine",
    required="input quarantine is required for command pipeline: where to mirror and scan it",
)
PRODUCTION = Option(
    "production",
    "where a passing image goes: host/repo[:tag] (no tag: the quarantine tag)",
    _REFERENCE,
    flag="--production",
    required="input production is required for command pipeline: where a passing image goes",
)

# What the other commands call the same inputs.
SCANNED_IMAGE = replace(
    SOURCE,
    field="image",
    input="source",
    help="image to scan: host/repo[:tag][@digest] or oci:PATH[:tag]",
    required="input source is required for command scan: the image to scan",
)
PROMOTED_SOURCE = replace(
    SOURCE,
    help="the image in quarantine: host/repo:tag[@digest] or oci:PATH[:tag]",
    required="input source is required for command promote: the image in quarantine",
)
PROMOTED_DESTINATION = replace(
    DESTINATION,
    help="where to promote it: host/repo[:tag] or oci:PATH[:tag] (no tag: the source's)",
    required="input destination is required for command promote: where to promote it",
)
PIPELINE_SOURCE = replace(
    SOURCE,
    positional=False,
    flag="--source",
    help="the image to bring in: host/repo[:tag][@digest] or oci:PATH",
    required="input source is required for command pipeline: the image to bring in",
)

PLATFORMS = Option(
    "platforms",
    "copy only these platforms of an index (repeatable; a new, smaller index is written)",
    {"type": "array", "items": {"type": "string", "pattern": r"^[^/\s]+/[^/\s]+(/[^/\s]+)?$"}},
    kind="list",
    default=(),
    flag="--platform",
    metavar="OS/ARCH[/VARIANT]",
)
SCANNED_PLATFORMS = replace(PLATFORMS, help="scan only these platforms of an index (repeatable; default: all)")
PIPELINE_PLATFORMS = replace(PLATFORMS, help="mirror (and so scan and promote) only these platforms (repeatable)")
