"""The mirror history: what was mirrored into a repository, in the seed system's format, so that a
digest once mirrored (then promoted and deleted from quarantine) is not mirrored and scanned again.

An OCI artifact under the tag ``mirror-history`` of the destination repository: artifact type, config
and layer media type ``application/vnd.toddysm.mirror-history.v1+json``; the layer is the document
``{schemaVersion: 1, image, source, entries: [{sourceTag, sourceDigest, destTag, syncedAt, runUrl,
runId, runAttempt, force}]}``, oldest first, looked up by (sourceTag, sourceDigest); the config is a
summary ``{schemaVersion, image, source, count, updated}``. Fields this module does not know are kept.

An update is a read-modify-write of the tag, with the protection of the referrers fallback index
(``gate.oci.referrers``): serialised per repository in this process, the tag re-read just before the
push (an update made meanwhile restarts the merge), read back after it (and once more a moment later)
to catch another writer's lost update, retried. At most ``MAX_HISTORY_ENTRIES`` entries: the oldest go.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from gate.errors import InputError
from gate.mirror.selection import HISTORY_TAG
from gate.oci.blobs import bytes_source
from gate.oci.http import BadRequest, Denied, RegistryFailure
from gate.oci.manifest import parse
from gate.oci.reference import compute_digest, descriptor_to_json
from gate.oci.target import OCI_MANIFEST, Descriptor, Manifest, Target, read_blob
from gate.outcome import ignore

HISTORY_MEDIA_TYPE = "application/vnd.toddysm.mirror-history.v1+json"
HISTORY_FILE = "mirror-history.json"
TITLE = "org.opencontainers.image.title"
COUNT_ANNOTATION = "com.toddysm.mirror-history.count"
UPDATED_ANNOTATION = "com.toddysm.mirror-history.updated"
MAX_HISTORY_ENTRIES = 10_000
MAX_HISTORY_BYTES = 16 * 1024 * 1024
HISTORY_UPDATE_ATTEMPTS = 10
SETTLE_SECONDS = 0.1  # the second read-back: another writer's push that was in flight lands by then

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class HistoryEntry:
    """One mirrored (source tag, source digest)."""

    source_tag: str
    source_digest: str
    dest_tag: str
    synced_at: str
    run_url: str = ""
    run_id: str = ""
    run_attempt: str = ""
    force: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "sourceTag": self.source_tag,
            "sourceDigest": self.source_digest,
            "destTag": self.dest_tag,
            "syncedAt": self.synced_at,
            "runUrl": self.run_url,
            "runId": self.run_id,
            "runAttempt": self.run_attempt,
            "force": self.force,
        }


@dataclass(frozen=True)
class History:
    """A history as read: the document (entries as stored) and the manifest it came from (None: no history)."""

    document: Mapping[str, Any]
    digest: str | None

    @property
    def entries(self) -> list[Mapping[str, Any]]:
        entries = self.document.get("entries")
        return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []

    @cached_property
    def _mirrored(self) -> frozenset[tuple[object, object]]:
        return frozenset((e.get("sourceTag"), e.get("sourceDigest")) for e in self.entries)

    def contains(self, source_tag: str, source_digest: str) -> bool:
        """Whether (``source_tag``, ``source_digest``) was mirrored already."""
        return (source_tag, source_digest) in self._mirrored


@dataclass(frozen=True)
class HistoryUpdate:
    """What an update did: entries added, the count after it, the oldest dropped by the cap, the new digest."""

    added: int
    count: int
    dropped: int
    digest: str
    attempts: int

    def to_json(self) -> dict[str, Any]:
        return {"added": self.added, "count": self.count, "dropped": self.dropped, "digest": self.digest}


def read_history(target: Target) -> History:
    """The history of ``target`` (empty when it has none). Anything under the tag that is not a history
    in the seed format is a ``RegistryFailure``: it is never overwritten."""
    where = f"{target.display_name}:{HISTORY_TAG}"
    digest = _digest_now(target)
    if digest is None:
        return History({}, None)
    manifest = target.fetch_manifest(digest)
    not_history = RegistryFailure(
        f"{where} is not a mirror history ({HISTORY_MEDIA_TYPE}); nothing was read or recorded",
        hint="the tag mirror-history is reserved for the mirror history: move what is there to another tag",
    )
    try:
        parsed = parse(manifest, where)
    except InputError:
        raise not_history from None
    layer = next((d for d in parsed.layers if d.media_type == HISTORY_MEDIA_TYPE), None)
    if parsed.media_type != OCI_MANIFEST or parsed.effective_artifact_type != HISTORY_MEDIA_TYPE or layer is None:
        raise not_history
    if layer.size > MAX_HISTORY_BYTES:
        raise RegistryFailure(f"{where}: the history is {layer.size} bytes, over the {MAX_HISTORY_BYTES} byte cap")
    data = read_blob(target, layer, MAX_HISTORY_BYTES)
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RegistryFailure(f"{where}: the history is not JSON; nothing was recorded") from None
    if not isinstance(document, dict) or not isinstance(document.get("entries", []), list):
        raise RegistryFailure(f"{where}: the history is not an object with an entries list; nothing was recorded")
    if document.get("schemaVersion", 1) != 1:
        raise RegistryFailure(
            f"{where}: history schemaVersion {document.get('schemaVersion')!r} is not understood (1 is); "
            "nothing was recorded"
        )
    return History(document, manifest.descriptor.digest)


def record(
    target: Target,
    entries: Sequence[HistoryEntry],
    *,
    image: str,
    source: str,
    now: str,
    log: Callable[[str], None] = ignore,
) -> HistoryUpdate:
    """Append ``entries`` to the history of ``target`` (read-modify-write, see the module docstring)."""
    wanted = [entry.to_json() for entry in entries][-MAX_HISTORY_ENTRIES:]
    where = f"{target.display_name}:{HISTORY_TAG}"
    with _lock(target.display_name):
        for attempt in range(1, HISTORY_UPDATE_ATTEMPTS + 1):
            current = read_history(target)
            document, added, dropped = _merged(current, wanted, image=image, source=source)
            manifest = _push_content(target, document, image=image, source=source, now=now)
            if _digest_now(target) != current.digest:
                log(f"{where}: changed while being updated; merging again ({attempt})")
                time.sleep(random.uniform(0, 0.05) * attempt)
                continue
            try:
                target.push_manifest(manifest, HISTORY_TAG)
            except (BadRequest, RegistryFailure) as exc:  # a writer's blob just linked may not read back yet
                log(f"{where}: the update was refused ({exc.message}); retry {attempt}")
                time.sleep(random.uniform(0.05, 0.2) * attempt)
                continue
            if _holds(target, wanted):
                time.sleep(SETTLE_SECONDS)
                if _holds(target, wanted):
                    if dropped:
                        log(
                            f"{where}: {dropped} oldest entr{'y' if dropped == 1 else 'ies'} dropped "
                            f"(at most {MAX_HISTORY_ENTRIES} are kept)"
                        )
                    count = len(document["entries"])
                    return HistoryUpdate(added, count, dropped, manifest.descriptor.digest, attempt)
            log(f"{where}: another writer replaced the history; retry {attempt}")
            time.sleep(random.uniform(0.05, 0.2) * attempt)
    raise RegistryFailure(
        f"cannot record in {where}: other writers kept replacing the history ({HISTORY_UPDATE_ATTEMPTS} attempts)"
    )


def _lock(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


def _merged(
    current: History, wanted: list[dict[str, Any]], *, image: str, source: str
) -> tuple[dict[str, Any], int, int]:
    """The new document: the current one (unknown fields kept) with the wanted entries it lacks appended,
    capped; with how many were added and how many oldest were dropped."""
    entries: list[Any] = list(current.entries)
    held = {_key(entry) for entry in entries}
    missing = [entry for entry in wanted if _key(entry) not in held]
    entries += missing
    dropped = max(0, len(entries) - MAX_HISTORY_ENTRIES)
    document = {**current.document, "schemaVersion": 1, "image": image, "source": source, "entries": entries[dropped:]}
    return document, len(missing), dropped


def _push_content(target: Target, document: Mapping[str, Any], *, image: str, source: str, now: str) -> Manifest:
    """Push the layer and config blobs of ``document``; the manifest is returned, not pushed."""
    count = len(document["entries"])
    layer_data = (json.dumps(document, indent=2) + "\n").encode()
    config_data = json.dumps(
        {"schemaVersion": 1, "image": image, "source": source, "count": count, "updated": now}, indent=2
    ).encode()
    layer = _push_blob(target, layer_data)
    config = _push_blob(target, config_data)
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": HISTORY_MEDIA_TYPE,
        "config": descriptor_to_json(config),
        "layers": [{**descriptor_to_json(layer), "annotations": {TITLE: HISTORY_FILE}}],
        "annotations": {TITLE: HISTORY_FILE, COUNT_ANNOTATION: str(count), UPDATED_ANNOTATION: now},
    }
    data = json.dumps(body, indent=2).encode()
    return Manifest(Descriptor(OCI_MANIFEST, compute_digest(data), len(data)), data)


def _push_blob(target: Target, data: bytes) -> Descriptor:
    descriptor = Descriptor(HISTORY_MEDIA_TYPE, compute_digest(data), len(data))
    target.push_blob(descriptor, bytes_source(data))
    return descriptor


def _digest_now(target: Target) -> str | None:
    try:
        return target.resolve(HISTORY_TAG).digest
    except (Denied, BadRequest):
        raise
    except InputError:
        return None


def _holds(target: Target, wanted: list[dict[str, Any]]) -> bool:
    held = {_key(entry) for entry in read_history(target).entries}
    return all(_key(entry) in held for entry in wanted)


def _key(entry: Mapping[str, Any]) -> str:
    """An entry as comparable text (every field: two runs' entries of one tag and digest differ by time)."""
    return json.dumps(entry, sort_keys=True)
