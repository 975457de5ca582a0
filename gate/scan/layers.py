"""``--sbom-fallback layers``: a platform without an SBOM is inventoried from its layers.

For each such platform, our own client copies that one platform manifest (config and layers, every
blob verified against its digest as it streams to disk, never whole in memory) into a private
temporary OCI layout; ``trivy image --input LAYOUT --format cyclonedx`` writes its inventory
(``gate.scanners.trivy.TrivyScanner.inventory``: no vulnerability database needed, no registry
access, so registry credentials never reach Trivy); the chosen scanner then scans that SBOM like
an attested one. One platform per layout, because Trivy ignores ``--platform`` with ``--input``.
While Trivy reads one platform's layout, the next platform's layers are copied (one copy ahead).

Each layout is removed as soon as Trivy has read it, and whatever is left when the fallback ends,
on every exit: an error, Ctrl-C (``KeyboardInterrupt``), or SIGTERM, which ``LayerFallback`` turns
into ``SystemExit(143)`` while it is on (only when the default handler was in place). A copy still
running then stops at its next chunk before the layouts are removed.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Literal

from gate.attest.lookup import FoundSbom, PlatformSbom
from gate.attest.unwrap import Attestation
from gate.errors import InputError, RuntimeFailure
from gate.files import read_capped
from gate.oci.blobs import VerifyingStream
from gate.oci.copy import CopyOptions, copy_image
from gate.oci.layout import LayoutTarget
from gate.oci.manifest import parse
from gate.oci.target import Descriptor, Target
from gate.outcome import ignore
from gate.sbom.bom import MAX_BOM_BYTES, BomDocument, read_bom
from gate.sbom.predicates import CYCLONEDX_PREDICATE
from gate.scanners.trivy import TrivyOptions, TrivyScanner

LAYERS_SOURCE: Literal["layers"] = "layers"
"""``sbom_source`` of a platform inventoried from its layers (JSON row, SARIF ``sbomSource``)."""
MAX_LAYER_BYTES = 16 * 1024**3
"""Cap on one platform's layers (compressed, as the manifest declares them) copied to disk."""
LAYOUT_TAG = "scan"

Log = Callable[[str], None]


@dataclass(frozen=True)
class LayerBom:
    """One platform's inventory from its layers: the SBOM Trivy wrote, and what was copied for it."""

    entry: PlatformSbom
    """The lookup's entry with Trivy's SBOM as its one SBOM, found as ``layers`` (a raw document, unsigned)."""
    bom: BomDocument
    layers: int
    layer_bytes: int


@dataclass(frozen=True)
class _Copied:
    """A platform's layers in their private layout."""

    private: Path
    layout: Path
    layers: int
    layer_bytes: int


class _Cancelled(RuntimeFailure):
    """A copy stopped because the fallback ended (an error or an interrupt elsewhere)."""


