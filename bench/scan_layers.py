#!/usr/bin/env python3
"""Layer-fallback benchmark: ``scan --sbom-fallback layers`` against Trivy alone on the same layouts.

One CNCF distribution 2.8 registry on loopback holds a two-platform image with 300 MiB of layers and
no SBOM (per platform: a layer of npm and Python packages, and two layers of 75 MiB, gzip'd). The
content of those two layers (``--content``):

- ``files`` (the default): files of 1-64 KiB drawn from a word-like corpus that gzip shrinks about
  3x, as real base-image layers shrink 2.5-3.5x: 225 MiB of files per layer, some 7,000 of them;
- ``random``: 1 MiB files of random bytes, which gzip stores as they are: the degenerate case where
  Trivy's analysis is little more than a copy, so the layer copy image-gate must do first weighs most.

Whole process (interpreter start-up included), medians of ``--runs`` runs, the two alternated:

- image-gate: ``python -m gate scan IMAGE --scanner osv --osv-db tests/data/osv/records
  --sbom-fallback layers`` from the registry: for each platform, our client copies its layers into a
  private layout, ``trivy image --input`` inventories it, the OSV scanner scans the inventory;
- Trivy alone: ``trivy image --input LAYOUT --format cyclonedx`` on each platform's layout, already on
  disk (the same layouts our client writes), one after the other.

Goal: image-gate within 1.2x of Trivy alone. And image-gate's peak RSS (its own process: ``VmHWM`` of
the process that runs ``gate.cli.main``; Trivy's is reported apart) under 150 MiB.

Usage: ``python3 bench/scan_layers.py [--runs N] [--content files|random]`` (needs ``make install`` for
trivy and docker-registry).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gate.oci.copy import copy_image  # noqa: E402
from gate.oci.layout import LayoutTarget  # noqa: E402
from gate.oci.open import Access, open_target, registry_pool  # noqa: E402
from gate.oci.reference import parse_target_reference  # noqa: E402
from gate.oci.target import Descriptor, Manifest  # noqa: E402
from tests.support.registries import TOOLS_BIN, require_tool, start_distribution  # noqa: E402
from tests.support.rootfs import language_rootfs, layer_tar  # noqa: E402

MiB = 1024 * 1024
RANDOM_LAYERS = 2
RANDOM_LAYER_BYTES = 75 * MiB
FILE_BYTES = 1 * MiB
PLATFORMS = ("linux/amd64", "linux/arm64")
OSV_DB = REPO / "tests" / "data" / "osv" / "records"
PYTHON = sys.executable
GOAL_RATIO = 1.2
GOAL_RSS_MIB = 150.0

# Runs gate.cli.main in this very process and prints: its own peak RSS (VmHWM, KiB: the peak of this
# process's memory since its exec; ru_maxrss would also count the pages of the parent it was forked
# from), Trivy's peak (RUSAGE_CHILDREN, KiB: an upper bound, it starts as a fork of this process), the
# exit code.
GATE_WRAPPER = (
    "import re, resource, sys\n"
    "from gate.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "own = re.search(r'^VmHWM:\\s+(\\d+)', open('/proc/self/status').read(), re.M).group(1)\n"
    "print(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code, file=sys.stderr)\n"
)


class _Hashing(io.RawIOBase):
    """Writes the tar stream into the gzip file, hashing it on the way (the layer's diff_id)."""

    def __init__(self, diff: Any, gz: gzip.GzipFile) -> None:
        self.diff, self.gz = diff, gz

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.diff.update(data)
        self.gz.write(data)
        return len(data)


def random_layer(path: Path, rng: random.Random, size: int) -> tuple[Path, str]:
    """A gzip'd tar of ``size`` bytes of random files at ``path``, written as it is made; (blob, diff_id)."""
    diff = hashlib.sha256()
    with (
        path.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz,
        tarfile.open(fileobj=_Hashing(diff, gz), mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        for number in range(size // FILE_BYTES):
            info = tarfile.TarInfo(f"opt/data/{path.stem}/{number:04}.bin")
            info.size, info.mtime, info.mode = FILE_BYTES, 0, 0o644
            tar.addfile(info, io.BytesIO(rng.randbytes(FILE_BYTES)))
    return path, f"sha256:{diff.hexdigest()}"


def corpus(rng: random.Random) -> bytes:
    """16 MiB of word-like bytes (1,024 random "words" of 3-14 bytes, Zipf-weighted): gzip shrinks it ~3x."""
    words = [rng.randbytes(rng.randint(3, 14)) for _ in range(1024)]
    weights = [1 / (rank + 1) for rank in range(len(words))]
    text = b""
    while len(text) < 16 * MiB:
        text += b"".join(rng.choices(words, weights, k=500_000))
    return text


def files_layer(path: Path, rng: random.Random, size: int, text: bytes) -> tuple[Path, str]:
    """A gzip'd tar of files of 1-64 KiB cut from ``text``, ``size`` bytes once compressed; (blob, diff_id)."""
    diff = hashlib.sha256()
    with (
        path.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz,
        tarfile.open(fileobj=_Hashing(diff, gz), mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        number = 0
        while raw.tell() < size:
            length = rng.randint(1024, 64 * 1024)
            start = rng.randrange(len(text) - length)
            info = tarfile.TarInfo(f"usr/lib/{path.stem}/{number // 100:03}/{number:06}.so")
            info.size, info.mtime, info.mode = length, 0, 0o644
            tar.addfile(info, io.BytesIO(text[start : start + length]))
            number += 1
    return path, f"sha256:{diff.hexdigest()}"


def file_source(path: Path) -> object:
    @contextmanager
    def chunks() -> Iterator[Iterator[bytes]]:
        with path.open("rb") as handle:
            yield iter(lambda: handle.read(MiB), b"")

    return chunks


def file_descriptor(media_type: str, path: Path) -> Descriptor:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(MiB), b""):
            digest.update(chunk)
    return Descriptor(media_type, f"sha256:{digest.hexdigest()}", path.stat().st_size)


def put_json(layout: LayoutTarget, media_type: str, document: dict[str, object]) -> Descriptor:
    data = json.dumps(document).encode()
    descriptor = Descriptor(media_type, f"sha256:{hashlib.sha256(data).hexdigest()}", len(data))
    if media_type.endswith(("manifest.v1+json", "index.v1+json")):
        layout.push_manifest(Manifest(descriptor, data))
    else:
        layout.push_blob(descriptor, file_source_bytes(data))  # type: ignore[arg-type]
    return descriptor


def file_source_bytes(data: bytes) -> object:
    @contextmanager
    def chunks() -> Iterator[Iterator[bytes]]:
        yield iter([data])

    return chunks


def build_image(scratch: Path, content: str = "files") -> tuple[LayoutTarget, dict[str, str], int]:
    """The two-platform image in an OCI layout: (layout, platform -> manifest digest, layer bytes)."""
    layout = LayoutTarget(scratch / "image", create=True)
    children: dict[str, str] = {}
    total = 0
    entries = []
    for number, platform in enumerate(PLATFORMS):
        rng = random.Random(number)
        root = scratch / f"root-{number}"
        root.mkdir()
        language_rootfs(root)
        blob, diff_id = layer_tar(root)
        (scratch / f"lang-{number}.tar.gz").write_bytes(blob)
        layers = [(scratch / f"lang-{number}.tar.gz", diff_id)]
        text = corpus(rng) if content == "files" else b""
        for i in range(RANDOM_LAYERS):
            blob_path = scratch / f"{content}-{number}-{i}.tar.gz"
            if content == "files":
                layers.append(files_layer(blob_path, rng, RANDOM_LAYER_BYTES, text))
            else:
                layers.append(random_layer(blob_path, rng, RANDOM_LAYER_BYTES))
        descriptors = []
        for path, _ in layers:
            descriptor = file_descriptor("application/vnd.oci.image.layer.v1.tar+gzip", path)
            layout.push_blob(descriptor, file_source(path))  # type: ignore[arg-type]
            descriptors.append(descriptor)
            total += descriptor.size
            path.unlink()
        os_name, arch = platform.split("/")
        config = put_json(
            layout,
            "application/vnd.oci.image.config.v1+json",
            {"os": os_name, "architecture": arch, "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]}},
        )
        manifest = put_json(
            layout,
            "application/vnd.oci.image.manifest.v1+json",
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": _json(config),
                "layers": [_json(d) for d in descriptors],
            },
        )
        children[platform] = manifest.digest
        entries.append({**_json(manifest), "platform": {"os": os_name, "architecture": arch}})
    index_data = json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}
    ).encode()
    index = Descriptor(
        "application/vnd.oci.image.index.v1+json", f"sha256:{hashlib.sha256(index_data).hexdigest()}", len(index_data)
    )
    layout.push_manifest(Manifest(index, index_data), "bench")
    return layout, children, total


def _json(descriptor: Descriptor) -> dict[str, object]:
    return {"mediaType": descriptor.media_type, "digest": descriptor.digest, "size": descriptor.size}


def cpu_seconds() -> float:
    """User + system CPU time of every finished child process (and theirs) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_gate(image: str, scratch: Path, env: dict[str, str]) -> tuple[float, float, float, float]:
    """(seconds, CPU seconds, own peak RSS MiB, Trivy's peak RSS MiB) of one whole ``scan`` process."""
    command = [
        PYTHON, "-c", GATE_WRAPPER, "scan", image, "--scanner", "osv", "--osv-db", str(OSV_DB),
        "--sbom-fallback", "layers", "--sarif-output", str(scratch / "bench.sarif"),
    ]  # fmt: skip
    started, cpu = time.monotonic(), cpu_seconds()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, check=False)
    seconds, cpu = time.monotonic() - started, cpu_seconds() - cpu
    own, children, code = done.stderr.strip().splitlines()[-1].split()
    if code not in ("0", "1"):  # 1: the gate failed the image (its npm packages are vulnerable)
        raise SystemExit(f"image-gate scan failed ({code}):\n{done.stderr[-3000:]}")
    return seconds, cpu, int(own) / 1024, int(children) / 1024


def run_trivy(layouts: list[Path], scratch: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds, CPU seconds) of ``trivy image --input`` on each platform's layout, one after the other."""
    started, cpu = time.monotonic(), cpu_seconds()
    for number, layout in enumerate(layouts):
        command = [
            require_tool("trivy"), "image", "--input", str(layout), "--format", "cyclonedx",
            "--output", str(scratch / f"trivy-{number}.cdx.json"), "--quiet", "--skip-version-check",
            "--disable-telemetry", "--cache-backend", "memory",
        ]  # fmt: skip
        subprocess.run(command, check=True, cwd=scratch, env=env, stdout=subprocess.DEVNULL)
    return time.monotonic() - started, cpu_seconds() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--content", choices=["files", "random"], default="files")
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{TOOLS_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    with tempfile.TemporaryDirectory(prefix="bench-scan-layers-") as directory:
        scratch = Path(directory)
        started = time.monotonic()
        layout, children, total = build_image(scratch, args.content)
        server = start_distribution(scratch / "registry")
        try:
            reference = server.registry.ref("bench/no-sbom", "v1")
            with registry_pool(Access(), environ={}) as pool:
                copy_image(layout, "bench", open_target(parse_target_reference(reference), pool), "v1")
            layouts = []
            for number, platform in enumerate(PLATFORMS):
                target = LayoutTarget(scratch / f"platform-{number}", create=True)
                copy_image(layout, children[platform], target, "scan")
                layouts.append(target.path)
            shutil.rmtree(layout.path)
            print(
                f"image: {reference}, {len(PLATFORMS)} platforms, {total / MiB:.0f} MiB of layers ({args.content}), no SBOM "
                f"(built in {time.monotonic() - started:.0f} s)"
            )
            gate_times, trivy_times, gate_cpu, trivy_cpu, own_rss, trivy_rss = [], [], [], [], [], []
            for run in range(args.runs):
                order = ["gate", "trivy"] if run % 2 == 0 else ["trivy", "gate"]
                for tool in order:
                    if tool == "gate":
                        seconds, cpu, own, child = run_gate(reference, scratch, env)
                        gate_times.append(seconds)
                        gate_cpu.append(cpu)
                        own_rss.append(own)
                        trivy_rss.append(child)
                    else:
                        seconds, cpu = run_trivy(layouts, scratch, env)
                        trivy_times.append(seconds)
                        trivy_cpu.append(cpu)
        finally:
            server.stop()
    gate_median, trivy_median = statistics.median(gate_times), statistics.median(trivy_times)
    ratio = gate_median / trivy_median
    peak = max(own_rss)
    print(f"runs: {args.runs} (medians; whole processes)")
    print(f"image-gate scan --sbom-fallback layers --scanner osv: {gate_median:.2f} s  (runs: {_list(gate_times)})")
    print(f"trivy image --input, both layouts:                   {trivy_median:.2f} s  (runs: {_list(trivy_times)})")
    print(f"ratio: {ratio:.2f}x (goal <= {GOAL_RATIO}x): {'met' if ratio <= GOAL_RATIO else 'NOT met'}")
    cpu_ratio = statistics.median(gate_cpu) / statistics.median(trivy_cpu)
    print(
        f"CPU seconds (user + system, Trivy included; less sensitive to a loaded machine): image-gate "
        f"{statistics.median(gate_cpu):.2f}, Trivy alone {statistics.median(trivy_cpu):.2f}: {cpu_ratio:.2f}x"
    )
    print(
        f"image-gate peak RSS: {peak:.1f} MiB (goal < {GOAL_RSS_MIB:.0f} MiB): "
        f"{'met' if peak < GOAL_RSS_MIB else 'NOT met'}; Trivy's own peak: {max(trivy_rss):.1f} MiB"
    )
    return 0


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
