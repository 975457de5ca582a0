"""The offline OSV database: directories, all.zip exports, lazy indexing, withdrawn records, URL cache."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.errors import InputError
from gate.scanners.osv.db import OsvDatabase, ZipLimits, cached_path, download
from tests.scanners.osv.conftest import RECORDS


def _zip_tree(root: Path) -> Path:
    """osv.dev's layout, <Ecosystem>/all.zip, built from the project's records."""
    for family_dir in RECORDS.iterdir():
        target = root / family_dir.name / "all.zip"
        target.parent.mkdir(parents=True)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for record in family_dir.glob("*.json"):
                archive.write(record, record.name)
    return root


def test_directory_of_records() -> None:
    db = OsvDatabase.open(str(RECORDS))
    ids = sorted(r["id"] for r in db.records_for("npm", "lodash"))
    assert ids == ["GHSA-29mw-wpgm-hmr9", "GHSA-35jh-r3h4-6jhm"]
    assert sorted(r["id"] for r in db.records_for("Alpine:v3.23", "openssl")) == [
        "ALPINE-CVE-2025-15467",
        "ALPINE-CVE-2025-9230",
    ]
    assert db.records_for("Alpine:v3.19", "openssl") == []  # another release
    assert db.records_for("PyPI", "lodash") == []


def test_per_ecosystem_zips_are_opened_only_when_needed(tmp_path: Path) -> None:
    db = OsvDatabase.open(str(_zip_tree(tmp_path / "db")))
    assert len(db.records_for("npm", "cross-spawn")) == 1
    assert db.record_files == len(list((RECORDS / "npm").glob("*.json")))  # Alpine/all.zip untouched
    assert len(db.records_for("Alpine:v3.23", "zlib")) == 2
    db.close()


def test_single_zip_and_single_file(tmp_path: Path) -> None:
    tree = _zip_tree(tmp_path / "db")
    assert len(OsvDatabase.open(str(tree / "npm" / "all.zip")).records_for("npm", "qs")) == 1
    one = RECORDS / "npm" / "GHSA-3xgq-45jj-v275.json"
    assert len(OsvDatabase.open(str(one)).records_for("npm", "cross-spawn")) == 1


def _npm_zip(target: Path, compression: int = zipfile.ZIP_DEFLATED, comment: bytes = b"") -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression) as archive:
        archive.comment = comment
        archive.writestr("advisories/", "")  # a directory member
        archive.writestr("README.txt", "not a record")
        for record in sorted((RECORDS / "npm").glob("*.json")):
            archive.write(record, record.name)
    return target


def _zip64_end_record(target: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # zipfile writes zip64 end records past 65,535 members; lower its limit rather than write 65,536.
    with monkeypatch.context() as patch:
        patch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)
        _npm_zip(target)
    assert b"PK\x06\x06" in target.read_bytes()
    return target


def _prepended(target: Path) -> Path:
    _npm_zip(target.with_suffix(".tmp"))
    target.write_bytes(b"#!/bin/sh\nexit 0\n" + target.with_suffix(".tmp").read_bytes())  # a self-extractor's stub
    target.with_suffix(".tmp").unlink()
    return target


@pytest.mark.parametrize(
    "layout", ["deflated", "stored", "zip64 end record", "data before the archive", "comment with a signature"]
)
def test_zip_layouts_read_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    target = tmp_path / layout.replace(" ", "-") / "npm" / "all.zip"
    if layout == "zip64 end record":
        _zip64_end_record(target, monkeypatch)
    elif layout == "data before the archive":
        target.parent.mkdir(parents=True)
        _prepended(target)
    else:
        compression = zipfile.ZIP_STORED if layout == "stored" else zipfile.ZIP_DEFLATED
        _npm_zip(target, compression, b"PK\x05\x06 in a comment" if "comment" in layout else b"")
    db = OsvDatabase.open(str(target.parent.parent))
    assert sorted(r["id"] for r in db.records_for("npm", "lodash")) == ["GHSA-29mw-wpgm-hmr9", "GHSA-35jh-r3h4-6jhm"]
    assert db.record_files == len(list((RECORDS / "npm").glob("*.json")))
    db.close()


def test_corrupt_zip_members_are_input_errors(tmp_path: Path) -> None:
    target = _npm_zip(tmp_path / "npm" / "all.zip")
    data = bytearray(target.read_bytes())
    first = data.index(b"PK\x03\x04", data.index(b"GHSA-") - 40)  # a record's local header
    data[first : first + 4] = b"XXXX"
    target.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"all.zip!GHSA-.*: bad local header"):
        OsvDatabase.open(str(tmp_path)).records_for("npm", "lodash")
    (tmp_path / "npm" / "all.zip").write_bytes(b"")
    with pytest.raises(InputError, match="not a readable zip"):
        OsvDatabase.open(str(tmp_path)).records_for("npm", "lodash")


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_record_whose_bytes_differ_from_its_crc_is_refused(tmp_path: Path, compression: int) -> None:
    target = _npm_zip(tmp_path / "npm" / "all.zip", compression)
    data = bytearray(target.read_bytes())
    with zipfile.ZipFile(target) as archive:
        member = next(m for m in archive.infolist() if "lodash" in archive.read(m).decode())
    # Damage one byte of the member's stored data, keeping sizes and headers intact.
    name_length, extra_length = struct.unpack_from("<2H", data, member.header_offset + 26)
    start = member.header_offset + 30 + name_length + extra_length
    if compression == zipfile.ZIP_STORED:
        position = start + bytes(data[start : start + member.compress_size]).index(b'"id"') + 1
        data[position] = ord("J")  # "id" -> "Jd": still JSON of the same size
    else:
        data[start + member.compress_size // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"all.zip!.*(CRC-32 differs|corrupt data|size differs)"):
        OsvDatabase.open(str(tmp_path)).records_for("npm", "lodash")


def test_withdrawn_records_are_ignored(tmp_path: Path) -> None:
    record = json.loads((RECORDS / "npm" / "GHSA-3xgq-45jj-v275.json").read_text())
    record["withdrawn"] = "2026-03-01T00:00:00Z"
    (tmp_path / "w.json").write_text(json.dumps(record))
    assert OsvDatabase.open(str(tmp_path)).records_for("npm", "cross-spawn") == []


def test_pypi_names_are_normalised(tmp_path: Path) -> None:
    record = {"id": "PYSEC-0000-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "Foo_Bar"}}]}
    (tmp_path / "r.json").write_text(json.dumps(record))
    assert len(OsvDatabase.open(str(tmp_path)).records_for("PyPI", "foo-bar")) == 1
    assert OsvDatabase.open(str(tmp_path)).records_for("npm", "foo-bar") == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"name": "pkg", ', "not JSON"),
        ('{"affected": []}', "no string 'id'"),
        ('{"id": "X", "name": "pkg", "affected": {}}', "'affected' is not a list"),
        ('{"id": "X", "affected": [{"package": {"name": "pkg"}, "ranges": {}}]}', "malformed 'ranges'"),
        ('{"id": "X", "affected": [{"package": {"name": "pkg"}, "versions": "1"}]}', "'versions' is not a list"),
    ],
)
def test_malformed_records_are_input_errors(tmp_path: Path, content: str, message: str) -> None:
    # Records are indexed by the names in their raw bytes: each of these names "pkg".
    text = content if content.startswith('{"name"') else content.replace("{", '{"x": {"name": "pkg"}, ', 1)
    (tmp_path / "bad.json").write_text(text)
    db = OsvDatabase.open(str(tmp_path))
    with pytest.raises(InputError, match=message):
        db.records_for("npm", "pkg")


def test_bad_locations(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        OsvDatabase.open(str(tmp_path / "absent"))
    with pytest.raises(InputError, match="needs a cache directory"):
        OsvDatabase.open("https://example.test/npm/all.zip")
    broken = tmp_path / "npm"
    broken.mkdir()
    (broken / "all.zip").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable zip"):
        OsvDatabase.open(str(tmp_path)).records_for("npm", "x")
    with pytest.raises(InputError, match="only https"):
        download("http://example.test/all.zip", tmp_path)


def test_downloaded_database_is_reused_when_its_checksum_matches(tmp_path: Path) -> None:
    url = "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip"
    target = cached_path(url, tmp_path)
    target.parent.mkdir(parents=True)
    shutil.copy(_zip_tree(tmp_path / "src") / "npm" / "all.zip", target)
    checksum = hashlib.sha256(target.read_bytes()).hexdigest()
    sidecar = target.with_name("all.zip.sha256.json")
    sidecar.write_text(json.dumps({"url": url, "sha256": checksum}))
    lines: list[str] = []
    db = OsvDatabase.open(url, tmp_path, lines.append)  # no network: the cache answers
    assert db.info.sha256 == checksum and db.records_for("npm", "minimist")
    assert "cached" in lines[0]
    target.write_bytes(target.read_bytes() + b"tampered")
    with pytest.raises(InputError, match="differs from the recorded"):
        OsvDatabase.open(url, tmp_path)


# -- zips from elsewhere: caps checked in the central directory before anything is inflated -----------


def _patch_central(target: Path, member: str, **fields: int) -> None:
    """Rewrite a member's sizes in the central directory (and its local header, unless told not to)."""
    offsets = {"compressed": (20, 18), "size": (24, 22)}  # central, local header offsets of the fields
    data = bytearray(target.read_bytes())
    encoded = member.encode()
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(encoded)] != encoded:
        central = data.index(b"PK\x01\x02", central + 4)
    local = int.from_bytes(data[central + 42 : central + 46], "little")
    local_too = fields.pop("local", 1)
    for key, value in fields.items():
        central_at, local_at = offsets[key]
        data[central + central_at : central + central_at + 4] = value.to_bytes(4, "little")
        if local_too:
            data[local + local_at : local + local_at + 4] = value.to_bytes(4, "little")
    target.write_bytes(bytes(data))