class LayerFallback:
    """Inventories platforms from their layers, each in its own private layout under ``workdir``.

    ``platforms`` (the lookup's entries, in scan order) lets it copy the next platform without SBOM
    while Trivy reads the current one. A context manager: on exit every layout it made is removed
    (and SIGTERM is restored)."""

    def __init__(
        self,
        target: Target,
        workdir: Path,
        *,
        enabled: bool,
        trivy_options: Mapping[str, Any] | None = None,
        platforms: Sequence[PlatformSbom] = (),
        concurrency: int = 4,
        log: Log = ignore,
    ) -> None:
        self.target = target
        self.workdir = workdir
        self.enabled = enabled
        self.trivy = TrivyScanner(TrivyOptions.from_mapping(_inventory_options(trivy_options or {})))
        self.platforms = tuple(platforms)
        self.concurrency = concurrency
        self.log = log
        self._layouts: set[Path] = set()
        self._copies: dict[str, Future[_Copied]] = {}
        self._ahead: ThreadPoolExecutor | None = None
        self._stop = threading.Event()
        self._previous_handler: Any = None
        self._installed = False

    def __enter__(self) -> LayerFallback:
        if self.enabled and threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGTERM)
            if previous == signal.SIG_DFL:
                signal.signal(signal.SIGTERM, _terminate)
                self._previous_handler, self._installed = previous, True
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            self._stop.set()
            if self._ahead is not None:
                self._ahead.shutdown(wait=True, cancel_futures=True)
            for private in list(self._layouts):
                self._remove(private)
        finally:
            if self._installed:
                signal.signal(signal.SIGTERM, self._previous_handler)
                self._installed = False

    def inventory(self, entry: PlatformSbom, number: int) -> LayerBom | None:
        """The SBOM of ``entry``'s layers when the fallback is on and the entry has no SBOM; else None."""
        if not self.enabled or entry.sbom is not None:
            return None
        copy = self._copies.pop(entry.digest, None)
        copied = copy.result() if copy is not None else self._copy(entry)
        try:
            self._copy_ahead(entry)
            output = copied.private / "sbom.cdx.json"
            what = f"trivy image --input (the layers of {entry.platform} {entry.digest})"
            self.trivy.inventory(copied.layout, output, what)
            data = read_capped(output, MAX_BOM_BYTES, f"the SBOM trivy wrote of {entry.platform}")
            bom = read_bom(data, f"trivy's inventory of {entry.platform} ({entry.digest})")
        finally:
            self._remove(copied.private)
        if bom.format != "cyclonedx":
            raise RuntimeFailure(f"trivy's inventory of {entry.platform} is {bom.format}, not CycloneDX")
        document = Attestation(CYCLONEDX_PREDICATE, (), bom.document, "raw", source=bom.source)
        found = FoundSbom(document, LAYERS_SOURCE, attestation_digest="", layer_digest="")
        return LayerBom(replace(entry, sboms=(found,)), bom, copied.layers, copied.layer_bytes)

    def _copy_ahead(self, current: PlatformSbom) -> None:
        """Start copying the next platform without SBOM (after ``current``), unless it is under way."""
        later = [e for e in self.platforms[self._index(current) + 1 :] if e.sbom is None]
        if not later or later[0].digest in self._copies:
            return
        if self._ahead is None:
            self._ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gate-layers")
        self._copies[later[0].digest] = self._ahead.submit(self._copy, later[0])

    def _index(self, entry: PlatformSbom) -> int:
        for index, known in enumerate(self.platforms):
            if known.digest == entry.digest:
                return index
        return len(self.platforms)

    def _copy(self, entry: PlatformSbom) -> _Copied:
        """Copy ``entry``'s manifest, config and layers into a new private layout (0700)."""
        manifest = self.target.fetch_manifest(entry.digest)
        parsed = parse(manifest, f"{self.target.display_name}@{entry.digest}")
        if parsed.is_index or parsed.config is None or not parsed.layers:
            raise InputError(
                f"{entry.platform} ({entry.digest}): not an image manifest with layers; nothing to inventory"
            )
        size = sum(layer.size for layer in parsed.layers)
        if size > MAX_LAYER_BYTES:
            raise InputError(
                f"{entry.platform} ({entry.digest}): {size} bytes of layers, more than the {MAX_LAYER_BYTES} "
                "bytes image-gate copies to inventory an image without SBOM"
            )
        reason = entry.reason_missing or "no SBOM attestation"
        self.log(
            f"scan: {entry.platform} ({entry.digest}): no SBOM ({reason}); copying its {len(parsed.layers)} "
            f"layer(s), {size} bytes, for trivy to inventory (--sbom-fallback layers)"
        )
        private = Path(tempfile.mkdtemp(prefix="layers-", dir=self.workdir))
        self._layouts.add(private)
        try:
            layout = LayoutTarget(private / "image", create=True)
            source = _Stoppable(self.target, self._stop)
            options = CopyOptions(concurrency=self.concurrency)
            copy_image(source, entry.digest, layout, LAYOUT_TAG, options, log=self.log)  # type: ignore[arg-type]
        except BaseException:
            self._remove(private)
            raise
        return _Copied(private, layout.path, len(parsed.layers), size)

    def _remove(self, private: Path) -> None:
        shutil.rmtree(private, ignore_errors=True)
        self._layouts.discard(private)


class _Stoppable:
    """The source target, whose blob streams stop (``_Cancelled``) once ``stop`` is set."""

    def __init__(self, target: Target, stop: threading.Event) -> None:
        self._target = target
        self._stop = stop

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    @property
    def display_name(self) -> str:
        return self._target.display_name

    def open_blob(self, descriptor: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        return self._open_blob(descriptor)

    @contextmanager
    def _open_blob(self, descriptor: Descriptor) -> Iterator[Iterator[bytes]]:
        with self._target.open_blob(descriptor) as chunks:
            if isinstance(chunks, VerifyingStream):
                yield _StoppableStream(chunks, self._stop)
            else:
                yield _stoppable(chunks, descriptor, self._stop)


class _StoppableStream(VerifyingStream):
    """A source's own verifying stream, stopped once ``stop`` is set; still trusted by the layout's
    write as verifying itself (so the layers are hashed once, not twice)."""

    def __init__(self, inner: VerifyingStream, stop: threading.Event) -> None:
        super().__init__(inner.descriptor)
        self._inner = inner
        self._stop = stop

    @property  # type: ignore[override]
    def verified(self) -> bool:
        return self._inner.verified

    @verified.setter
    def verified(self, value: bool) -> None:
        """Set by the base class only; the inner stream's is the one that counts."""

    def checks(self, descriptor: Descriptor) -> bool:
        return self._inner.checks(descriptor)

    def __next__(self) -> bytes:
        if self._stop.is_set():
            raise _Cancelled(f"copy of {self.descriptor.digest} stopped: the scan ended")
        return next(self._inner)

    def close(self) -> None:
        self._inner.close()


def _stoppable(chunks: Iterator[bytes], descriptor: Descriptor, stop: threading.Event) -> Iterator[bytes]:
    for chunk in chunks:
        if stop.is_set():
            raise _Cancelled(f"copy of {descriptor.digest} stopped: the scan ended")
        yield chunk


def _inventory_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The Trivy options that matter to an inventory (no vulnerability database is read)."""
    kept = ("executable", "timeout_seconds", "java_db_repositories", "skip_java_db_update", "offline_scan", "cache_dir")
    return {key: value for key, value in options.items() if key in kept}


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
