#!/usr/bin/env python3
"""``outdated`` on 200 unique images against a serial ``crane digest`` loop (distribution 2.8 on loopback).

Pushes 200 one-platform images (one repository each), then moves half of their tags to a newer
image, and writes 20 production Dockerfiles that pin the first digests (every image used twice).
Times, best of N runs:
- the resolution in process: discovery + ``check_outdated`` with the registry resolver (GET manifest
  and config, for ``created``), and with HEAD only;
- the whole ``python -m gate outdated`` process, once that command exists;
- ``crane digest`` run once per reference, one after the other.
Goal: under 2 s, well under the serial loop.

    python3 bench/outdated.py [--images 200] [--runs 3] [--concurrency 8]
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

# Run as a script, bench/ is first on sys.path: put the repository there instead (for gate and tests).
sys.path[0] = dirname(dirname(abspath(__file__)))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

from gate.discover.images import Found, references  # noqa: E402
from gate.discover.outdated import OutdatedReport, check_outdated  # noqa: E402
from gate.discover.parser import parse  # noqa: E402
from gate.discover.resolve import RegistryResolver  # noqa: E402
from gate.oci.auth import CredentialStore  # noqa: E402
from gate.oci.pool import RegistryPool  # noqa: E402
from tests.support.client import RegistryClient, sha256_digest  # noqa: E402
from tests.support.registries import Registry, require_tool, start_distribution  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LAYER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # an empty gzip
PER_FILE = 10


def push(client: RegistryClient, repo: str, created: str) -> str:
    client.push_blob(repo, LAYER)
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": created, "rootfs": {"type": "layers"}})
    client.push_blob(repo, config.encode())
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256_digest(config.encode()),
                "size": len(config),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256_digest(LAYER), "size": 20}
            ],
        }
    ).encode()
    client.push_manifest(repo, "1", manifest, OCI_MANIFEST)
    return sha256_digest(manifest)


def populate(registry: Registry, count: int, tree: Path) -> list[str]:
    """Push the images, write the Dockerfiles; the tag references, in order."""
    client = RegistryClient(registry)
    pinned = []
    for n in range(count):
        pinned.append(push(client, f"bench/img{n}", f"2024-01-01T00:00:{n % 60:02d}Z"))
    for n in range(0, count, 2):
        push(client, f"bench/img{n}", f"2024-02-01T00:00:{n % 60:02d}Z")
    refs = [registry.ref(f"bench/img{n}", "1") for n in range(count)]
    for start in range(0, count, PER_FILE):
        lines = ["# image-gate: production-image"]
        for n in range(start, min(start + PER_FILE, count)):
            lines += [f"FROM {refs[n]}@{pinned[n]} AS s{n}", f"COPY --from={refs[n]}@{pinned[n]} /a /b{n}"]
        directory = tree / f"svc{start // PER_FILE:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "Dockerfile").write_text("\n".join(lines) + "\n")
    return refs


def discovered(tree: Path) -> list[Found]:
    found: list[Found] = []
    for path in sorted(tree.glob("*/Dockerfile")):
        found += references(parse(path.read_text()), str(path.relative_to(tree)), {})
    return found


def best_of(runs: int, action: Callable[[], object]) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    return best, result


def in_process(tree: Path, concurrency: int, read_created: bool) -> OutdatedReport:
    pool = RegistryPool(CredentialStore(), concurrency=concurrency)
    try:
        return check_outdated(discovered(tree), RegistryResolver(pool, read_created=read_created), concurrency=concurrency)
    finally:
        pool.close()


def command_exists(env: dict[str, str]) -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "gate", "outdated", "--help"], capture_output=True, env=env, cwd=REPO, check=False
    )
    return done.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    options = parser.parse_args()
    crane = require_tool("crane")
    work = Path(tempfile.mkdtemp(prefix="bench-outdated-"))
    server = start_distribution(work / "registry")
    try:
        tree = work / "tree"
        start = time.perf_counter()
        refs = populate(server.registry, options.images, tree)
        print(f"pushed {options.images} images and moved {len(range(0, options.images, 2))} tags in "
              f"{time.perf_counter() - start:.1f} s; {len(list(tree.glob('*/Dockerfile')))} Dockerfiles")  # fmt: skip

        full, report = best_of(options.runs, lambda: in_process(tree, options.concurrency, True))
        assert isinstance(report, OutdatedReport)
        if report.errors or len(report.outdated) != len(range(0, options.images, 2)):
            sys.exit(f"unexpected report: {len(report.outdated)} outdated, errors {dict(report.errors)}")
        head, _ = best_of(options.runs, lambda: in_process(tree, options.concurrency, False))
        print(f"in process, GET manifest + config (created): {full:.3f} s   HEAD only: {head:.3f} s "
              f"({options.images} tags, {len(report.outdated)} outdated, concurrency {options.concurrency})")  # fmt: skip

        env = {**os.environ, "PYTHONPATH": str(REPO)}
        whole = None
        if command_exists(env):
            command = [sys.executable, "-m", "gate", "outdated", str(tree), "--json"]
            whole, _ = best_of(
                options.runs, lambda: subprocess.run(command, capture_output=True, env=env, cwd=REPO, check=False)
            )
            print(f"whole process (python -m gate outdated): {whole:.3f} s")
        else:
            print("whole process: `python -m gate outdated` does not exist yet (not measured)")

        crane_env = {**os.environ, "HOME": str(work)}

        def serial() -> None:
            for ref in refs:
                subprocess.run([crane, "digest", "--insecure", ref], capture_output=True, env=crane_env, check=True)

        loop, _ = best_of(1, serial)
        print(f"serial crane digest loop: {loop:.3f} s")
        ours = whole if whole is not None else full
        what = "whole process" if whole is not None else "in process"
        verdict = "under" if ours < 2.0 else "OVER"
        print(f"ratio serial / ours ({what}): {loop / ours:.1f}x; {verdict} the 2 s goal "
              f"(HEAD only, as crane digest: {loop / head:.1f}x)")  # fmt: skip
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (the registry runs on the same ones)")
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