def _one_member_zip(target: Path, name: str, content: bytes) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return target


def test_member_declaring_a_huge_size_is_refused_before_inflating(tmp_path: Path) -> None:
    record = (RECORDS / "npm" / "GHSA-3xgq-45jj-v275.json").read_bytes()
    target = _one_member_zip(tmp_path / "npm" / "all.zip", "GHSA-3xgq-45jj-v275.json", record)
    _patch_central(target, "GHSA-3xgq-45jj-v275.json", size=0x7FFF_FFF0)
    db = OsvDatabase.open(str(tmp_path))
    with pytest.raises(InputError, match=r"all.zip!GHSA-3xgq-45jj-v275.json: record exceeds 16777216 bytes"):
        db.records_for("npm", "cross-spawn")
    assert db.record_files == 0


def test_member_declaring_a_huge_compressed_size_is_refused(tmp_path: Path) -> None:
    target = _one_member_zip(tmp_path / "npm" / "all.zip", "a.json", b'{"id": "X"}')
    _patch_central(target, "a.json", compressed=0x7FFF_FFF0)
    with pytest.raises(InputError, match=r"a\.json: 2147483632 compressed bytes, too many"):
        OsvDatabase.open(str(tmp_path)).records_for("npm", "x")


def test_zip_bomb_member_is_refused_by_its_ratio(tmp_path: Path) -> None:
    bomb = b'{"id": "BOMB", "details": "' + b" " * (4 * 1024 * 1024) + b'"}'  # about 1,000:1 deflated
    _one_member_zip(tmp_path / "npm" / "all.zip", "bomb.json", bomb)
    db = OsvDatabase.open(str(tmp_path))
    with pytest.raises(InputError, match=r"bomb.json: \d+ bytes that inflate to 4194333, over 200:1"):
        db.records_for("npm", "x")
    assert db.record_files == 0
    # With the ratio allowed, the same member is read.
    OsvDatabase.open(str(tmp_path), zip_limits=ZipLimits(max_ratio=2000)).records_for("npm", "x")


