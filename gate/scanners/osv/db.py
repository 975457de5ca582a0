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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import orjson
import requests

from gate.errors import InputError, RuntimeFailure
from gate.files import atomic_writer, open_checked, read_capped, write_atomic
from gate.oci.http import USER_AGENT, ReadClock, is_loopback, timed_chunks, url_host

MAX_RECORD_BYTES = 16 * 1024 * 1024
MAX_ZIP_MEMBERS = 2_000_000
MAX_INFLATED_BYTES = 8 * 1024 * 1024 * 1024
MAX_DEFLATE_RATIO = 200  # real records deflate 5-20:1; zeros reach 1,000:1
RATIO_FLOOR_BYTES = 1024 * 1024  # smaller members cannot amplify much (and the totals are capped)
MAX_DOWNLOAD_BYTES = 2 * 1024 * 1024 * 1024
DOWNLOAD_DEADLINE_SECONDS = 30 * 60.0
_SEPARATORS = re.compile(r"[-_.]+")
_NAME = re.compile(rb'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')
_ECOSYSTEM = re.compile(rb'"ecosystem"\s*:\s*"([^"\\]*)"')

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
class ZipLimits:
    """What the central directories of a database's zips may declare, checked before inflating."""

    max_members: int = MAX_ZIP_MEMBERS
    """Members of one zip (directories and non-JSON members included)."""
    max_member_bytes: int = MAX_RECORD_BYTES
    """Inflated size of one record."""
    max_total_bytes: int = MAX_INFLATED_BYTES
    """Inflated size of every record of every zip of the database."""
    max_ratio: int = MAX_DEFLATE_RATIO
    """Inflated size over compressed size of a record larger than ``ratio_floor``."""
    ratio_floor: int = RATIO_FLOOR_BYTES


# Where a record is: (container, member name, local header offset, compressed size, size, method, flags);
# container -1 is a loose file (member is its path). A plain tuple of atomic values: the cycle collector
# stops tracking it, which matters with 100,000s of them.
_Location = tuple[int, str, int, int, int, int, int, int]
_Member = tuple[str, int, int, int, int, int, int]  # name, offset, compressed, size, method, flags, crc32


@lru_cache(maxsize=1 << 18)
def name_key(name: str) -> str:
    """The index key of a package name: case-folded, runs of ``-_.`` as one ``-`` (PEP 503 and more)."""
    return _SEPARATORS.sub("-", name.lower())


