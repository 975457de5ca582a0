"""What a verdict document must say before promote copies anything: it vouches only for what it judged.

A verdict (the ``--json`` document of ``scan`` or ``evaluate``, or of the scan promote runs itself) is
accepted when, all at once:

- it says ``pass`` and names the root digest the source resolves to (``check_verdict``);
- it judged something: at least one platform row, and at least one row that a SARIF run fed;
- it agrees with itself: no blocking finding, and every platform row passed (a document edited by
  hand to say ``pass`` over failing platforms is refused);
- it names the source's repository, or none (``check_repository``): an SBOM or VEX attached in another
  repository is not what was promoted from here;
- it covers every platform of the root about to be copied (``check_coverage``): a pass from
  ``scan --platform linux/amd64`` does not vouch for the ``linux/arm64`` in the same index.

Anything else raises ``PromotionRefused`` (exit 1) before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gate.attest.lookup import split_index
from gate.errors import EXIT_POLICY, GateError
from gate.oci.manifest import parse
from gate.oci.reference import LayoutReference, TargetReference, parse_target_reference
from gate.oci.target import Manifest

NOTHING_PROMOTED = "nothing was promoted"
MAX_SHOWN = 5


class PromotionRefused(GateError):
    """The verdict does not allow this promotion (not pass, no digest, another digest, another image or
    repository, platforms it did not judge, or a document that contradicts itself): exit 1, nothing pushed."""

    exit_code = EXIT_POLICY


def check_verdict(verdict: Mapping[str, Any], digest: str | None, source: str = "verdict document") -> str:
    """The verdict's digest when it is a pass for ``digest`` (None: only the document itself is checked)
    that judged something and agrees with itself; else ``PromotionRefused`` saying why."""
    value = verdict.get("verdict")
    if value != "pass":
        shown = value if isinstance(value, str) else repr(value)
        raise PromotionRefused(f"{source}: the verdict is {shown!r}, not 'pass'; {NOTHING_PROMOTED}")
    named = verdict.get("digest")
    if not isinstance(named, str) or not named:
        raise PromotionRefused(
            f"{source}: names no image digest, so it cannot vouch for the image; {NOTHING_PROMOTED}",
            hint="use the --json document of `scan` (it records the digest it scanned), or of `evaluate` of a "
            "SARIF that names the image (image-gate's own) or given --image REF@DIGEST",
        )
    _check_judged(verdict, source)
    _check_consistent(verdict, source)
    if digest is not None and named != digest:
        raise PromotionRefused(
            f"{source}: is for {named}, but the source now resolves to {digest}; {NOTHING_PROMOTED}",
            hint="the quarantine tag moved after the scan: scan the image again",
        )
    return named


def _rows(verdict: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    platforms = verdict.get("platforms")
    if not isinstance(platforms, list):
        return []
    return [row for row in platforms if isinstance(row, Mapping)]


def _check_judged(verdict: Mapping[str, Any], source: str) -> None:
    rows = _rows(verdict)
    if not rows:
        raise PromotionRefused(
            f"{source}: judged no platform (no SARIF run, no platform row): a pass on nothing vouches for "
            f"nothing; {NOTHING_PROMOTED}",
            hint="scan the image (or evaluate a SARIF of it) and promote with that verdict",
        )
    if not any(isinstance(row.get("sources"), list) and row["sources"] for row in rows):
        raise PromotionRefused(
            f"{source}: no platform row was fed by a SARIF run (every platform went unscanned); {NOTHING_PROMOTED}",
            hint="a platform without an SBOM passes only under allow_missing_sbom; at least one must be scanned",
        )


def _check_consistent(verdict: Mapping[str, Any], source: str) -> None:
    """A pass has no blocking finding and no failing platform row; anything else was edited by hand."""
    problems: list[str] = []
    blocking = verdict.get("blocking")
    if not isinstance(blocking, list):
        problems.append("its blocking list is missing")
    elif blocking:
        problems.append(f"it lists {len(blocking)} blocking finding(s)")
    for number, row in enumerate(_rows(verdict)):
        name = row.get("platform") or row.get("digest") or f"platforms[{number}]"
        failed = (
            row.get("verdict", "pass") != "pass"
            or row.get("blocking", 0) != 0
            or bool(row.get("blocking_ids"))
            or row.get("reason") is not None
        )
        if failed:
            problems.append(f"platform {str(name)[:200]} did not pass")
    if problems:
        shown = "; ".join(problems[:MAX_SHOWN]) + (
            f"; and {len(problems) - MAX_SHOWN} more" if len(problems) > MAX_SHOWN else ""
        )
        raise PromotionRefused(
            f"{source}: says 'pass' but {shown}: the document contradicts itself; {NOTHING_PROMOTED}",
            hint="promote with the verdict document exactly as scan or evaluate wrote it",
        )


def check_repository(verdict: Mapping[str, Any], source_ref: TargetReference, source: str = "verdict document") -> None:
    """``PromotionRefused`` when the verdict names an image in another repository than ``source_ref``'s."""
    image = verdict.get("image")
    if image is None or image == "":
        return
    if not isinstance(image, str):
        raise PromotionRefused(f"{source}: its image is not a string; {NOTHING_PROMOTED}")
    try:
        named = parse_target_reference(image, default_tag=None)
    except GateError:
        raise PromotionRefused(
            f"{source}: its image {image[:300]!r} is not an image reference; {NOTHING_PROMOTED}"
        ) from None
    if _repository(named) != _repository(source_ref):
        raise PromotionRefused(
            f"{source}: judged {named.name}, not {source_ref.name}: the attestations it read live in another "
            f"repository; {NOTHING_PROMOTED}",
            hint="scan the source repository itself and promote with that verdict",
        )


