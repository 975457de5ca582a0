"""The pin stage: write the current digest of each tag into the production Dockerfiles.

``pin(request)`` reads the Dockerfiles as discover does (``gate.discover.production``), keeping the
bytes of each one (``gate.discover.pin.read_snapshot``); resolves, once each, the tags of the
unpinned references (with ``update``, of the pinned ones too) through one registry pool, HEAD only
(``gate.discover.outdated.check_outdated``); rewrites each production file
(``gate.discover.pin.pin_dockerfile``: no other byte changes) and, unless ``check``, replaces it
atomically (``write_pinned``). A file changed since it was read is not written: it is listed in
``conflicts`` and the others are still written. It prints nothing and exits nothing;
``gate.discover.pin_outcome`` makes the command's outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gate.discover.files import decode_dockerfile
from gate.discover.images import Found
from gate.discover.outdated import OutdatedReport, check_outdated
from gate.discover.pin import (
    Change,
    FileChanged,
    PinnedFile,
    Refusal,
    Snapshot,
    pin_dockerfile,
    read_snapshot,
    render_diff,
    write_pinned,
)
from gate.discover.production import Production, Selection, read_production
from gate.discover.resolve import RegistryResolver
from gate.oci.open import Access, registry_pool
from gate.outcome import ignore

Log = Callable[[str], None]


@dataclass(frozen=True)
class PinRequest:
    """Where to look and what is production (as discover), how to reach the registries, and the mode:
    ``update`` also moves pinned digests to their tag's current one; ``check`` writes nothing."""

    path: str = "."
    selection: Selection = field(default_factory=Selection)
    allow_empty: bool = False
    access: Access = field(default_factory=Access)
    update: bool = False
    check: bool = False


@dataclass(frozen=True)
class PinRun:
    """What the stage did: every production file before and after, which were written, which changed
    meanwhile (``conflicts``: the messages naming them), and why the run fails (no production file)."""

    request: PinRequest
    production: Production
    report: OutdatedReport
    files: tuple[PinnedFile, ...]
    written: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()

    @property
    def changed(self) -> tuple[PinnedFile, ...]:
        """The files that change (with ``check``: that would change)."""
        return tuple(pinned for pinned in self.files if pinned.changed)

    @property
    def changes(self) -> tuple[Change, ...]:
        return tuple(change for pinned in self.files for change in pinned.changes)

    @property
    def refused(self) -> tuple[Refusal, ...]:
        return tuple(refusal for pinned in self.files for refusal in pinned.refused)

    @property
    def diff(self) -> str:
        return render_diff(self.files)


def _needs_lookup(item: Found, update: bool) -> bool:
    ref = item.reference
    return ref is not None and (ref.digest is None or (update and ref.pinned))


def pin(
    request: PinRequest,
    *,
    log: Log = ignore,
    mask: Log = ignore,
    environ: Mapping[str, str] | None = None,
) -> PinRun:
    """The whole stage (see the module docstring)."""
    snapshots: dict[str, Snapshot] = {}

    def read(root: Path, name: str) -> str:
        snapshots[name] = read_snapshot(root, name)
        return decode_dockerfile(name, snapshots[name].data)

    production = read_production(Path(request.path), request.selection, read)
    empty = production.empty_failure(request.path, request.selection.marker)
    failures = (empty,) if empty is not None and not request.allow_empty else ()
    wanted = [item for item in production.found if _needs_lookup(item, request.update)]
    report = OutdatedReport((), {}, {})
    if wanted:
        with registry_pool(request.access, environ=environ or {}, mask=mask, log=log) as pool:
            resolver = RegistryResolver(pool, read_created=False)
            report = check_outdated(wanted, resolver, concurrency=request.access.concurrency, log=log)
    log(f"pin: {len(production.files)} production Dockerfile(s), {report.lookups} tag(s) looked up")
    build_args = dict(request.selection.build_args)
    files = tuple(
        pin_dockerfile(
            item.path,
            snapshots[item.path].data,
            report.digests,
            update=request.update,
            build_args=build_args,
            errors=report.errors,
        )
        for item in production.files
    )
    written: list[str] = []
    conflicts: list[str] = []
    if not request.check and not failures:
        for pinned in files:
            try:
                if write_pinned(snapshots[pinned.path], pinned):
                    written.append(pinned.path)
                    log(f"pin: wrote {pinned.path} ({len(pinned.changes)} reference(s) pinned)")
            except FileChanged as exc:
                conflicts.append(exc.message)
    return PinRun(request, production, report, files, tuple(written), tuple(conflicts), failures)