class OsvDatabase:
    """Records by (ecosystem, package name). Build with ``OsvDatabase.open``."""

    def __init__(self, info: DatabaseInfo, zip_limits: ZipLimits | None = None, log: Log | None = None) -> None:
        self.info = info
        self._log = log
        self.zip_limits = zip_limits or ZipLimits()
        self._inflated_total = 0
        self._zips: list[Path] = []
        self._views: dict[int, mmap.mmap] = {}
        self._pending_families: dict[str, list[int]] = defaultdict(list)
        self._pending_any: list[int] = []
        self._loose: list[Path] = []
        self._loose_loaded = False
        self._index: dict[str, list[_Location]] = defaultdict(list)
        self._discovered = False
        self._raw_keys: dict[bytes, str] = {}
        self._ecosystems: set[bytes] = set()
        self.record_files = 0

    @classmethod
    def open(
        cls,
        location: str,
        cache_dir: Path | None = None,
        log: Log | None = None,
        *,
        limits: DownloadLimits | None = None,
        zip_limits: ZipLimits | None = None,
    ) -> OsvDatabase:
        """A database from a path or an ``https://`` URL (downloaded into ``cache_dir`` once)."""
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location):
            if cache_dir is None:
                raise InputError(f"OSV database {public_url(location)}: a URL needs a cache directory")
            return cls(download(location, cache_dir, log, limits=limits), zip_limits, log)
        path = Path(location)
        if not path.exists():
            raise InputError(f"OSV database {location}: no such file or directory")
        return cls(DatabaseInfo(location, path), zip_limits, log)

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

    def has_ecosystem(self, ecosystem: str, *, ecosystem_is_prefix: bool = False) -> bool:
        """Whether any record names ``ecosystem`` (with ``ecosystem_is_prefix``: it or one of its releases).

        False means the database holds no advisory at all for it (``npm``, ``Alpine:v3.18``): a component
        there cannot be checked, whatever its version.
        """
        self._load(ecosystem.split(":", 1)[0])
        wanted = ecosystem.encode("utf-8")
        if wanted in self._ecosystems:
            return True
        return ecosystem_is_prefix and any(name.startswith(wanted + b":") for name in self._ecosystems)

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
        for view in self._views.values():
            view.close()
        self._views.clear()

    # -- loading -------------------------------------------------------------------------

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        root = self.info.path.resolve()  # the path given may be a link; nothing below it may lead out
        if root.is_file():
            if root.suffix == ".zip":
                self._add_zip(root, None)
            else:
                self._loose.append(root)
            return
        if not root.is_dir():
            raise InputError(f"OSV database {self.info.path}: neither a regular file nor a directory")
        ignored = outside = irregular = 0
        for directory, entry in _walk(root):
            name = entry.name
            path = Path(entry.path)
            if entry.is_symlink():  # followed only to a regular file inside the database
                path = Path(os.path.realpath(path))
                if not path.is_relative_to(root):
                    outside += 1
                    continue
            if not (name.endswith(".zip") or name.endswith(".json")) or name.endswith(".sha256.json"):
                ignored += 1
                continue
            if not (path.is_file() if entry.is_symlink() else entry.is_file(follow_symlinks=False)):
                irregular += 1  # a FIFO would block the read, a device never end
                continue
            if name.endswith(".zip"):
                self._add_zip(path, directory.name if name == "all.zip" and directory != root else None)
            else:
                self._loose.append(path)
        if self._log and (ignored or outside or irregular):
            self._log(
                f"osv: {self.info.path}: {ignored} file(s) ignored (neither .json nor .zip), "
                f"{outside} symlink(s) leading outside it and {irregular} non-regular file(s) skipped"
            )

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
                self._index_bytes(_read_record(path), (-1, str(path), 0, 0, 0, 0, 0, 0))
        for index in self._pending_any + self._pending_families.pop(family, []):
            self._index_zip(index)
        self._pending_any = []

    def _index_zip(self, index: int) -> None:
        path = self._zips[index]
        descriptor = open_checked(path, "the OSV database", follow_symlinks=False)
        try:
            with os.fdopen(descriptor, "rb") as raw_file:
                view = mmap.mmap(raw_file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:  # ValueError: an empty file cannot be mapped
            raise InputError(f"OSV database {path}: not a readable zip file: {exc}") from exc
        self._views[index] = view
        # zipfile's directory reading and per-member open() dominate with 100,000 records: read the
        # central directory and inflate the members straight from the mapping.
        # Member names are only keys: nothing is extracted, no name becomes a path.
        directory = _central_directory(view, path, self.zip_limits.max_members)
        records, inflated = _checked_records(directory, path, self.zip_limits, self._inflated_total)
        self._inflated_total += inflated
        for entry in records:
            location = (index, *entry)
            self._index_bytes(_member_bytes(view, location, path), location)

    def _index_bytes(self, data: bytes, location: _Location) -> None:
        self.record_files += 1
        self._ecosystems.update(_ECOSYSTEM.findall(data))
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
        # Not cached: parsing again is cheap, and 10,000s of kept records would weigh on the collector.
        container, member = location[0], location[1]
        if container < 0:
            data = _read_record(Path(member))
            where = member
        else:
            data = _member_bytes(self._views[container], location, self._zips[container])
            where = f"{self._zips[container]}!{member}"
        return _validated(data, where)


_EOCD = struct.Struct("<4s4H2LH")
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_LOCAL = struct.Struct("<4s2B4HL2L2H")


def _checked_records(directory: list[_Member], path: Path, limits: ZipLimits, so_far: int) -> tuple[list[_Member], int]:
    """The ``.json`` members of a zip directory and the inflated size they declare, once every cap is
    checked (one pass: 100,000s of entries)."""
    records = []
    total = 0
    max_member, max_compressed = limits.max_member_bytes, limits.max_member_bytes + (1 << 20)
    floor, ratio = limits.ratio_floor, limits.max_ratio
    for entry in directory:
        name, _offset, compressed, size, _method, _flags, _crc = entry
        if not name.endswith(".json"):
            continue
        if size > max_member:
            raise InputError(f"OSV database {path}!{name}: record exceeds {max_member} bytes")
        if compressed > max_compressed:  # deflate grows data by far less than that
            raise InputError(f"OSV database {path}!{name}: {compressed} compressed bytes, too many for a record")
        if size > floor and size > max(compressed, 1) * ratio:
            raise InputError(
                f"OSV database {path}!{name}: {compressed} bytes that inflate to {size}, over {ratio}:1 (a zip bomb?)"
            )
        total += size
        records.append(entry)
    if so_far + total > limits.max_total_bytes:
        raise InputError(
            f"OSV database {path}: its records inflate to {so_far + total} bytes with those read before, "
            f"over the cap of {limits.max_total_bytes}"
        )
    return records, total


def _too_many(path: Path, count: int, limit: int) -> InputError:
    return InputError(f"OSV database {path}: {count} zip members, over the cap of {limit}")


def _central_directory(view: mmap.mmap, path: Path, max_members: int = MAX_ZIP_MEMBERS) -> list[_Member]:
    """(name, local header offset, compressed size, size, method, flags) of every member, at most
    ``max_members`` (the end record's count is checked before any entry is read).

    Plain archives (and zip64 ones with more than 65,535 members) are read directly; anything
    else (multi-disk, data before the archive, zip64 sizes per member) through ``zipfile``.
    """
    # The end record is the signature whose comment length reaches the end of the file
    # (a comment may hold the signature too).
    floor, end = max(0, len(view) - 65557), len(view)
    while True:
        end = view.rfind(b"PK\x05\x06", floor, end)
        if end < 0:
            return _zipfile_directory(path, max_members)
        if end + _EOCD.size <= len(view) and end + _EOCD.size + _EOCD.unpack_from(view, end)[-1] == len(view):
            break
    _, disk, cd_disk, _, count, cd_size, cd_offset, _ = _EOCD.unpack_from(view, end)
    directory_end = end
    locator = end - _EOCD64_LOCATOR.size
    if locator >= 0 and view[locator : locator + 4] == b"PK\x06\x07":  # zip64: its end record counts
        record = _EOCD64_LOCATOR.unpack_from(view, locator)[2]
        if record + _EOCD64.size > locator or view[record : record + 4] != b"PK\x06\x06":
            return _zipfile_directory(path, max_members)
        _, _, _, _, disk, cd_disk, _, count, cd_size, cd_offset = _EOCD64.unpack_from(view, record)
        directory_end = record
    elif count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        return _zipfile_directory(path, max_members)
    if disk or cd_disk or cd_offset + cd_size != directory_end:
        return _zipfile_directory(path, max_members)
    if count > max_members:
        raise _too_many(path, count, max_members)
    entries = []
    position = cd_offset
    unpack = _CENTRAL.unpack_from
    for _ in range(count):
        if position + _CENTRAL.size > directory_end:
            return _zipfile_directory(path, max_members)
        (signature, _, _, _, _, flags, method, _, _, crc, compressed, size, name_length, extra_length,
         comment_length, _, _, _, offset) = unpack(view, position)  # fmt: skip
        if signature != b"PK\x01\x02" or 0xFFFFFFFF in (compressed, size, offset):
            return _zipfile_directory(path, max_members)
        raw = view[position + 46 : position + 46 + name_length]
        name = raw.decode("utf-8" if flags & 0x800 else "cp437", "replace").split("\x00", 1)[0]  # as zipfile
        entries.append((name, offset, compressed, size, method, flags, crc))
        position += 46 + name_length + extra_length + comment_length
    return entries


def _zipfile_directory(path: Path, max_members: int) -> list[_Member]:
    # zipfile reads the whole directory first; its size, and so its count, is bounded by the file's.
    try:
        with zipfile.ZipFile(path) as handle:
            members = handle.infolist()
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"OSV database {path}: not a readable zip file: {exc}") from exc
    if len(members) > max_members:
        raise _too_many(path, len(members), max_members)
    return [
        (m.filename, m.header_offset, m.compress_size, m.file_size, m.compress_type, m.flag_bits, m.CRC)
        for m in members
    ]


