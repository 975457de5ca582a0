"""Local files: reading one of bounded size, and writing one so that nobody sees it half-written.

``read_capped(path, limit, what)`` returns at most ``limit`` bytes or raises an ``InputError`` naming the
file, what it is (``what``: "the Docker config", "the SARIF file"...) and the problem. By default only a
regular file is read, and it is opened without blocking so a FIFO or a device there cannot hang the run
or fill the memory; ``follow_symlinks=False`` refuses a final symbolic link.

``write_atomic(path, data)`` (``atomic_writer(path)`` for a stream) writes a private temporary file in
the same directory, flushes it to disk, gives it its mode (and owner, when asked) and renames it over
``path``: a reader sees the old file or the whole new one, a symbolic link at ``path`` is replaced (not
followed), and an error or an interrupt leaves nothing behind. ``before_replace`` runs right before
the rename: raising there abandons the write (``pin`` checks that the file is still what it read).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from gate.errors import InputError

_MIB = 1024 * 1024


class MissingFile(InputError):
    """The file does not exist (callers for which absence is normal catch this one)."""


class FileTooLarge(InputError):
    """The file holds more than the cap."""


def read_capped(
    path: str | Path, limit: int, what: str, *, follow_symlinks: bool = True, regular_only: bool = True
) -> bytes:
    """The content of ``path`` (at most ``limit`` bytes), else an ``InputError`` naming it as ``what``.

    ``regular_only=False`` also reads a pipe or a device (``--sarif <(...)``, ``/dev/stdin``), still capped.
    """
    fd = open_checked(path, what, follow_symlinks=follow_symlinks, regular_only=regular_only)
    size = os.fstat(fd).st_size
    try:
        handle = os.fdopen(fd, "rb")
    except OSError as exc:  # a directory, when any file is accepted
        os.close(fd)
        raise InputError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    with handle:
        if regular_only and size > limit:
            raise FileTooLarge(f"{path}: {what} is larger than {_size(limit)}; refusing to read it")
        try:
            # A regular file is read in one exact buffer; more than its size means it grew meanwhile.
            want = min(size, limit) + 1 if regular_only else limit + 1
            data = handle.read(want)
            if len(data) == want and want <= limit:
                data += handle.read(limit + 1 - want)
        except OSError as exc:
            raise InputError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise FileTooLarge(f"{path}: {what} is larger than {_size(limit)}; refusing to read it")
    return data


def read_capped_text(
    path: str | Path,
    limit: int,
    what: str,
    *,
    follow_symlinks: bool = True,
    regular_only: bool = True,
    strip_bom: bool = False,
) -> str:
    """``read_capped`` decoded as UTF-8 (``strip_bom``: a leading byte order mark is dropped)."""
    data = read_capped(path, limit, what, follow_symlinks=follow_symlinks, regular_only=regular_only)
    try:
        return data.decode("utf-8-sig" if strip_bom else "utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: {what} is not UTF-8 text (byte {exc.start})") from None


def open_checked(path: str | Path, what: str, *, follow_symlinks: bool = True, regular_only: bool = True) -> int:
    """A read-only descriptor of ``path`` under the rules of ``read_capped``; the caller closes it."""
    flags = os.O_RDONLY | os.O_CLOEXEC
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    if regular_only:
        flags |= os.O_NONBLOCK  # no effect on a regular file; a FIFO opens at once and is refused below
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise MissingFile(f"{path}: cannot read {what}: no such file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow_symlinks and os.path.islink(path):
            raise InputError(f"{path}: {what} is a symbolic link, which is not followed here") from None
        raise InputError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if regular_only and not stat.S_ISREG(mode):
        os.close(fd)
        raise InputError(f"{path}: {what} is not a regular file (it is {_kind(mode)})")
    return fd


@contextmanager
def atomic_writer(
    path: str | Path,
    *,
    mode: int = 0o644,
    owner: tuple[int, int] | None = None,
    before_replace: Callable[[], None] | None = None,
) -> Iterator[BinaryIO]:
    """A binary stream that becomes ``path`` (with ``mode``) when the block ends without an error.

    The temporary file is ``.<name>.<random>.tmp`` beside ``path``, mode 0600 until it is complete;
    ``owner`` (uid, gid) is given to it before the rename, and ``before_replace`` is called right
    before the rename (an exception there abandons the write). ``OSError`` propagates for the caller
    to name what it was writing.
    """
    target = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    renamed = False
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            if owner is not None:
                os.fchown(handle.fileno(), *owner)
            os.fchmod(handle.fileno(), mode)
        if before_replace is not None:
            before_replace()
        os.replace(temporary, target)
        renamed = True
    finally:
        if not renamed:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def write_atomic(
    path: str | Path,
    data: bytes,
    *,
    mode: int = 0o644,
    owner: tuple[int, int] | None = None,
    before_replace: Callable[[], None] | None = None,
) -> None:
    """``data`` to ``path`` through ``atomic_writer``: all of it or, on any error, nothing."""
    with atomic_writer(path, mode=mode, owner=owner, before_replace=before_replace) as handle:
        handle.write(data)


def _size(limit: int) -> str:
    return f"{limit // _MIB} MiB" if limit >= _MIB and limit % _MIB == 0 else f"{limit} bytes"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"
