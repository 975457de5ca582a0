"""Root file systems with real package databases, pushed as two-platform images without any SBOM.

- ``debian_rootfs``: real Debian bookworm packages (``.cache/debian/<arch>/*.deb``, downloaded by
  scripts/install-tools.sh from the Debian mirror) unpacked with ``dpkg-deb -x``, and a real
  ``/var/lib/dpkg/status`` made of their control files, as dpkg writes it (``Status: install ok
  installed`` after ``Package``). ``base-files`` brings the real ``/etc/os-release`` and
  ``/etc/debian_version``.
- ``distroless_rootfs``: the same packages as distroless images hold them: no ``status`` file, one
  control file per package in ``/var/lib/dpkg/status.d/<package>``.
- ``language_rootfs``: npm packages (``node_modules/<name>/package.json``) and Python distributions
  (``site-packages/<name>-<version>.dist-info/METADATA``).

``push_rootfs_image`` pushes one layer per root file system and platform (a deterministic tar,
gzip'd) with the support client, and an index over the platforms; no attestation, no referrer.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.client import RegistryClient, sha256_digest
from tests.support.images import OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, descriptor, parse_platform
from tests.support.registries import INSTALL_HINT, REPO_ROOT, Registry, ToolMissing

DEBIAN_CACHE = REPO_ROOT / ".cache" / "debian"
DEBIAN_PACKAGES = ("base-files", "gzip", "libbz2-1.0", "liblzma5", "libssl3", "libzstd1", "zlib1g")
"""What scripts/install-tools.sh downloads for each architecture (keep the two lists alike)."""
DEBIAN_ARCHITECTURES = {"linux/amd64": "amd64", "linux/arm64": "arm64"}

# npm packages of the project's OSV records (tests/data/osv/records/npm), at versions worked out by
# hand against those records, and one the records do not name.
NPM_PACKAGES = {"lodash": "4.17.20", "minimist": "1.2.5", "semver": "7.6.2", "left-pad": "1.3.0"}
PYPI_PACKAGES = {"requests": "2.25.0", "urllib3": "1.26.5"}


@dataclass(frozen=True)
class DebianPackage:
    """One binary package as its control file says."""

    name: str
    version: str
    architecture: str
    source: str
    """The source package name (``Source:`` without its version; the package's own name when absent)."""
    control: str


def debian_debs(architecture: str) -> list[Path]:
    """The downloaded ``.deb`` files for ``architecture`` (``amd64``, ``arm64``); missing is a failure."""
    directory = DEBIAN_CACHE / architecture
    debs = sorted(directory.glob("*.deb"))
    names = {deb.name.split("_", 1)[0] for deb in debs}
    if names != set(DEBIAN_PACKAGES):
        raise ToolMissing(f"Debian packages for {architecture} are not all in {directory}: {INSTALL_HINT}")
    return debs


def read_control(deb: Path) -> DebianPackage:
    """The control file of a ``.deb`` (``dpkg-deb -f``)."""
    control = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout
    fields: dict[str, str] = {}
    for line in control.splitlines():
        if line[:1] not in (" ", "\t") and ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    source = fields.get("Source", fields["Package"]).split(" ", 1)[0]
    return DebianPackage(fields["Package"], fields["Version"], fields["Architecture"], source, control.rstrip("\n"))


def _installed(package: DebianPackage) -> str:
    """The control paragraph as dpkg's status file holds it: ``Status`` right after ``Package``."""
    lines = package.control.splitlines()
    return "\n".join([lines[0], "Status: install ok installed", *lines[1:]]) + "\n"


def _unpack(debs: Sequence[Path], root: Path) -> list[DebianPackage]:
    packages = []
    for deb in debs:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        packages.append(read_control(deb))
    return packages


def debian_rootfs(architecture: str, root: Path) -> list[DebianPackage]:
    """A Debian root file system of the real packages, with their ``/var/lib/dpkg/status``."""
    packages = _unpack(debian_debs(architecture), root)
    dpkg = root / "var" / "lib" / "dpkg"
    dpkg.mkdir(parents=True, exist_ok=True)
    (dpkg / "status").write_text("\n".join(_installed(p) for p in packages))
    return packages


def distroless_rootfs(architecture: str, root: Path) -> list[DebianPackage]:
    """The same packages as distroless images hold them: ``/var/lib/dpkg/status.d/<package>``."""
    packages = _unpack(debian_debs(architecture), root)
    status_d = root / "var" / "lib" / "dpkg" / "status.d"
    status_d.mkdir(parents=True, exist_ok=True)
    for package in packages:
        (status_d / package.name).write_text(package.control + "\n")
    return packages


def language_rootfs(root: Path) -> None:
    """npm packages under ``/app/node_modules`` and Python distributions under ``site-packages``."""
    for name, version in NPM_PACKAGES.items():
        directory = root / "app" / "node_modules" / name
        directory.mkdir(parents=True, exist_ok=True)
        manifest = {"name": name, "version": version, "license": "MIT", "main": "index.js"}
        (directory / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
        (directory / "index.js").write_text("module.exports = {};\n")
    site = root / "usr" / "local" / "lib" / "python3.11" / "site-packages"
    for name, version in PYPI_PACKAGES.items():
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(parents=True, exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: MIT\n")
        (info / "RECORD").write_text("")


def layer_tar(root: Path) -> tuple[bytes, str]:
    """A deterministic tar of ``root`` (owner root, mtime 0), gzip'd; returns (blob, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(root).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            if info.isreg():
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                tar.addfile(info)
    uncompressed = raw.getvalue()
    return gzip.compress(uncompressed, mtime=0), sha256_digest(uncompressed)


@dataclass(frozen=True)
class PushedImage:
    ref: str
    digest: str
    children: Mapping[str, str]
    """platform -> manifest digest."""


def push_rootfs_image(registry: Registry, repo: str, tag: str, layers: Mapping[str, Sequence[Path]]) -> PushedImage:
    """An index over one image manifest per platform (``layers``: platform -> root file systems, one
    layer each, in order), without attestations or referrers."""
    client = RegistryClient(registry)
    entries = []
    children = {}
    for platform, roots in layers.items():
        layer_descriptors, diff_ids = [], []
        for root in roots:
            blob, diff_id = layer_tar(root)
            client.push_blob(repo, blob)
            layer_descriptors.append(descriptor(OCI_LAYER, blob))
            diff_ids.append(diff_id)
        config = json.dumps(
            {
                **parse_platform(platform),
                "created": "2024-01-01T00:00:00Z",
                "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
            }
        ).encode()
        client.push_blob(repo, config)
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": descriptor(OCI_CONFIG, config),
                "layers": layer_descriptors,
            }
        ).encode()
        digest = sha256_digest(body)
        client.push_manifest(repo, digest, body, OCI_MANIFEST)
        children[platform] = digest
        entries.append(descriptor(OCI_MANIFEST, body, platform=parse_platform(platform)))
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    client.push_manifest(repo, tag, index, OCI_INDEX)
    return PushedImage(registry.ref(repo, tag), sha256_digest(index), children)


def make_dirs(base: Path, *names: str) -> list[Path]:
    """Fresh empty directories ``base/<name>``."""
    made = []
    for name in names:
        path = base / name
        path.mkdir(parents=True, exist_ok=False)
        made.append(path)
    return made