def _member_bytes(view: mmap.mmap, location: _Location, path: Path) -> bytes:
    _, name, offset, compressed, size, method, flags, crc = location
    if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or flags & 0x1:
        try:  # anything unusual: let zipfile deal with it
            with zipfile.ZipFile(path) as handle:
                return handle.read(name)
        except (OSError, RuntimeError, NotImplementedError, zipfile.BadZipFile, KeyError) as exc:
            raise InputError(f"OSV database {path}!{name}: cannot read it: {exc}") from exc
    if offset + _LOCAL.size > len(view) or view[offset : offset + 4] != b"PK\x03\x04":
        raise InputError(f"OSV database {path}!{name}: bad local header")
    name_length, extra_length = _LOCAL.unpack_from(view, offset)[-2:]
    start = offset + _LOCAL.size + name_length + extra_length
    data = view[start : start + compressed]
    if method == zipfile.ZIP_DEFLATED:
        try:
            # Never more than the directory declared (checked against the caps) and one byte to tell.
            data = zlib.decompressobj(-15).decompress(data, size + 1)
        except zlib.error as exc:
            raise InputError(f"OSV database {path}!{name}: corrupt data: {exc}") from exc
    if len(data) != size:
        raise InputError(f"OSV database {path}!{name}: size differs from the zip directory")
    if zlib.crc32(data) != crc:  # what zipfile checks: a damaged record is never read as data
        raise InputError(f"OSV database {path}!{name}: CRC-32 differs from the zip directory (a damaged archive)")
    return data


