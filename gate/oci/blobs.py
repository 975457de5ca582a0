"""Blobs in a registry repository: check, stream (verified as it arrives), upload, mount.

A download resumes a broken or stalled stream with ``Range`` and checks digest and size before
it ends (a ``VerifyingStream``). An upload is one ``PUT`` of a sized body, or ``PATCH`` chunks
when the registry asks for them (413/416, ``OCI-Chunk-Min-Length``), and the last bytes are held
back until the source's digest is verified, so a registry never receives a complete body with
the wrong content; a failed attempt re-opens the source and tries again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager

from gate.errors import GateError
from gate.oci.auth import repository_scope
from gate.oci.connections import NETWORK_ERRORS, Answer
from gate.oci.http import (
    AnswerTooSlow,
    Denied,
    ReadClock,
    RegistryFailure,
    Unreachable,
    blob_read_budget,
    describe_answer,
    raise_for_answer,
    timed_chunks,
)
from gate.oci.reference import digest_hasher, split_digest
from gate.oci.repository import RepositoryClient
from gate.oci.target import CHUNK_SIZE, BlobSource, Descriptor, DigestMismatch

DEFAULT_UPLOAD_CHUNK = 8 * 1024 * 1024
MAX_UPLOAD_CHUNK = 64 * 1024 * 1024
ABSENT_MEMO_SECONDS = 60.0
_BROKEN = NETWORK_ERRORS


class VerifyingStream(Iterator[bytes]):
    """A blob's chunks whose producer (a registry download, a layout file) checks the digest and
    size itself, before it ends; ``verified`` says it did. The upload of a GET -> PUT copy trusts
    such a stream of the same descriptor instead of hashing every byte a second time."""

    def __init__(self, descriptor: Descriptor) -> None:
        self.descriptor = descriptor
        self.verified = False
        self._chunks: Generator[bytes, None, None] | None = None

    def start(self, chunks: Generator[bytes, None, None]) -> None:
        self._chunks = chunks

    def checks(self, descriptor: Descriptor) -> bool:
        """True when this stream verifies exactly ``descriptor`` (digest and size) itself."""
        return self.descriptor.digest == descriptor.digest and self.descriptor.size == descriptor.size

    def __next__(self) -> bytes:
        if self._chunks is None:
            raise StopIteration
        return next(self._chunks)

    def close(self) -> None:
        if self._chunks is not None:
            self._chunks.close()


def verified(chunks: Iterable[bytes], descriptor: Descriptor) -> Iterator[bytes]:
    """Pass chunks through, holding the last one back until size and digest are verified. The
    bytes are hashed here unless they come from a stream that verifies this very descriptor
    itself (then the last chunk waits until that stream has ended, that is, verified)."""
    if isinstance(chunks, VerifyingStream) and chunks.checks(descriptor):
        yield from _held_until_verified(chunks, descriptor)
        return
    hasher = digest_hasher(descriptor.digest)
    size = 0
    held: bytes | None = None
    for chunk in chunks:
        if not chunk:
            continue
        size += len(chunk)
        if size > descriptor.size:
            raise DigestMismatch(f"blob {descriptor.digest}: the source has more than {descriptor.size} bytes")
        hasher.update(chunk)
        if held is not None:
            yield held
        held = chunk
    if size != descriptor.size:
        raise DigestMismatch(f"blob {descriptor.digest}: the source has {size} bytes, expected {descriptor.size}")
    actual = f"{descriptor.digest.partition(':')[0]}:{hasher.hexdigest()}"
    if actual != descriptor.digest:
        raise DigestMismatch(f"blob {descriptor.digest}: the source bytes hash to {actual}")
    if held is not None:
        yield held


def _held_until_verified(stream: VerifyingStream, descriptor: Descriptor) -> Iterator[bytes]:
    size = 0
    held: bytes | None = None
    for chunk in stream:
        if not chunk:
            continue
        size += len(chunk)
        if held is not None:
            yield held
        held = chunk
    if not stream.verified or size != descriptor.size:
        raise DigestMismatch(f"blob {descriptor.digest}: the source stream ended at {size} bytes without verifying")
    if held is not None:
        yield held


def bytes_source(data: bytes) -> BlobSource:
    """A ``BlobSource`` of bytes held in memory."""

    @contextmanager
    def opener() -> Iterator[Iterator[bytes]]:
        yield iter([data])

    return opener


class _SizedStream:
    """An upload body of known length: requests sends ``Content-Length`` instead of chunked encoding."""

    def __init__(self, chunks: Iterator[bytes], length: int) -> None:
        self._chunks = chunks
        self._length = length

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


class _Background:
    """``start`` (an upload's POST) run on its own thread; ``result()`` waits for it and raises its error."""

    def __init__(self, start: Callable[[], tuple[str, int | None]]) -> None:
        self._start = start
        self._result: tuple[str, int | None] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="gate-upload-start", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._result = self._start()
        except BaseException as exc:  # handed to the caller's thread by result()
            self._error = exc

    def result(self) -> tuple[str, int | None]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def location(self) -> str | None:
        """The upload's location once the POST has ended (None when it failed): what a failed attempt cancels."""
        self._thread.join()
        return self._result[0] if self._result is not None else None


class _ReadAhead(Iterator[bytes]):
    """``chunks`` with their first item read at once (the source's request sent, its first bytes in);
    an error reading it is raised at the first ``next``, so the caller can settle other work first."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._first: bytes | None = None
        self._error: Exception | None = None
        self._ended = False
        try:
            self._first = next(chunks)
        except StopIteration:
            self._ended = True
        except Exception as exc:  # raised where the chunks are consumed, as without the read-ahead
            self._error = exc

    def __next__(self) -> bytes:
        if self._error is not None:
            error, self._error = self._error, None
            self._ended = True
            raise error
        if self._first is not None:
            first, self._first = self._first, None
            return first
        if self._ended:
            raise StopIteration
        return next(self._chunks)


class _Retryable(Exception):
    """An upload attempt failed in a way a fresh attempt (re-reading the source) may fix."""

    def __init__(self, error: GateError) -> None:
        super().__init__(error.message)
        self.error = error


def _raise_retryable(response: Answer, what: str, registry: str) -> None:
    try:
        raise_for_answer(response, what, registry)
    except (RegistryFailure, Denied) as exc:
        if isinstance(exc, RegistryFailure) or response.status_code == 401:
            raise _Retryable(exc) from exc
        raise


class Blobs:
    """The blobs of one repository. ``force_chunked_upload`` (bytes) always uploads in chunks."""

    def __init__(self, client: RepositoryClient, *, force_chunked_upload: int | None = None) -> None:
        self.client = client
        self.force_chunked_upload = force_chunked_upload
        self._absent: dict[str, float] = {}  # digest -> when ``exists`` found it absent

    def exists(self, digest: str) -> bool:
        present = self.client.exists("blobs", digest, None)
        if not present:
            self._absent[digest] = time.monotonic()
        return present

    def open(self, descriptor: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        return self._open(descriptor)

    @contextmanager
    def _open(self, descriptor: Descriptor) -> Iterator[Iterator[bytes]]:
        stream = VerifyingStream(descriptor)
        stream.start(self._chunks(descriptor, stream))
        try:
            yield stream
        finally:
            stream.close()

    def _chunks(self, descriptor: Descriptor, stream: VerifyingStream) -> Generator[bytes, None, None]:
        """GET the blob; on a broken or short stream resume with ``Range`` (or skip what we have).
        Sets ``stream.verified`` once the digest and size have been checked."""
        client = self.client
        hasher = digest_hasher(descriptor.digest)
        where = client.where(descriptor.digest)
        what = f"fetch blob {where}"
        offset = 0
        breaks = 0
        http = client.host.http
        # The stall guard (each chunk within the read timeout) and the budget (the whole blob)
        # count only time spent waiting for the registry, across resumed attempts.
        clock = ReadClock(blob_read_budget(descriptor.size, http.read_deadline), http.timeout[1])
        while True:
            # Blobs are stored compressed already: no transfer gzip to undo (and hash) on top.
            headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={offset}-"} if offset else {})}
            response = client.send(
                "GET", client.url("blobs", descriptor.digest), headers=headers, stream=True,
                transient_not_found=True, what=what,
            )  # fmt: skip
            try:
                if response.status_code not in (200, 206) or (response.status_code == 206 and not offset):
                    client.fail(response, what)
                skip = offset if response.status_code == 200 else 0
                if response.status_code == 206 and not response.headers.get("Content-Range", "").startswith(
                    f"bytes {offset}-"
                ):
                    raise RegistryFailure(f"{what}: the registry answered a range that does not start at {offset}")
                for chunk in timed_chunks(response, CHUNK_SIZE, clock, what):
                    if skip:
                        if len(chunk) <= skip:
                            skip -= len(chunk)
                            continue
                        chunk = chunk[skip:]
                        skip = 0
                    if offset + len(chunk) > descriptor.size:
                        raise DigestMismatch(
                            f"blob {where}: the registry sent more than the expected {descriptor.size} bytes"
                        )
                    hasher.update(chunk)
                    offset += len(chunk)
                    yield chunk
            except _BROKEN as exc:
                breaks += 1
                if breaks >= client.retry.attempts:
                    raise Unreachable(
                        f"{what}: the download broke {breaks} times (last at byte {offset}: {type(exc).__name__})"
                    ) from exc
                client.log(f"{what}: the stream broke at byte {offset}; resuming")
                time.sleep(client.retry.backoff(breaks))
                continue
            except AnswerTooSlow as exc:
                breaks += 1
                if not exc.stalled or breaks >= client.retry.attempts:
                    raise
                client.log(f"{what}: the stream stalled at byte {offset}; resuming")
                time.sleep(client.retry.backoff(breaks))
                continue
            finally:
                response.close()
            if offset < descriptor.size:
                breaks += 1
                if breaks >= client.retry.attempts:
                    raise RegistryFailure(f"{what}: the registry sent {offset} of {descriptor.size} bytes")
                client.log(f"{what}: the body ended at byte {offset} of {descriptor.size}; resuming")
                time.sleep(client.retry.backoff(breaks))
                continue
            break
        actual = f"{descriptor.digest.partition(':')[0]}:{hasher.hexdigest()}"
        if actual != descriptor.digest:
            raise DigestMismatch(f"blob {where}: the bytes received hash to {actual}")
        stream.verified = True

    def push(self, descriptor: Descriptor, source: BlobSource) -> None:
        client = self.client
        split_digest(descriptor.digest)
        # Skip uploading present content, but not with a second HEAD when ``exists`` has just said
        # "absent" (the copy engine's order): at worst a blob pushed meanwhile is uploaded again.
        # The HEAD asks for the push scope already: one token serves the whole upload.
        checked = self._absent.pop(descriptor.digest, None)
        fresh = checked is not None and time.monotonic() - checked < ABSENT_MEMO_SECONDS
        if not fresh and client.exists("blobs", descriptor.digest, None, client.push_scopes()):
            return
        attempts = client.retry.attempts
        for attempt in range(1, attempts + 1):
            try:
                self._upload(descriptor, source)
                return
            except _Retryable as exc:
                if attempt == attempts:
                    raise exc.error from None
                client.log(
                    f"push blob {client.where(descriptor.digest)}: {exc.error.message}; retry {attempt}/{attempts - 1}"
                )
                time.sleep(client.retry.backoff(attempt))

    def _start_upload(self, what: str) -> tuple[str, int | None]:
        client = self.client
        response = client.send(
            "POST", client.url("blobs", "uploads") + "/", scopes=client.push_scopes(), data=b"", what=what
        )
        if response.status_code != 202:
            _raise_retryable(response, what, client.ref.registry)
        location = response.headers.get("Location")
        min_chunk = response.headers.get("OCI-Chunk-Min-Length", "")
        response.close()
        if not location:
            raise RegistryFailure(f"cannot {what}: {client.ref.registry} started an upload without a Location")
        return client.absolute(location), int(min_chunk) if min_chunk.isdigit() else None

    def _upload(self, descriptor: Descriptor, source: BlobSource) -> None:
        client = self.client
        what = f"push blob {client.where(descriptor.digest)}"
        # The POST that starts the upload is answered on a helper thread while the source's first
        # bytes are read here: one round trip less per blob. Its error, if any, still comes first.
        starting = _Background(lambda: self._start_upload(what))
        location: str | None = None
        committed = False
        try:
            with source() as chunks:
                checked = _ReadAhead(verified(chunks, descriptor))
                location, min_chunk = starting.result()
                chunk_size = self.force_chunked_upload or client.host.chunked_upload.get(client.repository)
                if min_chunk:
                    chunk_size = max(chunk_size or DEFAULT_UPLOAD_CHUNK, min(min_chunk, MAX_UPLOAD_CHUNK))
                if chunk_size:
                    location = self._patch_chunks(location, checked, chunk_size, what)
                    body: bytes | _SizedStream = b""
                else:
                    body = _SizedStream(checked, descriptor.size)
                try:
                    response = client.send(
                        "PUT", location, scopes=client.push_scopes(), params={"digest": descriptor.digest},
                        headers={"Content-Type": "application/octet-stream"}, data=body, what=what,
                    )  # fmt: skip
                except Unreachable as exc:
                    raise _Retryable(exc) from exc
                except _BROKEN as exc:
                    raise _Retryable(Unreachable(f"cannot {what}: the upload broke ({type(exc).__name__})")) from exc
            if response.status_code in (413, 416) and not chunk_size:
                response.close()
                client.host.chunked_upload[client.repository] = DEFAULT_UPLOAD_CHUNK
                raise _Retryable(RegistryFailure(f"cannot {what}: the registry wants a chunked upload"))
            if response.status_code != 201:
                _raise_retryable(response, what, client.ref.registry)
            response.close()
            committed = True
        finally:
            if not committed:
                if location is None:
                    location = starting.location()
                if location is not None:
                    self._cancel_upload(location)

    def _patch_chunks(self, location: str, chunks: Iterator[bytes], chunk_size: int, what: str) -> str:
        client = self.client
        offset = 0
        buffer = bytearray()

        def send(block: bytes) -> str:
            nonlocal offset
            end = offset + len(block) - 1
            try:
                response = client.send(
                    "PATCH", location, scopes=client.push_scopes(), data=block, what=what,
                    headers={"Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{end}"},
                )  # fmt: skip
            except Unreachable as exc:
                raise _Retryable(exc) from exc
            if response.status_code != 202:
                _raise_retryable(response, what, client.ref.registry)
            offset += len(block)
            following = response.headers.get("Location") or location
            response.close()
            return client.absolute(following)

        for chunk in chunks:
            buffer += chunk
            while len(buffer) >= chunk_size:
                location = send(bytes(buffer[:chunk_size]))
                del buffer[:chunk_size]
        if buffer:
            location = send(bytes(buffer))
        return location

    def _cancel_upload(self, location: str) -> None:
        client = self.client
        try:
            response = client.send("DELETE", location, scopes=client.push_scopes(), what="cancel an upload")
            response.close()
        except GateError:
            pass

    def mount(self, descriptor: Descriptor, from_repository: str) -> bool:
        """Cross-repository mount; False when the registry does not (the caller uploads)."""
        client = self.client
        split_digest(descriptor.digest)
        what = f"mount blob {descriptor.digest} from {from_repository} into {client.display_name}"
        scopes = client.push_scopes(repository_scope(from_repository, "pull"))
        response = client.send(
            "POST",
            client.url("blobs", "uploads") + "/",
            scopes=scopes,
            params={"mount": descriptor.digest, "from": from_repository},
            data=b"",
            what=what,
        )
        if response.status_code == 201:
            response.close()
            return True
        if response.status_code == 202:
            location = response.headers.get("Location")
            response.close()
            if location:
                self._cancel_upload(client.absolute(location))
            return False
        if response.status_code in (401, 403, 404):
            # No pull right on the source, or it is gone: not a mount, the caller uploads.
            client.log(f"{what}: not mounted ({describe_answer(response)})")
            response.close()
            return False
        client.fail(response, what)
