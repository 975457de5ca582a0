"""The mirror command's stage: copy one image, or every matching tag of a repository, and keep the
records of the acquisition (the mirror history, acquisition provenance).

For each tag: with ``history`` the source digest is resolved first and a (tag, digest) the destination's
history holds is skipped (``skipped: history``) unless ``force``; else the image is copied (by that
digest, so what is recorded is what was copied); with ``provenance`` the statements are attached; the
history gets one entry per tag copied or found up to date, in one update at the end of the run.

Several tags (``tags``: a pattern over the source repository's tags) are copied at once, at most
``concurrency`` at a time, through one registry pool; a blob the tags share is transferred once
(``gate.mirror.shared_destination``). A tag that fails does not stop the others: its result says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from gate.errors import GateError, InputError
from gate.mirror.history import HistoryEntry, HistoryUpdate, read_history, record
from gate.mirror.provenance import Acquisition, ProvenanceRecord, attach_provenance
from gate.mirror.run_info import RunInfo, utc_timestamp
from gate.mirror.selection import TagSelection, compile_pattern, select_tags
from gate.mirror.shared_destination import DestinationLedger, SharedDestination
from gate.mirror.stage import (
    MirrorPlan,
    MirrorRequest,
    Targets,
    check_pinned_destination,
    copy_options,
    destination_text,
    open_targets,
)
from gate.oci.copy import CopyOptions, CopyReport, copy_image
from gate.oci.open import registry_pool
from gate.oci.pool import RegistryPool
from gate.oci.reference import ImageReference, TargetReference
from gate.oci.target import Target
from gate.outcome import ignore

if TYPE_CHECKING:
    from gate.promote.signing import SigningKey

State = Literal["copied", "up to date", "skipped", "failed"]


@dataclass(frozen=True)
class Keeping:
    """The records a mirror keeps (provenance signed with ``signing_key`` when given), and whether the
    history may skip a copy."""

    provenance: bool = False
    history: bool = False
    force: bool = False
    signing_key: SigningKey | None = None


@dataclass(frozen=True)
class TagPatterns:
    """Which tags of the source repository to mirror (``--tags``, ``--exclude``)."""

    include: str
    exclude: str = ""


@dataclass(frozen=True)
class AcquireRequest:
    """A mirror (``request``: references, access, what to copy), the records to keep, and, to mirror
    several tags of a repository, which."""

    mirror: MirrorRequest
    keeping: Keeping = Keeping()
    tags: TagPatterns | None = None


@dataclass(frozen=True)
class TagResult:
    """What happened to one image: copied, up to date, skipped by the history, or failed."""

    source: str
    destination: str
    tag: str | None
    source_digest: str | None
    report: CopyReport | None
    skipped: str | None = None
    provenance: tuple[ProvenanceRecord, ...] = ()
    entry: HistoryEntry | None = None
    error: GateError | None = None

    @property
    def state(self) -> State:
        if self.error is not None:
            return "failed"
        if self.skipped is not None:
            return "skipped"
        return "up to date" if self.report is not None and self.report.up_to_date else "copied"

    @property
    def digest(self) -> str | None:
        """The destination digest (the source's when nothing was copied)."""
        return self.report.digest if self.report is not None else self.source_digest

    def to_json(self) -> dict[str, Any]:
        report = self.report or _nothing_copied(self.source, self.destination, self.source_digest or "")
        return {
            **report.to_json(),
            "tag": self.tag,
            "source_digest": self.source_digest,
            "state": self.state,
            "skipped": self.skipped,
            "provenance": [item.to_json() for item in self.provenance],
            "error": None if self.error is None else {"message": self.error.message, "exit_code": self.error.exit_code},
        }


@dataclass(frozen=True)
class MirrorRun:
    """A mirror command's run: one result per image, the tag selection (several tags), the history update."""

    source: str
    destination: str
    results: tuple[TagResult, ...]
    selection: TagSelection | None = None
    listed: int = 0
    history: HistoryUpdate | None = None
    history_checked: bool = False
    ledger: DestinationLedger | None = None


def acquire(
    request: AcquireRequest,
    *,
    environ: Mapping[str, str],
    mask: Callable[[str], None] = ignore,
    log: Callable[[str], None] = ignore,
) -> MirrorRun:
    """Mirror the image (or the tags) of ``request`` and keep its records (see the module docstring)."""
    steps = request.mirror.plan
    keeping = request.keeping
    if keeping.history and request.tags is None and steps.source.tag is None:
        raise InputError(
            f"--history / input history needs a source tag: the history is kept by source tag and digest, "
            f"and {steps.source} has none"
        )
    patterns = request.tags
    include = compile_pattern(patterns.include, "--tags / input tags") if patterns else None
    exclude = compile_pattern(patterns.exclude, "--exclude / input exclude") if patterns else None
    with registry_pool(request.mirror.access, environ=environ, mask=mask, log=log) as pool:
        targets = open_targets(steps, pool)
        history = read_history(targets.destination) if keeping.history else None
        copier = _Copier(request, targets, pool, environ, log, history_held=history.contains if history else None)
        if patterns is None:
            check_pinned_destination(steps, targets.source)
            log(f"mirror: {steps.source} -> {steps.destination}")
            results: tuple[TagResult, ...] = (copier.one(steps.source, steps.tag, targets.destination, log),)
            selection, listed, ledger = None, 0, None
        else:
            listing = targets.source.list_tags()
            selection = select_tags(listing, include, exclude)
            listed = len(listing)
            log(f"mirror: {len(selection.kept)} of {listed} tag(s) of {steps.source.name} -> {steps.destination.name}")
            ledger = DestinationLedger()
            results = copier.many(selection.kept, SharedDestination(targets.destination, ledger))
        entries = [result.entry for result in results if result.entry is not None]
        update = None
        if history is not None and entries:
            update = record(
                targets.destination,
                entries,
                image=steps.destination.name,
                source=steps.source.name,
                now=utc_timestamp(),
                log=log,
            )
    return MirrorRun(
        steps.source.name if patterns else str(steps.source),
        steps.destination.name if patterns else results[0].destination,
        results,
        selection,
        listed,
        update,
        history is not None,
        ledger,
    )


def _nothing_copied(source: str, destination: str, digest: str) -> CopyReport:
    return CopyReport(source, destination, digest, "", (), 0, 0, 0, 0, 0, 0, 0, 0, False, 0.0)


class _Copier:
    """Copies one image after another (or several at once) with the records of each."""

    def __init__(
        self,
        request: AcquireRequest,
        targets: Targets,
        pool: RegistryPool,
        environ: Mapping[str, str],
        log: Callable[[str], None],
        history_held: Callable[[str, str], bool] | None,
    ) -> None:
        self.steps: MirrorPlan = request.mirror.plan
        self.keeping = request.keeping
        self.targets = targets
        self.options: CopyOptions = copy_options(request.mirror, targets)
        self.run = RunInfo.from_environ(environ)
        self.history_held = history_held
        self.concurrency = request.mirror.access.concurrency
        self.log = log
        source = self.steps.source
        self.source_authenticated = (
            isinstance(source, ImageReference) and pool.credentials.get(source.registry) is not None
        )

    def many(self, tags: tuple[str, ...], destination: Target) -> tuple[TagResult, ...]:
        def one(tag: str) -> TagResult:
            source = _with_tag(self.steps.source, tag)
            try:
                return self.one(source, tag, destination, lambda line: self.log(f"[{tag}] {line}"))
            except GateError as exc:
                self.log(f"[{tag}] error: {exc.message}")
                shown = f"{self.steps.destination.name}:{tag}"
                return TagResult(str(source), shown, tag, None, None, error=exc)

        if not tags:
            return ()
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(tags)), thread_name_prefix="gate-tag") as pool:
            return tuple(pool.map(one, tags))

    def one(
        self, source: TargetReference, tag: str | None, destination: Target, log: Callable[[str], None]
    ) -> TagResult:
        keeping = self.keeping
        shown_source = str(source)
        reference = source.reference
        source_digest: str | None = None
        if keeping.history or keeping.provenance:
            source_digest = source.digest or self.targets.source.resolve(reference).digest
            reference = source_digest
        source_tag = source.tag or ""
        dest_tag = tag or ""
        held = self.history_held
        if not keeping.force and held is not None and source_digest is not None and held(source_tag, source_digest):
            log(f"mirror: {source_tag}@{source_digest} is in the history of {self.steps.destination.name}; skipped")
            shown = destination_text(self.steps.destination, tag, source_digest)
            return TagResult(shown_source, shown, source.tag, source_digest, None, skipped="history")
        report = copy_image(self.targets.source, reference, destination, tag, self.options, log=log)
        if source_digest is None and not report.filtered:
            source_digest = report.digest  # a copy of every platform is digest-identical
        shown_destination = destination_text(self.steps.destination, tag, report.digest)
        report = replace(report, source=shown_source, destination=shown_destination)
        provenance: tuple[ProvenanceRecord, ...] = ()
        if keeping.provenance and source_digest is not None:
            provenance = attach_provenance(
                destination,
                report.digest,
                self._acquisition(source, source_digest, shown_destination, report.digest),
                signing_key=keeping.signing_key,
                log=log,
            )
        entry = None
        if keeping.history and source_digest is not None:
            entry = HistoryEntry(
                source_tag,
                source_digest,
                dest_tag,
                utc_timestamp(),
                self.run.run_url,
                self.run.run_id,
                self.run.run_attempt,
                keeping.force,
            )
        return TagResult(shown_source, shown_destination, source.tag, source_digest, report, None, provenance, entry)

    def _acquisition(self, source: TargetReference, source_digest: str, destination: str, digest: str) -> Acquisition:
        registry, repository = (
            (source.registry, source.repository) if isinstance(source, ImageReference) else ("", str(source.path))
        )
        reference = f"{source.name}:{source.tag}" if source.tag else f"{source.name}@{source_digest}"
        return Acquisition(
            source_reference=reference,
            source_registry=registry,
            source_repository=repository,
            source_tag=source.tag or "",
            source_digest=source_digest,
            image=self.steps.destination.name,
            destination_reference=destination,
            destination_digest=digest,
            acquired_at=utc_timestamp(),
            run=self.run,
            copy_referrers=self.options.copy_referrers,
            source_authenticated=self.source_authenticated,
        )


def _with_tag(reference: TargetReference, tag: str) -> TargetReference:
    return replace(reference, tag=tag, digest=None)
