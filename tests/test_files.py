"""gate.files: capped reads of local files, and what they refuse; atomic writes, and what they leave."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import EXIT_INPUT, InputError
from gate.files import (
    FileTooLarge,
    MissingFile,
    atomic_writer,
    open_checked,
    read_capped,
    read_capped_text,
    write_atomic,
)

MIB = 1024 * 1024


@contextmanager
def fifo_writer(path: Path, data: bytes) -> Iterator[None]:
    """A FIFO at ``path`` that a thread fills with ``data`` once a reader opens it."""
    os.mkfifo(path)

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), path.open("wb") as handle:  # the reader may stop at its cap
            handle.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    yield
    thread.join()


def test_a_file_at_the_cap_is_read_and_one_byte_more_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(b"x" * 100)
    assert read_capped(path, 100, "the thing") == b"x" * 100
    path.write_bytes(b"x" * 101)
    with pytest.raises(FileTooLarge, match=rf"^{path}: the thing is larger than 100 bytes; refusing") as caught:
        read_capped(path, 100, "the thing")
    assert caught.value.exit_code == EXIT_INPUT


def test_the_cap_is_named_in_mib_when_it_is_whole_mebibytes(tmp_path: Path) -> None:
    path = tmp_path / "big.sarif"
    with path.open("wb") as handle:
        handle.truncate(MIB + 1)  # sparse: refused by its size before any read
    with pytest.raises(FileTooLarge, match=rf"^{path}: the SARIF file is larger than 1 MiB"):
        read_capped(path, MIB, "the SARIF file")


def test_an_empty_file_is_empty(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    assert read_capped(tmp_path / "empty", 10, "the thing") == b""
    assert read_capped_text(tmp_path / "empty", 10, "the thing") == ""


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    os.mkfifo(path)  # a blocking open would wait for a writer forever
    with pytest.raises(InputError, match=rf"^{path}: the Docker config is not a regular file \(it is a FIFO\)"):
        read_capped(path, 100, "the Docker config")


def test_a_pipe_is_read_when_regular_files_are_not_required(tmp_path: Path) -> None:
    path = tmp_path / "scan.sarif"  # as --sarif <(trivy ...) passes it
    with fifo_writer(path, b"{}" * 1000):
        assert read_capped(path, 2000, "the SARIF file", regular_only=False) == b"{}" * 1000


def test_a_pipe_is_capped_too(tmp_path: Path) -> None:
    path = tmp_path / "scan.sarif"
    with fifo_writer(path, b"x" * 200_000), pytest.raises(FileTooLarge, match="larger than 100000 bytes"):
        read_capped(path, 100_000, "the SARIF file", regular_only=False)


def test_an_endless_device_is_capped_or_refused() -> None:
    with pytest.raises(FileTooLarge, match=r"^/dev/zero: the verdict file is larger than 1 MiB"):
        read_capped("/dev/zero", MIB, "the verdict file", regular_only=False)
    with pytest.raises(InputError, match=r"^/dev/zero: the verdict file is not a regular file \(it is a device\)"):
        read_capped("/dev/zero", MIB, "the verdict file")


def test_a_symlink_is_refused_when_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_bytes(b"{}")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert read_capped(link, 10, "the OSV record") == b"{}"
    with pytest.raises(InputError, match=rf"^{link}: the OSV record is a symbolic link, which is not followed"):
        read_capped(link, 10, "the OSV record", follow_symlinks=False)
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "absent")
    with pytest.raises(InputError, match="symbolic link") as caught:
        read_capped(dangling, 10, "the OSV record", follow_symlinks=False)
    assert not isinstance(caught.value, MissingFile)
    with pytest.raises(MissingFile):
        read_capped(dangling, 10, "the OSV record")


def test_a_symlink_to_a_device_is_refused_when_followed(tmp_path: Path) -> None:
    link = tmp_path / "config.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputError, match="not a regular file"):
        read_capped(link, 10, "the Docker config")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=rf"^{tmp_path}: the exceptions file is not a regular file \(it is a dir"):
        read_capped(tmp_path, 10, "the exceptions file")
    with pytest.raises(InputError, match=rf"^{tmp_path}: cannot read the exceptions file: Is a directory"):
        read_capped(tmp_path, 10, "the exceptions file", regular_only=False)


def test_a_missing_file_is_its_own_input_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    for regular_only in (True, False):
        with pytest.raises(MissingFile, match=rf"^{path}: cannot read the exceptions file: no such file"):
            read_capped(path, 10, "the exceptions file", regular_only=regular_only)
    with pytest.raises(InputError, match="cannot read the exceptions file") as caught:
        read_capped(path / "below", 10, "the exceptions file")
    assert isinstance(caught.value, MissingFile)


def test_an_unreadable_path_is_an_input_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    path = tmp_path / "file" / "below"  # a file used as a directory: not "missing"
    with pytest.raises(InputError, match=rf"^{path}: cannot read the thing: Not a directory") as caught:
        read_capped(path, 10, "the thing")
    assert not isinstance(caught.value, MissingFile)


def test_text_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'{"\xff": 1}')
    with pytest.raises(InputError, match=rf"^{path}: the Docker config is not UTF-8 text \(byte 2\)"):
        read_capped_text(path, 100, "the Docker config")


def test_a_byte_order_mark_is_kept_or_stripped(tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yml"
    path.write_bytes(b"\xef\xbb\xbfexceptions: []\n")
    assert read_capped_text(path, 100, "the exceptions file") == "\ufeffexceptions: []\n"
    assert read_capped_text(path, 100, "the exceptions file", strip_bom=True) == "exceptions: []\n"


def test_open_checked_gives_a_descriptor_of_a_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "db.zip"
    path.write_bytes(b"PK")
    fd = open_checked(path, "the OSV database", follow_symlinks=False)
    try:
        assert os.read(fd, 10) == b"PK"
    finally:
        os.close(fd)


@given(content=st.binary(max_size=300), limit=st.integers(min_value=0, max_value=300))
def test_content_is_returned_whole_exactly_when_it_fits(content: bytes, limit: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f"
        path.write_bytes(content)
        if len(content) <= limit:
            assert read_capped(path, limit, "the thing") == content
            assert read_capped(path, limit, "the thing", regular_only=False) == content
        else:
            with pytest.raises(FileTooLarge):
                read_capped(path, limit, "the thing")
            with pytest.raises(FileTooLarge):
                read_capped(path, limit, "the thing", regular_only=False)


def test_write_atomic_replaces_the_file_whole_with_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_bytes(b"old")
    path.chmod(0o600)
    write_atomic(path, b"new content")
    assert path.read_bytes() == b"new content"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    write_atomic(path, b"private", mode=0o600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_write_atomic_replaces_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"untouched")
    link = tmp_path / "out.json"
    link.symlink_to(victim)
    write_atomic(link, b"ours")
    assert victim.read_bytes() == b"untouched"
    assert not link.is_symlink() and link.read_bytes() == b"ours"


def test_atomic_writer_is_private_while_written_and_leaves_nothing_on_an_error(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"previous")
    previous = os.umask(0o022)
    try:
        with pytest.raises(RuntimeError), atomic_writer(path) as handle:
            handle.write(b"half")
            (temporary,) = [p for p in tmp_path.iterdir() if p.name != "blob"]
            assert temporary.name.startswith(".blob.") and temporary.name.endswith(".tmp")
            assert stat.S_IMODE(temporary.stat().st_mode) == 0o600
            raise RuntimeError("interrupted")
    finally:
        os.umask(previous)
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["blob"]


def test_write_atomic_into_a_missing_directory_is_an_os_error_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "absent" / "out.json", b"x")
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_abandons_the_write_when_the_check_before_the_rename_raises(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"old")
    seen: list[bytes] = []

    def refuse() -> None:
        (temporary,) = [p for p in tmp_path.iterdir() if p.name != "file"]
        seen.append(temporary.read_bytes())  # complete and synced when the check runs
        raise InputError("changed meanwhile")

    with pytest.raises(InputError, match="changed meanwhile"):
        write_atomic(path, b"new", before_replace=refuse)
    assert seen == [b"new"]
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_write_atomic_gives_the_file_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "file"
    owner = (os.getuid(), os.getgid())
    write_atomic(path, b"x", mode=0o640, owner=owner, before_replace=lambda: None)
    status = path.stat()
    assert (status.st_uid, status.st_gid) == owner and stat.S_IMODE(status.st_mode) == 0o640
