"""The destination the copies of a multi-tag mirror share: each manifest written once (again only to set a
tag), never two writers of one manifest or one subject's referrers at once, and a manifest being pushed
is held for whoever asks meanwhile. Checked over a real OCI layout, watched by a wrapper that records
overlapping writes."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from gate.mirror.shared_destination import DestinationLedger, SharedDestination
from gate.oci.layout import LayoutTarget
from gate.oci.manifest import parse
from gate.oci.target import Descriptor, Manifest, Platform, PushResult
from tests.oci.builders import SBOM_TYPE, push_image, referrer_manifest


class Watched:
    """A target that counts its writes and notes any two writes of one key at once."""

    def __init__(self, inner: LayoutTarget) -> None:
        self.inner = inner
        self.pushes: Counter[tuple[str, str | None]] = Counter()
        self.links: Counter[str] = Counter()
        self.overlaps: list[str] = []
        self._writing: set[str] = set()
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _write(self, key: str) -> None:
        with self._lock:
            if key in self._writing:
                self.overlaps.append(key)
            self._writing.add(key)
        time.sleep(0.02)  # long enough for a second writer to arrive
        with self._lock:
            self._writing.discard(key)

    def push_manifest(self, manifest: Manifest, tag: str | None = None) -> PushResult:
        self._write(manifest.descriptor.digest)
        with self._lock:
            self.pushes[(manifest.descriptor.digest, tag)] += 1
        return self.inner.push_manifest(manifest, tag)

    def add_referrers(self, subject: Descriptor, referrers: list[Manifest]) -> set[str]:
        self._write(subject.digest)
        with self._lock:
            self.links[subject.digest] += 1
        for referrer in referrers:
            self.inner.add_referrer(subject, referrer)
        return {referrer.descriptor.digest for referrer in referrers}


def _shared(tmp_path: Path) -> tuple[Watched, SharedDestination, Manifest]:
    source = LayoutTarget(tmp_path / "source", create=True)
    image = push_image(source, Platform("linux", "amd64"))
    destination = LayoutTarget(tmp_path / "destination", create=True)
    for blob in parse(image).blobs:  # the image's blobs are in place, its manifest is not
        destination.push_blob(blob, partial(source.open_blob, blob))
    watched = Watched(destination)
    assert not watched.has_manifest(image.descriptor.digest)
    return watched, SharedDestination(watched, DestinationLedger()), image  # type: ignore[arg-type]


def test_one_manifest_pushed_by_many_copies_is_written_once_and_in_turn(tmp_path: Path) -> None:
    watched, shared, image = _shared(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: shared.push_manifest(image), range(8)))
        list(pool.map(lambda n: shared.push_manifest(image, f"tag-{n % 3}"), range(6)))
    assert watched.pushes[(image.descriptor.digest, None)] == 1  # the untagged pushes after the first: skipped
    assert [watched.pushes[(image.descriptor.digest, f"tag-{n}")] for n in range(3)] == [2, 2, 2]  # a tag: pushed
    assert watched.overlaps == []
    assert shared.has_manifest(image.descriptor.digest)


def test_a_manifest_being_pushed_is_held_for_whoever_asks(tmp_path: Path) -> None:
    watched, shared, image = _shared(tmp_path)
    with ThreadPoolExecutor(2) as pool:
        pushing = pool.submit(shared.push_manifest, image)
        time.sleep(0.005)  # the push has its turn and sleeps in the watched target
        asked = pool.submit(shared.has_manifest, image.descriptor.digest)
        assert asked.result() is True and pushing.result().digest == image.descriptor.digest
    assert watched.pushes[(image.descriptor.digest, None)] == 1


def test_a_manifest_found_by_one_copy_is_not_pushed_by_another(tmp_path: Path) -> None:
    watched, shared, image = _shared(tmp_path)
    watched.inner.push_manifest(image)  # written before the run
    assert shared.has_manifest(image.descriptor.digest)
    shared.push_manifest(image)
    assert watched.pushes[(image.descriptor.digest, None)] == 0


def test_the_referrer_links_of_one_subject_take_turns(tmp_path: Path) -> None:
    watched, shared, image = _shared(tmp_path)
    shared.push_manifest(image)
    sboms = [referrer_manifest(watched.inner, image, SBOM_TYPE, f'{{"n":{n}}}'.encode()) for n in range(6)]
    for referrer in sboms:
        shared.push_manifest(referrer)
    add_referrers = shared.add_referrers  # the wrapped target's, taken in turn
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda referrer: add_referrers(image.descriptor, [referrer]), sboms))
    assert watched.links[image.descriptor.digest] == 6 and watched.overlaps == []
    listed = {d.digest for d in watched.inner.referrers(image.descriptor.digest)}
    assert listed == {referrer.descriptor.digest for referrer in sboms}


def test_add_referrers_is_only_offered_when_the_destination_has_it(tmp_path: Path) -> None:
    shared = SharedDestination(LayoutTarget(tmp_path / "layout", create=True), DestinationLedger())
    assert getattr(shared, "add_referrers", None) is None  # the copy engine then links one by one
