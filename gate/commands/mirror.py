"""``mirror``: copy an image (every platform) and, optionally, all its referrers into another repository."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from gate.commands import Context
from gate.commands.options import (
    PLATFORMS_SCHEMA,
    AccessFields,
    access_schema,
    access_values_from_args,
    access_values_from_inputs,
    add_access_arguments,
    add_platform_argument,
    config_secrets,
)
from gate.config import ActionInputs, build_config
from gate.errors import EXIT_OK, InputError
from gate.markdown import md_code, md_details, md_table, md_text
from gate.oci.copy import CopyOptions, CopyReport, ReferrerInfo, copy_image
from gate.oci.manifest import parse_platform
from gate.oci.open import open_target, registry_pool
from gate.oci.refs import TargetReference, parse_target_reference
from gate.oci.target import Target
from gate.outcome import Outcome
from gate.reference import ImageReference

NAME = "mirror"
HELP = "copy an image with every platform (and optionally all OCI referrers) into another repository"

SIDES = {"source": "the source registry", "destination": "the destination registry"}

SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["source", "destination"],
    "properties": {
        "source": {"type": "string", "minLength": 1},
        "destination": {"type": "string", "minLength": 1},
        "copy_referrers": {"type": "boolean"},
        "referrers_source": {"type": "string"},
        "platforms": PLATFORMS_SCHEMA,
        **access_schema(tuple(SIDES)),
    },
}


@dataclass(frozen=True)
class MirrorConfig(AccessFields):
    source: str
    destination: str
    copy_referrers: bool = False
    referrers_source: str = ""
    platforms: tuple[str, ...] = ()

    def secrets(self) -> tuple[str, ...]:
        """Every password the config carries (masked before anything is printed)."""
        return config_secrets(self.source_password, self.destination_password, registry_auth=self.registry_auth)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="image to copy: host/repo[:tag][@digest] or oci:PATH[:tag]")
    parser.add_argument(
        "destination",
        help="where to copy it: host/repo[:tag] or oci:PATH[:tag] (no tag: the source's tag, else by digest only)",
    )
    parser.add_argument("--copy-referrers", action="store_true", help="also copy every OCI referrer, recursively")
    parser.add_argument(
        "--referrers-source",
        default="",
        metavar="REPO",
        help="read referrers from this repository too (attestations kept apart from the image)",
    )
    add_platform_argument(parser, "copy only these platforms of an index (repeatable; a new, smaller index is written)")
    add_access_arguments(parser, SIDES)


def config_from_args(namespace: argparse.Namespace) -> MirrorConfig:
    values = {
        "source": namespace.source,
        "destination": namespace.destination,
        "copy_referrers": namespace.copy_referrers,
        "referrers_source": namespace.referrers_source,
        "platforms": list(namespace.platforms),
        **access_values_from_args(namespace, tuple(SIDES)),
    }
    return build_config(MirrorConfig, SCHEMA, values, "command line")


def config_from_inputs(inputs: ActionInputs) -> MirrorConfig:
    values = {
        "source": inputs.get("source").strip(),
        "destination": inputs.get("destination").strip(),
        "copy_referrers": inputs.bool("copy_referrers"),
        "referrers_source": inputs.get("referrers_source").strip(),
        "platforms": inputs.list("platforms"),
        **access_values_from_inputs(inputs, tuple(SIDES)),
    }
    if not values["source"]:
        raise InputError("input source is required for command mirror")
    if not values["destination"]:
        raise InputError("input destination is required for command mirror")
    return build_config(MirrorConfig, SCHEMA, values, "action inputs")


@dataclass(frozen=True)
class _Plan:
    source: TargetReference
    destination: TargetReference
    tag: str | None
    referrers_source: TargetReference | None


def plan(config: MirrorConfig) -> _Plan:
    """References parsed and the destination tag chosen: the destination's, else the source's, else none."""
    source = parse_target_reference(config.source)
    destination = parse_target_reference(config.destination, default_tag=None)
    tag = destination.tag or (source.tag if destination.digest is None else None)
    referrers = parse_target_reference(config.referrers_source) if config.referrers_source.strip() else None
    return _Plan(source, destination, tag, referrers)


@contextmanager
def _targets(config: MirrorConfig, steps: _Plan, context: Context) -> Iterator[tuple[Target, Target, Target | None]]:
    access = config.access(steps.source, steps.destination)
    with registry_pool(access, environ=context.environ, mask=context.mask, log=context.log) as pool:
        source = open_target(steps.source, pool)
        destination = open_target(steps.destination, pool, create=True)
        referrers = open_target(steps.referrers_source, pool) if steps.referrers_source else None
        yield source, destination, referrers


def _mount_from(source: TargetReference | None, destination: TargetReference) -> str | None:
    """The source repository to mount blobs from when both are on one registry."""
    if not isinstance(source, ImageReference) or not isinstance(destination, ImageReference):
        return None
    if source.registry != destination.registry or source.repository == destination.repository:
        return None
    return source.repository


def run(config: MirrorConfig, context: Context) -> Outcome:
    steps = plan(config)
    platforms = tuple(parse_platform(text) for text in config.platforms)
    with _targets(config, steps, context) as (source, destination, referrers_source):
        if steps.destination.digest is not None:
            found = source.resolve(steps.source.reference).digest
            if found != steps.destination.digest:
                raise InputError(
                    f"destination {steps.destination} names digest {steps.destination.digest}, "
                    f"but the source {steps.source} is {found}; nothing copied"
                )
        options = CopyOptions(
            copy_referrers=config.copy_referrers or referrers_source is not None,
            referrers_source=referrers_source,
            platforms=platforms,
            concurrency=config.concurrency,
            mount_from=_mount_from(steps.source, steps.destination),
            referrers_mount_from=_mount_from(steps.referrers_source, steps.destination),
        )
        context.log(f"mirror: {steps.source} -> {steps.destination}")
        report = copy_image(source, steps.source.reference, destination, steps.tag, options, log=context.log)
    destination_text = _destination_text(steps.destination, steps.tag, report.digest)
    report = replace(report, source=str(steps.source), destination=destination_text)
    document = report.to_json()
    message = (
        f"mirror: {report.destination} is up to date ({report.digest})"
        if report.up_to_date
        else f"mirror: copied {report.source} -> {report.destination} ({report.digest}): "
        f"{report.manifests_copied} manifest(s), {report.blobs_copied} blob(s) "
        f"({report.bytes_copied} bytes), {report.blobs_mounted} mounted, "
        f"{report.referrers_copied}/{report.referrers_total} referrer(s) in {report.seconds:.2f}s"
    )
    return Outcome(
        exit_code=EXIT_OK,
        document=document,
        outputs={
            "digest": report.digest,
            "referrers_copied": str(report.referrers_copied),
            "up_to_date": "true" if report.up_to_date else "false",
        },
        summary=render_summary(report),
        messages=(message,),
    )


def _destination_text(ref: TargetReference, tag: str | None, digest: str) -> str:
    base = ref.name
    return f"{base}:{tag}" if tag else f"{base}@{digest}"


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _referrer_rows(referrers: tuple[ReferrerInfo, ...]) -> list[list[str]]:
    return [
        [
            md_text(r.kind),
            md_code(r.artifact_type or r.media_type),
            ", ".join(md_code(p) for p in r.predicate_types) or "",
            md_code(r.digest[:19]) + (f" ({md_code(r.tag)})" if r.tag else ""),
            "copied" if r.copied else "present",
        ]
        for r in referrers
    ]


def render_summary(report: CopyReport) -> str:
    """The step summary: what was copied, per platform, with each referrer's types (all escaped)."""
    state = "up to date" if report.up_to_date else "copied"
    lines = [
        f"### image-gate mirror: {state}\n",
        f"{md_code(report.source)} → {md_code(report.destination)}\n",
        f"Digest {md_code(report.digest)} ({md_code(report.media_type)})"
        + (" — a platform-filtered index" if report.filtered else "")
        + "\n",
    ]
    lines.append(
        md_table(
            [
                "Manifests copied",
                "Manifests present",
                "Blobs copied",
                "Blobs mounted",
                "Blobs present",
                "Bytes",
                "Referrers",
                "Seconds",
            ],
            [
                [
                    str(report.manifests_copied),
                    str(report.manifests_skipped),
                    str(report.blobs_copied),
                    str(report.blobs_mounted),
                    str(report.blobs_skipped),
                    _size(report.bytes_copied),
                    f"{report.referrers_copied} copied / {report.referrers_total}",
                    f"{report.seconds:.2f}",
                ]
            ],
        )
    )
    lines.append(
        md_table(
            ["Platform", "Manifest", "Layers", "Size", "Referrers"],
            [
                [md_code(p.platform), md_code(p.digest), str(p.layers), _size(p.size), str(len(p.referrers))]
                for p in report.graph
            ],
        )
    )
    headers = ["Kind", "Artifact type", "Predicate types", "Digest", "State"]
    for entry in report.graph:
        if entry.referrers:
            lines.append(
                md_details(
                    f"{md_text(entry.platform)}: {len(entry.referrers)} referrer(s)",
                    md_table(headers, _referrer_rows(entry.referrers)),
                )
            )
    if report.root_referrers:
        lines.append(
            md_details(
                f"the index: {len(report.root_referrers)} referrer(s)",
                md_table(headers, _referrer_rows(report.root_referrers)),
            )
        )
    return "\n".join(lines)
