"""An offline OSV database: a directory of OSV JSON records (recursively) and/or ``all.zip`` files.

Layouts accepted (all may be mixed under one directory):
- loose ``*.json`` records, at any depth (a clone of an advisory repository);
- osv.dev's per-ecosystem exports, ``<Ecosystem>/all.zip`` (also osv-scanner's
  ``osv-scanner/<Ecosystem>/all.zip`` cache): such a zip is opened only when a component of
  that ecosystem is looked up;
- a single ``.zip`` or ``.json`` file;
- an ``https://`` URL of one of those files, downloaded once into a cache directory with its
  SHA-256 recorded beside it (``<file>.sha256.json``) and checked on every later use.

Loading is lazy and cheap: the first lookup indexes package names found in each record's raw
bytes; a record is parsed only when a component with one of its names is looked up. Withdrawn
records are never returned.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import re
import struct
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests

from gate.errors import InputError, RuntimeFailure

MAX_RECORD_BYTES = 16 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 4 * 1024 * 1024 * 1024
_SEPARATORS = re.compile(r"[-_.]+")
_NAME = re.compile(rb'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')

Log = Callable[[str], None]


@dataclass(frozen=True)
class DatabaseInfo:
    location: str
    """What the user gave: a path or URL."""
    path: Path
    """The local file or directory read."""
    sha256: str | None = None
    """For a downloaded file: its SHA-256 (also stored beside it)."""


@dataclass(frozen=True)
class _Location:
    container: int
    """Index into the database's containers (a zip file, or -1 for a loose file)."""
    member: str


@lru_cache(maxsize=1 << 18)
def name_key(name: str) -> str:
    """The index key of a package name: case-folded, runs of ``-_.`` as one ``-`` (PEP 503 and more)."""
    return _SEPARATORS.sub("-", name.lower())