def _validated(data: bytes, where: str) -> dict[str, Any] | None:
    """The parsed record, or None when it is withdrawn. Malformed records are input errors."""
    try:
        record = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:  # the standard library is the reference: it reads NaN, or says where the JSON breaks
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


def _walk(root: Path) -> Iterator[tuple[Path, os.DirEntry[str]]]:
    """(directory, entry) of every non-directory below ``root``, sorted, depth first; directory
    symlinks are not descended (like ``os.walk``) and reported as entries."""
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            raise InputError(f"OSV database {directory}: cannot list: {exc.strerror or exc}") from exc
        below = []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                below.append(Path(entry.path))
            else:
                yield directory, entry
        pending.extend(reversed(below))


def _read_record(path: Path) -> bytes:
    """A loose record: a regular file reached without a final symlink."""
    return read_capped(path, MAX_RECORD_BYTES, "the OSV record", follow_symlinks=False)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class DownloadLimits:
    """How much and how long a database download may take."""

    max_bytes: int = MAX_DOWNLOAD_BYTES
    deadline_seconds: float = DOWNLOAD_DEADLINE_SECONDS
    """For the whole body, however steadily it trickles in."""
    connect_timeout: float = 30.0
    read_timeout: float = 60.0
    """For each chunk (1 MiB) of the body, and for the answer's headers."""