def test_directory_understating_a_size_cannot_inflate_more(tmp_path: Path) -> None:
    record = (RECORDS / "npm" / "GHSA-3xgq-45jj-v275.json").read_bytes()
    target = _one_member_zip(tmp_path / "npm" / "all.zip", "r.json", record)
    _patch_central(target, "r.json", size=100)
    with pytest.raises(InputError, match=r"r\.json: size differs from the zip directory"):
        OsvDatabase.open(str(tmp_path)).records_for("npm", "cross-spawn")


@pytest.mark.parametrize("layout", ["plain", "data before the archive"])
def test_member_count_is_capped(tmp_path: Path, layout: str) -> None:
    target = tmp_path / "npm" / "all.zip"
    if layout == "plain":
        _npm_zip(target)
    else:
        target.parent.mkdir(parents=True)
        _prepended(target)
    members = len(zipfile.ZipFile(target).infolist())
    limits = ZipLimits(max_members=members - 1)
    with pytest.raises(InputError, match=f"{members} zip members, over the cap of {members - 1}"):
        OsvDatabase.open(str(tmp_path), zip_limits=limits).records_for("npm", "lodash")
    assert OsvDatabase.open(str(tmp_path), zip_limits=ZipLimits(max_members=members)).records_for("npm", "lodash")