class OsvDatabase:
    """Records by (ecosystem, package name). Build with ``OsvDatabase.open``."""

    def __init__(self, info: DatabaseInfo) -> None:
        self.info = info
        self._zips: list[Path] = []
        self._zip_handles: dict[int, zipfile.ZipFile] = {}
        self._pending_families: dict[str, list[int]] = defaultdict(list)
        self._pending_any: list[int] = []
        self._loose: list[Path] = []
        self._loose_loaded = False
        self._index: dict[str, list[_Location]] = defaultdict(list)
        self._parsed: dict[_Location, dict[str, Any] | None] = {}
        self._discovered = False
        self._raw_keys: dict[bytes, str] = {}
        self.record_files = 0

    @classmethod
    def open(cls, location: str, cache_dir: Path | None = None, log: Log | None = None) -> OsvDatabase:
        """A database from a path or an ``https://`` URL (downloaded into ``cache_dir`` once)."""
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location):
            if cache_dir is None:
                raise InputError(f"OSV database {location}: a URL needs a cache directory")
            return cls(download(location, cache_dir, log))
        path = Path(location)
        if not path.exists():
            raise InputError(f"OSV database {location}: no such file or directory")
        return cls(DatabaseInfo(location, path))

    # -- lookups -------------------------------------------------------------------------

    def records_for(self, ecosystem: str, name: str, *, ecosystem_is_prefix: bool = False) -> list[dict[str, Any]]:
        """Every non-withdrawn record with an ``affected`` entry for this package."""
        family = ecosystem.split(":", 1)[0]
        self._load(family)
        found: list[dict[str, Any]] = []
        seen: set[str] = set()
        for location in self._index.get(name_key(name), ()):
            record = self._record(location)
            if record is None or record["id"] in seen:
                continue
            if any(
                _names_match(family, name, a) and _eco_match(ecosystem, a, ecosystem_is_prefix)
                for a in record["affected"]
            ):
                seen.add(record["id"])
                found.append(record)
        return found

    def affected_entries(
        self, record: dict[str, Any], ecosystem: str, name: str, *, ecosystem_is_prefix: bool = False
    ) -> list[dict[str, Any]]:
        family = ecosystem.split(":", 1)[0]
        return [
            a
            for a in record["affected"]
            if _names_match(family, name, a) and _eco_match(ecosystem, a, ecosystem_is_prefix)
        ]

    def close(self) -> None:
        for handle in self._zip_handles.values():
            handle.close()
        self._zip_handles.clear()

    # -- loading -------------------------------------------------------------------------

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        root = self.info.path
        if root.is_file():
            if root.suffix == ".zip":
                self._add_zip(root, None)
            else:
                self._loose.append(root)
            return
        for directory, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for filename in sorted(filenames):
                path = Path(directory, filename)
                if filename.endswith(".zip"):
                    family = Path(directory).name if filename == "all.zip" and Path(directory) != root else None
                    self._add_zip(path, family)
                elif filename.endswith(".json") and not filename.endswith(".sha256.json"):
                    self._loose.append(path)

    def _add_zip(self, path: Path, family: str | None) -> None:
        self._zips.append(path)
        index = len(self._zips) - 1
        if family is None:
            self._pending_any.append(index)
        else:
            # osv.dev names the directory after the ecosystem without release ("Alpine", "Debian").
            self._pending_families[family.split(":", 1)[0]].append(index)

    def _load(self, family: str) -> None:
        self._discover()
        if not self._loose_loaded:
            self._loose_loaded = True
            for path in self._loose:
                self._index_bytes(_read_capped(path), _Location(-1, str(path)))
        for index in self._pending_any + self._pending_families.pop(family, []):
            self._index_zip(index)
        self._pending_any = []

    def _index_zip(self, index: int) -> None:
        path = self._zips[index]
        try:
            handle = zipfile.ZipFile(path)
            members = handle.infolist()
        except (OSError, zipfile.BadZipFile) as exc:
            raise InputError(f"OSV database {path}: not a readable zip file: {exc}") from exc
        self._zip_handles[index] = handle
        # zipfile's per-member open() dominates with 100,000 records: inflate straight from a mapping.
        with path.open("rb") as raw_file, mmap.mmap(raw_file.fileno(), 0, access=mmap.ACCESS_READ) as view:
            for member in members:
                if member.is_dir() or not member.filename.endswith(".json"):
                    continue
                if member.file_size > MAX_RECORD_BYTES:
                    raise InputError(f"OSV database {path}!{member.filename}: record exceeds {MAX_RECORD_BYTES} bytes")
                self._index_bytes(_member_bytes(handle, view, member, path), _Location(index, member.filename))

    def _index_bytes(self, data: bytes, location: _Location) -> None:
        self.record_files += 1
        keys = self._raw_keys
        added: set[str] = set()
        for raw in _NAME.findall(data):
            key = keys.get(raw)
            if key is None:
                text = json.loads(b'"' + raw + b'"') if b"\\" in raw else raw.decode("utf-8", "replace")
                key = keys[raw] = name_key(text)
            if key not in added:
                added.add(key)
                self._index[key].append(location)

    def _record(self, location: _Location) -> dict[str, Any] | None:
        if location in self._parsed:
            return self._parsed[location]
        if location.container < 0:
            path = Path(location.member)
            data = _read_capped(path)
            where = str(path)
        else:
            data = self._zip_handles[location.container].read(location.member)
            where = f"{self._zips[location.container]}!{location.member}"
        record = _validated(data, where)
        self._parsed[location] = record
        return record


def _member_bytes(handle: zipfile.ZipFile, view: mmap.mmap, member: zipfile.ZipInfo, path: Path) -> bytes:
    if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or member.flag_bits & 0x1:
        return handle.read(member)  # anything unusual: let zipfile deal with it
    offset = member.header_offset
    if view[offset : offset + 4] != b"PK\x03\x04":
        raise InputError(f"OSV database {path}!{member.filename}: bad local header")
    name_length, extra_length = struct.unpack_from("<HH", view, offset + 26)
    start = offset + 30 + name_length + extra_length
    data = view[start : start + member.compress_size]
    if member.compress_type == zipfile.ZIP_DEFLATED:
        try:
            data = zlib.decompressobj(-15).decompress(data, MAX_RECORD_BYTES + 1)
        except zlib.error as exc:
            raise InputError(f"OSV database {path}!{member.filename}: corrupt data: {exc}") from exc
    if len(data) != member.file_size:
        raise InputError(f"OSV database {path}!{member.filename}: size differs from the zip directory")
    return data