def public_url(url: str) -> str:
    """``url`` as it may be written down: ``scheme://host[:port]/path``, no userinfo, no query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{url_host(url)}{parts.path}"


def cached_path(url: str, cache_dir: Path) -> Path:
    """Where ``download`` keeps ``url``: ``<cache_dir>/osv/<key>/<basename>``; the key hashes the URL
    without its userinfo (a password must not be guessable from a directory name)."""
    parts = urlsplit(url)
    keyed = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    basename = Path(parts.path).name or "all.zip"
    return cache_dir / "osv" / hashlib.sha256(keyed.encode()).hexdigest()[:16] / basename


def download(
    url: str,
    cache_dir: Path,
    log: Log | None = None,
    *,
    session: requests.Session | None = None,
    limits: DownloadLimits | None = None,
) -> DatabaseInfo:
    """Fetch ``url`` once into the cache, recording its SHA-256; reuse it while it still matches.

    https only (plain http for a loopback host, as in tests). Credentials come from the URL's
    userinfo alone and go only to its own origin, never to a redirect elsewhere: the session reads
    no ``.netrc``; proxies (``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` with ``NO_PROXY``) and a
    CA bundle (``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``) from the environment are honoured
    explicitly, as air-gapped runners reach mirrors through them. Only the URL without userinfo
    and query is written down (the checksum record, logs, the SARIF).
    """
    shown = public_url(url)
    _check_scheme(url, shown)
    limits = limits or DownloadLimits()
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
        return DatabaseInfo(shown, target, actual)
    try:
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # parents as usual, the cache itself private
        for directory in (target.parent.parent, target.parent):
            directory.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise InputError(f"OSV database cache {target.parent}: cannot write there: {exc.strerror or exc}") from exc
    if log:
        log(f"osv: downloading {shown}")
    client = session or _session()
    try:
        # a private partial file beside the target, removed on any error or interrupt
        with atomic_writer(target, mode=0o600) as out:
            checksum, size = _fetch(client, url, shown, out, limits)
    except OSError as exc:
        raise InputError(f"OSV database cache {target.parent}: cannot write there: {exc.strerror or exc}") from exc
    finally:
        if session is None:
            client.close()
    record = json.dumps({"url": shown, "sha256": checksum, "size": size}) + "\n"
    try:
        write_atomic(sidecar, record.encode(), mode=0o600)
    except OSError as exc:
        raise RuntimeFailure(f"OSV database cache {sidecar}: cannot write: {exc.strerror or exc}") from exc
    if log:
        log(f"osv: downloaded {size} bytes, sha256 {checksum}")
    return DatabaseInfo(shown, target, checksum)


_MAX_REDIRECTS = 5


def _scheme_allowed(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or ""))


def _check_scheme(url: str, shown: str) -> None:
    if not _scheme_allowed(url):
        raise InputError(f"OSV database {shown}: only https:// URLs are accepted (plain http only for a loopback host)")


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no ~/.netrc credentials; proxies and CA bundle are read by hand below
    session.headers["User-Agent"] = USER_AGENT
    return session


def _environment_verify() -> bool | str:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        value = os.environ.get(name, "")
        if value and os.path.exists(value):  # an empty CURL_CA_BUNDLE must not turn verification off
            return value
    return True


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _fetch(client: requests.Session, url: str, shown: str, out: IO[bytes], limits: DownloadLimits) -> tuple[str, int]:
    parts = urlsplit(url)
    auth = (unquote(parts.username or ""), unquote(parts.password or "")) if parts.username is not None else None
    origin = _origin(url)
    current = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    what = f"OSV database {shown}"
    clock = ReadClock(limits.deadline_seconds, limits.read_timeout)
    verify = _environment_verify()
    try:
        for _ in range(_MAX_REDIRECTS + 1):
            response = client.get(
                current,
                stream=True,
                allow_redirects=False,
                timeout=(limits.connect_timeout, limits.read_timeout),
                auth=auth if _origin(current) == origin else None,
                proxies=requests.utils.get_environ_proxies(current),
                verify=verify,
            )
            with response:
                if response.status_code in (301, 302, 303, 307, 308) and "Location" in response.headers:
                    current = urljoin(current, response.headers["Location"])
                    if not _scheme_allowed(current):
                        raise RuntimeFailure(f"{what}: redirected to a non-https URL ({public_url(current)})")
                    continue
                if response.status_code != 200:
                    raise RuntimeFailure(f"{what}: HTTP {response.status_code}")
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limits.max_bytes:
                    raise RuntimeFailure(f"{what}: {declared} bytes, over the cap of {limits.max_bytes}")
                digest = hashlib.sha256()
                size = 0
                for chunk in timed_chunks(response, 1 << 20, clock, what):
                    size += len(chunk)
                    if size > limits.max_bytes:
                        raise RuntimeFailure(f"{what}: larger than the cap of {limits.max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                return digest.hexdigest(), size
        raise RuntimeFailure(f"{what}: more than {_MAX_REDIRECTS} redirects")
    except requests.RequestException as exc:
        raise RuntimeFailure(f"{what}: download failed ({type(exc).__name__})") from None
    except OSError as exc:
        raise RuntimeFailure(f"{what}: cannot write the cache: {exc.strerror or exc}") from exc


def iter_records(paths: Iterable[Path]) -> Iterable[dict[str, Any]]:
    """Parsed, non-withdrawn records of loose JSON files (for tools and tests)."""
    for path in paths:
        record = _validated(_read_record(Path(os.path.realpath(path))), str(path))
        if record is not None:
            yield record
