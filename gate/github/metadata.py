"""The machine-readable block at the end of a tracking issue's body (the seed system's format):

    <!-- cssc-metadata:start -->
    ```json
    {"source_repo": ..., "dest_repo": ..., "tag": ..., "digest": ..., "threshold": ..., "scanner": ...,
     "scanner_version": ..., "method": ..., "blocking_cves": [...], "sbom_predicate_type": ...}
    ```
    <!-- cssc-metadata:end -->

``render_block`` writes it; ``parse_block`` reads it back from an issue BODY (never a comment) and refuses
anything but exactly one well-formed block whose JSON matches ``schemas/issue-metadata.schema.json``.
Untrusted text elsewhere in the body is escaped (``gate.markdown``): ``<`` becomes ``&lt;``, so no finding
can forge a marker.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gate.errors import InputError
from gate.schema_files import first_schema_error

START = "<!-- cssc-metadata:start -->"
END = "<!-- cssc-metadata:end -->"
MAX_BODY_CHARS = 65536  # GitHub's cap on an issue body
SCHEMA_PATH = Path(__file__).with_name("schemas") / "issue-metadata.schema.json"
_FENCED = re.compile(r"\A\s*```json[ \t]*\n(?P<json>.*?)\n```[ \t]*\s*\Z", re.DOTALL)


class MetadataError(InputError):
    """The issue has no usable metadata block (exit 2; the override replies with the message)."""


@dataclass(frozen=True)
class IssueMetadata:
    """What the tracking issue records of the blocked image."""

    source_repo: str
    dest_repo: str
    tag: str
    digest: str
    threshold: str
    scanner: str
    scanner_version: str
    method: str
    blocking_cves: tuple[str, ...]
    sbom_predicate_type: str

    @property
    def source(self) -> str:
        """The quarantine reference the issue is about, ``repo:tag``."""
        return f"{self.source_repo}:{self.tag}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["blocking_cves"] = list(self.blocking_cves)
        return data


def validate_metadata(data: Any, where: str) -> IssueMetadata:
    """``data`` checked against the schema, as an ``IssueMetadata``; ``MetadataError`` naming ``where``."""
    error = first_schema_error(SCHEMA_PATH, data)
    if error is not None:
        at = "/".join(str(p) for p in error.path) or "the block"
        raise MetadataError(f"{where}: the cssc-metadata block is malformed: {at}: {error.message}")
    return IssueMetadata(**{**data, "blocking_cves": tuple(data["blocking_cves"])})


def render_block(metadata: IssueMetadata) -> str:
    """The block, markers included (the values are checked first: the override must read back what we wrote)."""
    validate_metadata(metadata.to_json(), "the metadata to write")
    text = json.dumps(metadata.to_json(), indent=2, ensure_ascii=True)
    return f"{START}\n```json\n{text}\n```\n{END}\n"


def parse_block(body: str | None, where: str = "the issue body") -> IssueMetadata:
    """The one metadata block of an issue body. Raises ``MetadataError`` saying what is wrong."""
    text = (body or "").replace("\r\n", "\n")
    if len(text) > MAX_BODY_CHARS:
        raise MetadataError(f"{where} is longer than {MAX_BODY_CHARS} characters; refusing to read it")
    starts, ends = text.count(START), text.count(END)
    if starts == 0 and ends == 0:
        raise MetadataError(f"{where} has no cssc-metadata block ({START} ... {END}): it was not written by image-gate")
    if starts != 1 or ends != 1:
        raise MetadataError(f"{where}: expected one cssc-metadata block, found {starts} start and {ends} end marker(s)")
    inside = text[text.index(START) + len(START) : text.index(END)] if text.index(START) < text.index(END) else None
    if inside is None:
        raise MetadataError(f"{where}: the cssc-metadata end marker comes before its start marker")
    fenced = _FENCED.match(inside)
    if fenced is None:
        raise MetadataError(f"{where}: the cssc-metadata block must hold one ```json code block and nothing else")
    try:
        data = json.loads(fenced.group("json"))
    except ValueError as exc:
        raise MetadataError(f"{where}: the cssc-metadata block is not JSON: {exc}") from None
    return validate_metadata(data, where)
