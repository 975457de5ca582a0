"""The options of the mirror stage (``mirror``, and ``pipeline``'s copy into quarantine)."""

from __future__ import annotations

from dataclasses import replace

from gate.options.base import Option
from gate.options.signing import REPORT_SIGNING_KEY
from gate.options.tags import EXCLUDE, checked_pattern

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

# Several tags, and the records of an acquisition (``gate.mirror.acquire``).
TAGS = Option(
    "tags",
    "mirror every tag of the SOURCE repository this regular expression matches into DESTINATION (both "
    "repositories, no tag), each to the same tag, several at once (--concurrency), shared blobs copied once",
    {"type": "string"},
    default="",
    flag="--tags",
    metavar="REGEX",
    normalise=checked_pattern,
)
MIRROR_EXCLUDE = replace(EXCLUDE, help="with --tags: drop the tags this regular expression matches")
PROVENANCE = Option(
    "provenance",
    "attach an acquisition provenance statement (in-toto) to the copied image and each platform manifest",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--provenance",
)
HISTORY = Option(
    "history",
    "keep the mirror history (tag mirror-history of the destination) and skip a source tag and digest it holds",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--history",
)
FORCE = Option(
    "force",
    "with --history: copy even a source tag and digest the history holds (recorded with force: true)",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--force",
)
PROVENANCE_SIGNING_KEY = replace(
    REPORT_SIGNING_KEY,
    help="with --provenance: sign each statement with this PEM private key (the report signing key of promote: "
    "ECDSA, RSA or Ed25519; unencrypted), attached as a sigstore bundle that cosign verify-attestation --type "
    "https://toddysm.com/acquisition-provenance/v0.1 verifies (no tlog entry). The input may hold the PEM text "
    "itself; it is masked",
)
