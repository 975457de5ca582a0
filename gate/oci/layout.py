"""An OCI image layout directory (``oci:PATH[:tag]``) as a ``Target``.

``oci-layout``, ``index.json`` (tags are ``org.opencontainers.image.ref.name``
annotations), ``blobs/<alg>/<hex>``. Every file is written to a temporary name in the
same directory and renamed into place (``gate.files.atomic_writer``), blobs only after
their digest and size were verified while writing, so a reader never sees half a blob or
half an index. A read-modify-write of ``index.json`` holds a lock on the layout directory
itself, so nothing (no lock file) is left behind.

Referrers: every manifest pushed with a ``subject`` gets an untagged ``index.json``
entry (so it is reachable); ``referrers()`` finds them by reading the subjects of
``index.json`` entries, and also honours a ``sha256-<hex>`` referrers tag index, the
form regctl writes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Generator, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from gate.errors import InputError, RuntimeFailure
from gate.files import FileTooLarge, MissingFile, atomic_writer, read_capped, write_atomic
from gate.oci.blobs import VerifyingStream
from gate.oci.manifest import REF_NAME, parse_manifest, verify_manifest_bytes
from gate.oci.reference import (
    descriptor_to_json,
    fallback_tag,
    is_valid_digest,
    parse_descriptor,
    split_digest,
)
from gate.oci.target import (
    ALL_MANIFEST_TYPES,
    CHUNK_SIZE,
    INDEX_TYPES,
    MAX_MANIFEST_BYTES,
    OCI_INDEX,
    BlobSource,
    Descriptor,
    DigestMismatch,
    Manifest,
    PushResult,
)

LAYOUT_VERSION = "1.0.0"
MAX_INDEX_BYTES = 64 * 1024 * 1024
FILE_MODE = 0o644
DIR_MODE = 0o755
_MANIFEST_LIKE = ALL_MANIFEST_TYPES | {"application/vnd.oci.artifact.manifest.v1+json"}


class LayoutTarget:
    """An OCI image layout directory. ``create=True`` makes it when absent (a destination)."""

    def __init__(self, path: Path | str, *, create: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._subjects: dict[str, str | None] = {}
        layout_file = self.path / "oci-layout"
        if not layout_file.is_file():
            if not create:
                raise InputError(f"oci:{self.path}: not an OCI image layout (no oci-layout file)")
            try:
                _make_dirs(self.path / "blobs")
                write_atomic(layout_file, json.dumps({"imageLayoutVersion": LAYOUT_VERSION}).encode(), mode=FILE_MODE)
                if not (self.path / "index.json").exists():
                    self._write_index({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
            except OSError as exc:
                raise RuntimeFailure(f"oci:{self.path}: cannot create the image layout: {exc.strerror}") from None
        else:
            try:
                version = json.loads(layout_file.read_bytes()).get("imageLayoutVersion")
            except (OSError, ValueError, AttributeError):
                version = None
            if not isinstance(version, str) or not version.startswith("1."):
                raise InputError(f"oci:{self.path}: unsupported oci-layout file (imageLayoutVersion {version!r})")

    @property
    def display_name(self) -> str:
        return f"oci:{self.path}"

    # reading

    def resolve(self, reference: str) -> Descriptor:
        if is_valid_digest(reference):
            for entry in self._entries():
                if entry.digest == reference:
                    return entry
            data = self._read_manifest_file(reference)
            parsed = parse_manifest(data, where=f"{self.display_name}@{reference}")
            return Descriptor(parsed.media_type, reference, len(data))
        matches = [entry for entry in self._entries() if entry.annotations.get(REF_NAME) == reference]
        if not matches:
            raise InputError(f"{self.display_name}: no image tagged {reference!r} in index.json")
        return matches[-1]

    def fetch_manifest(self, reference: str) -> Manifest:
        descriptor = self.resolve(reference)
        data = self._read_manifest_file(descriptor.digest)
        parsed = parse_manifest(data, descriptor.media_type, where=f"{self.display_name}@{descriptor.digest}")
        clean = Descriptor(
            parsed.media_type, descriptor.digest, len(data), artifact_type=parsed.effective_artifact_type
        )
        return Manifest(clean, data)

    def has_manifest(self, digest: str) -> bool:
        return self._blob_path(digest).is_file()

    def has_blob(self, digest: str) -> bool:
        return self._blob_path(digest).is_file()

    def open_blob(self, descriptor: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        return self._open_blob(descriptor)

    @contextmanager
    def _open_blob(self, descriptor: Descriptor) -> Iterator[Iterator[bytes]]:
        path = self._blob_path(descriptor.digest)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise InputError(f"{self.display_name}: blob {descriptor.digest} is missing") from None
        with handle:
            stream = VerifyingStream(descriptor)
            stream.start(_verified_chunks(handle, descriptor, self.display_name, stream))
            try:
                yield stream
            finally:
                stream.close()

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        found: dict[str, Descriptor] = {}
        for entry in self._entries():
            if entry.media_type not in _MANIFEST_LIKE or entry.digest in found:
                continue
            if self._subject_of(entry.digest) == digest:
                found[entry.digest] = self._referrer_descriptor(entry)
        tag = fallback_tag(digest)
        for entry in self._entries():
            if entry.annotations.get(REF_NAME) != tag or entry.media_type not in INDEX_TYPES:
                continue
            data = self._read_manifest_file(entry.digest)
            for child in parse_manifest(data, entry.media_type, where=f"{self.display_name}:{tag}").manifests:
                found.setdefault(child.digest, child)
        result = list(found.values())
        if artifact_type is not None:
            result = [d for d in result if d.artifact_type == artifact_type]
        return result

    def list_tags(self) -> list[str]:
        tags = [entry.annotations[REF_NAME] for entry in self._entries() if REF_NAME in entry.annotations]
        return sorted(set(tags))

    # writing

    def push_blob(self, descriptor: Descriptor, source: BlobSource) -> None:
        path = self._blob_path(descriptor.digest)
        if path.is_file():
            return
        algorithm, _ = split_digest(descriptor.digest)
        _make_dirs(path.parent)
        with atomic_writer(path, mode=FILE_MODE) as handle:
            hasher = hashlib.new(algorithm)
            size = 0
            with source() as chunks:
                # A stream that verifies this very descriptor itself is not hashed twice.
                trusted = isinstance(chunks, VerifyingStream) and chunks.checks(descriptor)
                for chunk in chunks:
                    size += len(chunk)
                    if size > descriptor.size:
                        raise DigestMismatch(
                            f"{self.display_name}: blob {descriptor.digest} is larger than its descriptor's "
                            f"{descriptor.size} bytes; not stored"
                        )
                    if not trusted:
                        hasher.update(chunk)
                    handle.write(chunk)
                verified = trusted and isinstance(chunks, VerifyingStream) and chunks.verified
            actual = descriptor.digest if verified else f"{algorithm}:{hasher.hexdigest()}"
            if size != descriptor.size or actual != descriptor.digest or (trusted and not verified):
                raise DigestMismatch(
                    f"{self.display_name}: blob content is {actual} ({size} bytes), expected "
                    f"{descriptor.digest} ({descriptor.size} bytes); not stored"
                )

    def mount_blob(self, descriptor: Descriptor, from_repository: str) -> bool:
        return False

    def push_manifest(self, manifest: Manifest, tag: str | None = None) -> PushResult:
        descriptor = manifest.descriptor
        verify_manifest_bytes(manifest.data, descriptor.digest, self.display_name)
        parsed = parse_manifest(manifest.data, descriptor.media_type, where=f"{self.display_name}@{descriptor.digest}")
        for child in (*parsed.manifests, *parsed.blobs):
            if not self._blob_path(child.digest).is_file():
                raise RuntimeFailure(
                    f"{self.display_name}: refusing manifest {descriptor.digest}: it points to {child.digest}, "
                    "which is not in the layout"
                )
        path = self._blob_path(descriptor.digest)
        if not path.is_file():
            _make_dirs(path.parent)
            write_atomic(path, manifest.data, mode=FILE_MODE)
        if tag is not None:
            self._tag(descriptor, parsed.media_type, tag)
        return PushResult(descriptor.digest, subject_supported=True)

    def add_referrer(self, subject: Descriptor, referrer: Manifest) -> None:
        parsed = parse_manifest(referrer.data, referrer.descriptor.media_type, where=referrer.descriptor.digest)
        if parsed.subject is None or parsed.subject.digest != subject.digest:
            raise InputError(
                f"{self.display_name}: {referrer.descriptor.digest} does not name {subject.digest} as its subject"
            )
        if not self.has_manifest(referrer.descriptor.digest):
            raise RuntimeFailure(f"{self.display_name}: referrer {referrer.descriptor.digest} was not pushed first")
        entry = Descriptor(
            parsed.media_type,
            referrer.descriptor.digest,
            len(referrer.data),
            annotations=dict(parsed.annotations),
            artifact_type=parsed.effective_artifact_type,
        )
        with self._locked_index() as index:
            manifests = index.setdefault("manifests", [])
            if any(m.get("digest") == entry.digest and REF_NAME not in (m.get("annotations") or {}) for m in manifests):
                return
            manifests.append(descriptor_to_json(entry))

    def delete_tag(self, tag: str) -> None:
        with self._locked_index() as index:
            manifests = index.get("manifests") or []
            kept = [m for m in manifests if (m.get("annotations") or {}).get(REF_NAME) != tag]
            if len(kept) == len(manifests):
                raise InputError(f"{self.display_name}: no tag {tag!r} to delete")
            index["manifests"] = kept

    # internals

    def _tag(self, descriptor: Descriptor, media_type: str, tag: str) -> None:
        entry = Descriptor(media_type, descriptor.digest, descriptor.size, annotations={REF_NAME: tag})
        with self._locked_index() as index:
            manifests = [m for m in index.get("manifests") or [] if (m.get("annotations") or {}).get(REF_NAME) != tag]
            manifests.append(descriptor_to_json(entry))
            index["manifests"] = manifests

    def _blob_path(self, digest: str) -> Path:
        try:
            algorithm, hexpart = split_digest(digest)
        except InputError as exc:
            raise InputError(f"{self.display_name}: {exc.message}") from None
        return self.path / "blobs" / algorithm / hexpart

    def _read_manifest_file(self, digest: str) -> bytes:
        try:
            data = read_capped(self._blob_path(digest), MAX_MANIFEST_BYTES, f"manifest {digest}")
        except MissingFile:
            raise InputError(f"{self.display_name}: manifest {digest} is not in the layout") from None
        except FileTooLarge as exc:  # content that cannot match its digest's descriptor: not to be trusted
            raise DigestMismatch(f"{self.display_name}: {exc.message}") from None
        verify_manifest_bytes(data, digest, self.display_name)
        return data

    def _subject_of(self, digest: str) -> str | None:
        if digest not in self._subjects:
            try:
                parsed = parse_manifest(self._read_manifest_file(digest), where=f"{self.display_name}@{digest}")
            except InputError:
                self._subjects[digest] = None
            else:
                self._subjects[digest] = parsed.subject.digest if parsed.subject else None
        return self._subjects[digest]

    def _referrer_descriptor(self, entry: Descriptor) -> Descriptor:
        if entry.artifact_type is not None:
            return entry
        parsed = parse_manifest(self._read_manifest_file(entry.digest), entry.media_type, where=entry.digest)
        return Descriptor(
            entry.media_type,
            entry.digest,
            entry.size,
            annotations=dict(parsed.annotations),
            artifact_type=parsed.effective_artifact_type,
        )

    def _read_index(self) -> dict[str, Any]:
        try:
            document = json.loads(read_capped(self.path / "index.json", MAX_INDEX_BYTES, "the layout's index.json"))
        except MissingFile:
            return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        except (ValueError, RecursionError) as exc:
            raise InputError(
                f"{self.display_name}: index.json is not readable JSON ({exc.__class__.__name__})"
            ) from None
        if not isinstance(document, dict) or not isinstance(document.get("manifests", []), list):
            raise InputError(f"{self.display_name}: index.json is not an image index")
        return document

    def _entries(self) -> list[Descriptor]:
        document = self._read_index()
        return [
            parse_descriptor(item, f"{self.display_name}: index.json manifests[{i}]")
            for i, item in enumerate(document.get("manifests") or [])
        ]

    def _write_index(self, document: dict[str, Any]) -> None:
        write_atomic(self.path / "index.json", json.dumps(document, indent=2).encode(), mode=FILE_MODE)

    def _open_directory(self) -> int:
        """The layout directory, opened to hold its lock (a lock file would be left behind, and
        could be a planted symlink: we may run as root in a directory another user owns)."""
        try:
            return os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise RuntimeFailure(
                f"{self.display_name}: cannot open the layout directory to lock it: {exc.strerror}"
            ) from None

    @contextmanager
    def _locked_index(self) -> Iterator[dict[str, Any]]:
        """Read-modify-write of index.json, serialised across threads and processes."""
        with self._lock:
            directory = self._open_directory()
            try:
                fcntl.flock(directory, fcntl.LOCK_EX)
                document = self._read_index()
                document.setdefault("schemaVersion", 2)
                document.setdefault("mediaType", OCI_INDEX)
                yield document
                self._write_index(document)
            finally:
                os.close(directory)  # releases the lock


def _verified_chunks(
    handle: Any, descriptor: Descriptor, where: str, stream: VerifyingStream
) -> Generator[bytes, None, None]:
    """The file's chunks; ``stream.verified`` is set once digest and size matched (an upload of
    this stream then does not hash the bytes a second time)."""
    algorithm, _ = split_digest(descriptor.digest)
    hasher = hashlib.new(algorithm)
    size = 0
    while True:
        chunk = handle.read(CHUNK_SIZE)
        if not chunk:
            break
        size += len(chunk)
        if size > descriptor.size:
            raise DigestMismatch(
                f"{where}: blob {descriptor.digest} is larger than its descriptor's {descriptor.size} bytes"
            )
        hasher.update(chunk)
        yield chunk
    actual = f"{algorithm}:{hasher.hexdigest()}"
    if size != descriptor.size or actual != descriptor.digest:
        raise DigestMismatch(
            f"{where}: blob content is {actual} ({size} bytes), expected {descriptor.digest} ({descriptor.size} bytes)"
        )
    stream.verified = True


def _make_dirs(path: Path) -> None:
    """``mkdir -p`` whose new directories are 0755 whatever the umask."""
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        os.chmod(directory, DIR_MODE)