def _validated(data: bytes, where: str) -> dict[str, Any] | None:
    """The parsed record, or None when it is withdrawn. Malformed records are input errors."""
    try:
        record = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"OSV record {where}: not JSON: {exc}") from exc
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        raise InputError(f"OSV record {where}: not an OSV record (no string 'id')")
    if record.get("withdrawn"):
        return None
    affected = record.get("affected", [])
    if not isinstance(affected, list) or not all(
        isinstance(a, dict) and isinstance(a.get("package", {}), dict) for a in affected
    ):
        raise InputError(f"OSV record {where} ({record['id']}): 'affected' is not a list of objects")
    for entry in affected:
        ranges = entry.get("ranges", [])
        if not isinstance(ranges, list) or not all(
            isinstance(r, dict) and isinstance(r.get("events", []), list) for r in ranges
        ):
            raise InputError(f"OSV record {where} ({record['id']}): malformed 'ranges'")
        if not isinstance(entry.get("versions", []), list):
            raise InputError(f"OSV record {where} ({record['id']}): 'versions' is not a list")
    record["affected"] = affected
    return record


def _names_match(family: str, name: str, affected: dict[str, Any]) -> bool:
    other = affected.get("package", {}).get("name")
    if not isinstance(other, str):
        return False
    if family == "PyPI":
        return name_key(other) == name_key(name)
    return other == name


def _eco_match(ecosystem: str, affected: dict[str, Any], prefix: bool) -> bool:
    other = affected.get("package", {}).get("ecosystem")
    if not isinstance(other, str):
        return False
    if prefix:
        return other == ecosystem or other.startswith(ecosystem + ":")
    return other == ecosystem


def _read_capped(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_RECORD_BYTES + 1)
    except OSError as exc:
        raise InputError(f"OSV record {path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_RECORD_BYTES:
        raise InputError(f"OSV record {path}: exceeds {MAX_RECORD_BYTES} bytes")
    return data


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cached_path(url: str, cache_dir: Path) -> Path:
    """Where ``download`` keeps ``url``: ``<cache_dir>/osv/<sha256(url)[:16]>/<basename>``."""
    parsed = urlparse(url)
    basename = Path(parsed.path).name or "all.zip"
    return cache_dir / "osv" / hashlib.sha256(url.encode()).hexdigest()[:16] / basename


def download(
    url: str, cache_dir: Path, log: Log | None = None, *, session: requests.Session | None = None
) -> DatabaseInfo:
    """Fetch ``url`` (https only) once into the cache, recording its SHA-256; reuse it when it still matches."""
    if urlparse(url).scheme != "https":
        raise InputError(f"OSV database {url}: only https:// URLs are accepted")
    target = cached_path(url, cache_dir)
    sidecar = target.with_name(target.name + ".sha256.json")
    if target.is_file() and sidecar.is_file():
        try:
            recorded = json.loads(sidecar.read_text())["sha256"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"OSV database cache {sidecar}: unreadable checksum record: {exc}") from exc
        actual = file_sha256(target)
        if actual != recorded:
            raise InputError(
                f"OSV database cache {target}: SHA-256 {actual} differs from the recorded {recorded}",
                hint=f"delete {target.parent} to download it again",
            )
        if log:
            log(f"osv: using cached database {target} (sha256 {actual})")
        return DatabaseInfo(url, target, actual)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    size = 0
    client = session or requests.Session()
    if log:
        log(f"osv: downloading {url}")
    try:
        with client.get(url, stream=True, timeout=60, allow_redirects=True) as response:
            if response.status_code != 200:
                raise RuntimeFailure(f"OSV database {url}: HTTP {response.status_code}")
            if urlparse(response.url).scheme != "https":
                raise RuntimeFailure(f"OSV database {url}: redirected to a non-https URL")
            with partial.open("wb") as out:
                for chunk in response.iter_content(1 << 20):
                    size += len(chunk)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise RuntimeFailure(f"OSV database {url}: larger than {MAX_DOWNLOAD_BYTES} bytes")
                    digest.update(chunk)
                    out.write(chunk)
    except requests.RequestException as exc:
        partial.unlink(missing_ok=True)
        raise RuntimeFailure(f"OSV database {url}: download failed: {exc}") from exc
    except RuntimeFailure:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    checksum = digest.hexdigest()
    sidecar.write_text(json.dumps({"url": url, "sha256": checksum, "size": size}) + "\n")
    if log:
        log(f"osv: downloaded {size} bytes, sha256 {checksum}")
    return DatabaseInfo(url, target, checksum)


def iter_records(paths: Iterable[Path]) -> Iterable[dict[str, Any]]:
    """Parsed, non-withdrawn records of loose JSON files (for tools and tests)."""
    for path in paths:
        record = _validated(_read_capped(path), str(path))
        if record is not None:
            yield record
