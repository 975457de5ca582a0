"""The mirror stage: copy an image with every platform (or only some) and, optionally, all its OCI
referrers into another repository or OCI layout.

``plan`` parses the references and picks the destination tag before anything is opened;
``mirror(request)`` copies and returns the ``CopyReport`` (source and destination as the user reads
them); ``gate.mirror.outcome`` turns it into the command's outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from gate.errors import InputError
from gate.oci.copy import CopyOptions, CopyReport, copy_image
from gate.oci.manifest import parse_platform
from gate.oci.open import Access, mount_from, open_target, registry_pool
from gate.oci.reference import TargetReference, parse_target_reference
from gate.outcome import ignore


@dataclass(frozen=True)
class MirrorPlan:
    """The references parsed, and the tag the copy gets in the destination (None: by digest only)."""

    source: TargetReference
    destination: TargetReference
    tag: str | None
    referrers_source: TargetReference | None


def plan(source: str, destination: str, referrers_source: str = "") -> MirrorPlan:
    """The references parsed; the destination tag is the destination's, else the source's, else none."""
    source_ref = parse_target_reference(source)
    destination_ref = parse_target_reference(destination, default_tag=None)
    tag = destination_ref.tag or (source_ref.tag if destination_ref.digest is None else None)
    referrers = parse_target_reference(referrers_source) if referrers_source.strip() else None
    return MirrorPlan(source_ref, destination_ref, tag, referrers)


@dataclass(frozen=True)
class MirrorRequest:
    """What to copy (``plan``), how to reach the registries, and what to copy besides the image."""

    plan: MirrorPlan
    access: Access
    copy_referrers: bool = False
    platforms: tuple[str, ...] = ()


def mirror(
    request: MirrorRequest,
    *,
    environ: Mapping[str, str],
    mask: Callable[[str], None] = ignore,
    log: Callable[[str], None] = ignore,
) -> CopyReport:
    """Copy the image (a destination pinned by digest must be what the source resolves to)."""
    steps = request.plan
    platforms = tuple(parse_platform(text) for text in request.platforms)
    with registry_pool(request.access, environ=environ, mask=mask, log=log) as pool:
        source = open_target(steps.source, pool)
        destination = open_target(steps.destination, pool, create=True)
        referrers_source = open_target(steps.referrers_source, pool) if steps.referrers_source else None
        if steps.destination.digest is not None:
            found = source.resolve(steps.source.reference).digest
            if found != steps.destination.digest:
                raise InputError(
                    f"destination {steps.destination} names digest {steps.destination.digest}, "
                    f"but the source {steps.source} is {found}; nothing copied"
                )
        options = CopyOptions(
            copy_referrers=request.copy_referrers or referrers_source is not None,
            referrers_source=referrers_source,
            platforms=platforms,
            concurrency=request.access.concurrency,
            mount_from=mount_from(steps.source, steps.destination),
            referrers_mount_from=mount_from(steps.referrers_source, steps.destination),
        )
        log(f"mirror: {steps.source} -> {steps.destination}")
        report = copy_image(source, steps.source.reference, destination, steps.tag, options, log=log)
    destination_text = (
        f"{steps.destination.name}:{steps.tag}" if steps.tag else f"{steps.destination.name}@{report.digest}"
    )
    return replace(report, source=str(steps.source), destination=destination_text)
