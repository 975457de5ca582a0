"""The options of the mirror stage (``mirror``, and ``pipeline``'s copy into quarantine)."""

from __future__ import annotations

from dataclasses import replace

from gate.options.base import Option

COPY_REFERRERS = Option(
    "copy_referrers",
    "also copy every OCI referrer, recursively",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--copy-referrers",
)
REFERRERS_SOURCE = Option(
    "referrers_source",
    "read referrers from this repository too (attestations kept apart from the image)",
    {"type": "string"},
    default="",
    flag="--referrers-source",
    metavar="REPO",
)

# The pipeline scans the SBOM attestations of the quarantine copy: it copies referrers unless told not
# to on the command line, and always in the action.
PIPELINE_COPY_REFERRERS = replace(
    COPY_REFERRERS,
    help="copy every OCI referrer (SBOMs, provenance, VEX, signatures) into quarantine (default: on)",
    default=True,
    toggle=True,
    input=False,
)
PIPELINE_REFERRERS_SOURCE = replace(REFERRERS_SOURCE, help="read referrers from this repository too")
