#!/usr/bin/env python3
"""``python -m gate outdated`` on 200 unique images, whole process, against a serial ``crane digest`` loop
(distribution 2.8 on loopback).

Pushes 200 one-platform images (one repository each), then moves half of their tags to a newer
image, and writes 20 production Dockerfiles that pin the first digests (every image used twice).
Times, best of N runs:
- the whole ``python -m gate outdated --json`` process, no scanning (the figure the goal is about): each
  tag read with GET (manifest and image config, for ``created``), and each moved pin's digest too;
- its phases in process: discovery + ``check_outdated`` with the registry resolver, with GET (as the
  command) and with HEAD only (as ``pin`` and ``crane digest``), and the command's import time;
- ``crane digest`` run once per reference, one after the other.
Goal: under 2 s, well under the serial loop.

    python3 bench/outdated.py [--images 200] [--runs 3] [--concurrency 4]
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
    """Discovery and every lookup in this process (no interpreter start, no imports, no output)."""
    pool = RegistryPool(CredentialStore(), concurrency=concurrency)
    try:
        return check_outdated(
            discovered(tree), RegistryResolver(pool, read_created=read_created), concurrency=concurrency
        )
    finally:
        pool.close()


def whole_process(tree: Path, concurrency: int, env: dict[str, str], expected: int) -> float:
    """One ``python -m gate outdated`` run, checked: exit 0 and the expected number of outdated images."""
    command = [sys.executable, "-m", "gate", "outdated", str(tree), "--json", "--concurrency", str(concurrency)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"python -m gate outdated exited {done.returncode}:\n{done.stderr[-2000:]}")
    document = json.loads(done.stdout)
    if document["outdated_count"] != expected or any(image["error"] for image in document["images"]):
        sys.exit(f"unexpected report: {document['outdated_count']} outdated (expected {expected})")
    return elapsed


def import_time(env: dict[str, str]) -> float:
    """The command's modules imported, less a bare interpreter start (best of 5)."""

    def run(code: str) -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, check=True)
            best = min(best, time.perf_counter() - start)
        return best

    return run("import gate.cli, gate.config, gate.commands.outdated") - run("pass")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4, help="--concurrency of the command (default: 4)")
    options = parser.parse_args()
    crane = require_tool("crane")
    work = Path(tempfile.mkdtemp(prefix="bench-outdated-"))
    server = start_distribution(work / "registry")
    try:
        tree = work / "tree"
        start = time.perf_counter()
        refs = populate(server.registry, options.images, tree)
        moved = len(range(0, options.images, 2))
        print(f"pushed {options.images} images and moved {moved} tags in "
              f"{time.perf_counter() - start:.1f} s; {len(list(tree.glob('*/Dockerfile')))} Dockerfiles")  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO)}

        whole = min(whole_process(tree, options.concurrency, env, moved) for _ in range(options.runs))
        print(f"whole process, python -m gate outdated --concurrency {options.concurrency}: {whole:.3f} s "
              f"(best of {options.runs})")  # fmt: skip

        full, report = best_of(options.runs, lambda: in_process(tree, options.concurrency, True))
        assert isinstance(report, OutdatedReport)
        if report.errors or len(report.outdated) != moved:
            sys.exit(f"unexpected report: {len(report.outdated)} outdated, errors {dict(report.errors)}")
        head, _ = best_of(options.runs, lambda: in_process(tree, options.concurrency, False))
        imports = import_time(env)
        print(f"  in process: discovery + lookups, GET manifest + config (created) {full:.3f} s, HEAD only "
              f"{head:.3f} s; the command's imports {imports:.3f} s")  # fmt: skip

        crane_env = {**os.environ, "HOME": str(work)}

        def serial() -> None:
            for ref in refs:
                subprocess.run([crane, "digest", "--insecure", ref], capture_output=True, env=crane_env, check=True)

        loop, _ = best_of(1, serial)
        print(f"serial crane digest loop over the {len(refs)} references: {loop:.3f} s")
        verdict = "met" if whole < 2.0 and whole < loop / 2 else "NOT met"
        print(f"ratio serial / whole process: {loop / whole:.1f}x; goal (under 2 s, well under the loop): {verdict}")
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (the registry runs on the same ones)")
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