def _repository(reference: TargetReference) -> str:
    if isinstance(reference, LayoutReference):
        return f"oci:{Path(reference.path).resolve()}"
    return reference.name


def platform_digests(root: Manifest) -> tuple[str, ...]:
    """The manifests a verdict on ``root`` must have judged: each platform manifest of an index (not its
    BuildKit attestations nor ``unknown/unknown`` entries, as the scan reads it), or the root itself."""
    if parse(root).is_index:
        platforms, _ = split_index(json.loads(root.data), root.descriptor.digest)
        return tuple(child.digest for child in platforms)
    return (root.descriptor.digest,)


def check_coverage(verdict: Mapping[str, Any], root: Manifest, source: str = "verdict document") -> None:
    """``PromotionRefused`` unless a platform row of the verdict names each platform manifest of ``root``
    and no row names a manifest that is not in it."""
    required = platform_digests(root)
    rows = _rows(verdict)
    judged = {str(row["digest"]) for row in rows if isinstance(row.get("digest"), str)}
    if required == (root.descriptor.digest,):
        # a single image: the verdict names its digest (checked), its rows may not name it again
        unjudged: Sequence[str] = ()
        foreign = sorted(judged - set(required))
    else:
        unjudged = [digest for digest in required if digest not in judged]
        foreign = sorted(judged - set(required) - {root.descriptor.digest})
    if unjudged:
        shown = ", ".join(unjudged[:MAX_SHOWN]) + (
            f" and {len(unjudged) - MAX_SHOWN} more" if len(unjudged) > MAX_SHOWN else ""
        )
        raise PromotionRefused(
            f"{source}: judged {len(required) - len(unjudged)} of the {len(required)} platform manifests of "
            f"{root.descriptor.digest}; not {shown}. Promote copies the whole index, so the verdict must cover "
            f"every platform; {NOTHING_PROMOTED}",
            hint="scan without --platform (or evaluate SARIF of every platform) and promote with that verdict",
        )
    if foreign:
        raise PromotionRefused(
            f"{source}: judged manifest(s) that are not in {root.descriptor.digest}: {', '.join(foreign[:MAX_SHOWN])}; "
            f"{NOTHING_PROMOTED}"
        )