def test_total_inflated_size_is_capped_over_all_zips(tmp_path: Path) -> None:
    tree = _zip_tree(tmp_path / "db")
    npm = sum(i.file_size for i in zipfile.ZipFile(tree / "npm" / "all.zip").infolist())
    alpine = sum(i.file_size for i in zipfile.ZipFile(tree / "Alpine" / "all.zip").infolist())
    db = OsvDatabase.open(str(tree), zip_limits=ZipLimits(max_total_bytes=npm + alpine - 1))
    assert db.records_for("npm", "minimist")  # within the cap alone
    with pytest.raises(InputError, match=f"inflate to {npm + alpine} bytes with those read before, over the cap"):
        db.records_for("Alpine:v3.23", "zlib")
    small = OsvDatabase.open(str(tree), zip_limits=ZipLimits(max_total_bytes=npm - 1))
    with pytest.raises(InputError, match="over the cap"):
        small.records_for("npm", "minimist")
    assert small.record_files == 0


def test_member_names_are_never_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = json.loads((RECORDS / "npm" / "GHSA-3xgq-45jj-v275.json").read_text())
    target = tmp_path / "work" / "db" / "npm" / "all.zip"
    target.parent.mkdir(parents=True)
    names = ["../../escaped.json", "/tmp/absolute.json", "C:\\evil.json", "npm/../../up.json"]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, name in enumerate(names):
            archive.writestr(name, json.dumps({**record, "id": f"EVIL-{index}"}))
    monkeypatch.chdir(target.parent)
    before = sorted(tmp_path.rglob("*"))
    db = OsvDatabase.open(str(tmp_path / "work" / "db"))
    assert sorted(r["id"] for r in db.records_for("npm", "cross-spawn")) == [f"EVIL-{i}" for i in range(4)]
    db.close()
    assert sorted(tmp_path.rglob("*")) == before  # nothing extracted anywhere
    assert not Path("/tmp/absolute.json").exists()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_damaged_zips_are_input_errors_or_read(tmp_path: Path, data: st.DataObject) -> None:
    original = _npm_zip(tmp_path / "src" / "npm" / "all.zip").read_bytes()
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 8))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        damaged = damaged[: data.draw(st.integers(0, len(damaged)))]
    case = tmp_path / f"case-{hashlib.sha256(bytes(damaged)).hexdigest()[:12]}"
    (case / "npm").mkdir(parents=True, exist_ok=True)
    (case / "npm" / "all.zip").write_bytes(bytes(damaged))
    db = OsvDatabase.open(str(case))
    try:
        db.records_for("npm", "lodash")
    except InputError:
        pass
    finally:
        db.close()


