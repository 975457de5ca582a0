"""VEX applied to gate findings: which statement (if any) suppresses a finding, and SARIF suppressions.

A finding's products are the image it was found in and the package it was found in:
- every digest of the image the run names (the platform manifest ``digest`` and the digest in a
  pinned ``image`` reference, i.e. the index), bare (``sha256:...``), as ``<name>@<digest>`` and
  as a ``pkg:oci/<last name component>@<digest>`` purl;
- the package purl when the scanner (or the scan stage, from the SBOM) recorded one.

``not_affected`` and ``fixed`` suppress; ``affected`` and ``under_investigation`` do not; the
operator's ``--vex`` files win over VEX attached to the image, then the latest applicable statement
wins (``gate.policy.vex.VexSet.match``). A suppression names where its statement came from and,
for an attached one, whether its signature was verified.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gate.errors import InputError
from gate.oci.reference import TAG_PATTERN
from gate.policy.sarif import SarifFinding
from gate.policy.vex import VexSet, VexStatement, load_vex_files

_DIGEST = re.compile(r"(?:sha256:[0-9a-fA-F]{64}|sha512:[0-9a-fA-F]{128})")
_PINNED = re.compile(rf"(?P<name>.+?)(?::(?P<tag>{TAG_PATTERN.pattern}))?@(?P<digest>sha256:[0-9a-fA-F]{{64}})")


def image_name(image: str | None) -> str | None:
    """``host/repo`` of ``host/repo[:tag][@digest]`` (``oci:PATH`` kept as is)."""
    if not image:
        return None
    text = image.strip()
    match = _PINNED.fullmatch(text)
    if match:
        return match.group("name")
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash and not text.startswith("oci:"):
        return text[:colon]
    return text


def image_identifiers(image: str | None, digests: Iterable[str | None]) -> tuple[str, ...]:
    """Every product identifier naming the image (or one platform of it) by digest."""
    found = {d.lower() for d in digests if d and _DIGEST.fullmatch(d)}
    if image:
        found.update(d.lower() for d in _DIGEST.findall(image))
    name = image_name(image)
    identifiers: list[str] = []
    for digest in sorted(found):
        identifiers.append(digest)
        if name:
            identifiers.append(f"{name}@{digest}")
            last = name.rstrip("/").rsplit("/", 1)[-1].lower()
            if last and not name.startswith("oci:"):
                repository = quote(name.lower(), safe="/:")
                identifiers.append(
                    f"pkg:oci/{quote(last, safe='')}@{quote(digest, safe='')}?repository_url={repository}"
                )
    return tuple(identifiers)


def finding_products(finding: SarifFinding, run_digest: str | None) -> tuple[str, ...]:
    """The product identifiers a VEX statement may name for this finding."""
    identifiers = list(image_identifiers(finding.image, (run_digest,)))
    if finding.purl:
        identifiers.append(finding.purl)
    return tuple(identifiers)


def statement_for(vex: VexSet, finding: SarifFinding, run_digest: str | None) -> VexStatement | None:
    """The suppressing statement for a finding, or None (no statement, or the latest says affected)."""
    if not len(vex) or finding.kind != "vulnerability":
        return None
    statement = vex.match(finding.id, (finding.rule_id, *finding.aliases), finding_products(finding, run_digest))
    return statement if statement is not None and statement.suppresses else None


def sarif_suppression(statement: VexStatement) -> dict[str, Any]:
    """A SARIF ``suppression`` object for a VEX statement: external, accepted, with its justification."""
    justification = statement.justification or statement.impact or statement.status
    text = f"VEX {statement.status}: {justification} ({statement.source}{provenance_note(statement)})"
    suppression: dict[str, Any] = {
        "kind": "external",
        "status": "accepted",
        "justification": text[:1000],
        "properties": {
            "vexStatus": statement.status,
            "vexJustification": statement.justification,
            "vexSource": statement.source,
            "vexFormat": statement.format,
            "vexOrigin": statement.origin,
            "vexVerified": statement.verified,
        },
    }
    return suppression


def provenance_note(statement: VexStatement) -> str:
    """``", attached, signature not verified"`` (or verified) for attached VEX; nothing for the operator's files."""
    if statement.origin != "attached":
        return ""
    return ", attached, signature verified" if statement.verified else ", attached, signature not verified"


def suppress_results(run: MutableMapping[str, Any], findings: Iterable[SarifFinding], vex: VexSet) -> int:
    """Add a suppression to each result of ``run`` that a VEX statement suppresses; return how many.

    ``findings`` are ``gate.policy.sarif.parse_run(run)``'s, whose ``path`` names their result index.
    """
    results = run.get("results")
    if not isinstance(results, list):
        return 0
    properties = run.get("properties")
    digest = properties.get("digest") if isinstance(properties, Mapping) else None
    count = 0
    for finding in findings:
        match = re.search(r"\.results\[(\d+)\]$", finding.path)
        if not match:
            continue
        statement = statement_for(vex, finding, digest if isinstance(digest, str) else None)
        if statement is None:
            continue
        result = results[int(match.group(1))]
        if not isinstance(result, dict):
            continue
        existing = result.get("suppressions")
        entries = list(existing) if isinstance(existing, list) else []
        entries.append(sarif_suppression(statement))
        result["suppressions"] = entries
        count += 1
    return count


def load_given_vex(paths: Sequence[str], use_vex: bool) -> VexSet | None:
    """The ``--vex`` files as one set (None with ``--no-vex``); unreadable files are an ``InputError``.

    ``--no-vex`` with ``--vex`` files is an ``InputError`` too: the operator asked for no VEX at all and
    for these files, and neither dropping the files silently nor applying them is what both asked for.
    """
    if not use_vex:
        if paths:
            shown = ", ".join(str(p) for p in paths[:5]) + (", ..." if len(paths) > 5 else "")
            raise InputError(
                f"--no-vex (input vex: false) and --vex (input vex_files: {shown}) contradict each other: "
                "--no-vex applies no VEX statement at all, not even the files given",
                hint="drop --no-vex to apply the files, or the files to apply no VEX; --no-attached-vex "
                "(input attached_vex: false) applies the files and ignores VEX attached to the image",
            )
        return None
    return load_vex_files([Path(p) for p in paths])
