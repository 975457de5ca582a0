"""The mirror stage: copy an image with every platform (or only some) and, optionally, all its OCI
referrers into another repository or OCI layout.

``plan`` parses the references and picks the destination tag before anything is opened;
``mirror(request)`` copies and returns the ``CopyReport`` (source and destination as the user reads
them); ``gate.mirror.outcome`` turns it into the command's outcome. ``open_targets`` and
``copy_options`` are what every copy of the stage shares (``gate.mirror.acquire``: the mirror command,
with history, provenance and several tags).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from gate.errors import InputError
from gate.oci.copy import CopyOptions, CopyReport, copy_image
from gate.oci.manifest import parse_platform
from gate.oci.open import Access, mount_from, open_target, registry_pool
from gate.oci.pool import RegistryPool
from gate.oci.reference import TargetReference, parse_target_reference
from gate.oci.target import Target
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


def plan_repositories(source: str, destination: str, referrers_source: str = "") -> MirrorPlan:
    """The references of a mirror of several tags: two repositories, neither with a tag or digest."""
    from gate.mirror.tags import repository  # the discover modules (its matrix cap): only for several tags

    hint = "with --tags / input tags give a repository (each tag is copied to the same tag)"
    source_ref = repository(source, "source", hint)
    destination_ref = repository(destination, "destination", hint)
    referrers = parse_target_reference(referrers_source) if referrers_source.strip() else None
    return MirrorPlan(source_ref, destination_ref, None, referrers)


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
    with registry_pool(request.access, environ=environ, mask=mask, log=log) as pool:
        targets = open_targets(steps, pool)
        check_pinned_destination(steps, targets.source)
        log(f"mirror: {steps.source} -> {steps.destination}")
        report = copy_image(
            targets.source,
            steps.source.reference,
            targets.destination,
            steps.tag,
            copy_options(request, targets),
            log=log,
        )
    return replace(
        report, source=str(steps.source), destination=destination_text(steps.destination, steps.tag, report.digest)
    )


@dataclass(frozen=True)
class Targets:
    """The stores a mirror reads and writes, opened through one pool."""

    source: Target
    destination: Target
    referrers_source: Target | None


def open_targets(steps: MirrorPlan, pool: RegistryPool) -> Targets:
    return Targets(
        open_target(steps.source, pool),
        open_target(steps.destination, pool, create=True),
        open_target(steps.referrers_source, pool) if steps.referrers_source else None,
    )


def check_pinned_destination(steps: MirrorPlan, source: Target) -> None:
    """A destination pinned by digest must be what the source resolves to (else an ``InputError``)."""
    if steps.destination.digest is None:
        return
    found = source.resolve(steps.source.reference).digest
    if found != steps.destination.digest:
        raise InputError(
            f"destination {steps.destination} names digest {steps.destination.digest}, "
            f"but the source {steps.source} is {found}; nothing copied"
        )


def copy_options(request: MirrorRequest, targets: Targets) -> CopyOptions:
    steps = request.plan
    return CopyOptions(
        copy_referrers=request.copy_referrers or targets.referrers_source is not None,
        referrers_source=targets.referrers_source,
        platforms=tuple(parse_platform(text) for text in request.platforms),
        concurrency=request.access.concurrency,
        mount_from=mount_from(steps.source, steps.destination),
        referrers_mount_from=mount_from(steps.referrers_source, steps.destination),
    )


def destination_text(destination: TargetReference, tag: str | None, digest: str) -> str:
    """The destination as the user reads it: ``name:tag``, else ``name@digest``."""
    return f"{destination.name}:{tag}" if tag else f"{destination.name}@{digest}"