# -- a directory database: only regular files inside it, capped, the rest counted -------------------------


def test_symlinks_are_followed_only_inside_the_directory(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(RECORDS / "npm", outside / "npm")
    _npm_zip(outside / "zips" / "all.zip")
    db_dir = tmp_path / "db"
    (db_dir / "inside").mkdir(parents=True)
    shutil.copy(RECORDS / "npm" / "GHSA-3xgq-45jj-v275.json", db_dir / "inside" / "record.json")
    (db_dir / "link-inside.json").symlink_to(db_dir / "inside" / "record.json")
    (db_dir / "link-outside.json").symlink_to(outside / "npm" / "GHSA-29mw-wpgm-hmr9.json")  # lodash
    (db_dir / "relative-outside.json").symlink_to(Path("..") / "outside" / "npm" / "GHSA-35jh-r3h4-6jhm.json")
    (db_dir / "npm").mkdir()
    (db_dir / "npm" / "all.zip").symlink_to(outside / "zips" / "all.zip")
    (db_dir / "tree").symlink_to(outside / "npm", target_is_directory=True)  # a directory link: not descended
    (db_dir / "dangling.json").symlink_to(db_dir / "absent.json")
    lines: list[str] = []
    db = OsvDatabase.open(str(db_dir), log=lines.append)
    assert [r["id"] for r in db.records_for("npm", "cross-spawn")] == ["GHSA-3xgq-45jj-v275"]  # once
    assert db.records_for("npm", "lodash") == []
    assert db.record_files == 2  # the record and the link to it
    assert lines == [
        f"osv: {db_dir}: 0 file(s) ignored (neither .json nor .zip), "
        "4 symlink(s) leading outside it and 1 non-regular file(s) skipped"
    ]


def test_database_given_through_a_symlink_is_read(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(RECORDS, target_is_directory=True)
    assert len(OsvDatabase.open(str(tmp_path / "link")).records_for("npm", "lodash")) == 2


def test_other_files_are_ignored_and_counted(tmp_path: Path) -> None:
    shutil.copy(RECORDS / "npm" / "GHSA-3xgq-45jj-v275.json", tmp_path / "r.json")
    for name in ("README.md", "notes.txt", "r.json.bak", "all.zip.sha256.json", ".hidden"):
        (tmp_path / name).write_text("{not a record")
    os.mkfifo(tmp_path / "pipe.json")  # reading it would block
    lines: list[str] = []
    db = OsvDatabase.open(str(tmp_path), log=lines.append)
    assert len(db.records_for("npm", "cross-spawn")) == 1
    assert lines == [
        f"osv: {tmp_path}: 5 file(s) ignored (neither .json nor .zip), "
        "0 symlink(s) leading outside it and 1 non-regular file(s) skipped"
    ]
    quiet: list[str] = []
    OsvDatabase.open(str(RECORDS), log=quiet.append).records_for("npm", "x")
    assert quiet == []


def test_record_files_are_capped(tmp_path: Path) -> None:
    with (tmp_path / "huge.json").open("wb") as handle:
        handle.truncate(16 * 1024 * 1024 + 1)  # sparse: the size alone refuses it
    with pytest.raises(InputError, match=r"huge\.json: the OSV record is larger than 16 MiB"):
        OsvDatabase.open(str(tmp_path)).records_for("npm", "x")
    exact = tmp_path / "exact"
    exact.mkdir()
    (exact / "r.json").write_bytes(b'{"id": "X", "affected": [], "pad": "' + b" " * (16 * 1024 * 1024 - 40) + b'"}')
    assert OsvDatabase.open(str(exact)).records_for("npm", "x") == []


def test_neither_file_nor_directory(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(InputError, match="neither a regular file nor a directory"):
        OsvDatabase.open(str(tmp_path / "pipe")).records_for("npm", "x")
