#!/usr/bin/env python3
"""Multi-tag mirror benchmark: ``mirror SOURCE_REPO DEST_REPO --tags .`` against ``regctl image copy`` run
once per tag and ``skopeo sync`` of the repository, side by side, ratios printed.

Two CNCF distribution 2.8 registries on loopback. The source repository holds ``--tags`` tags (30 by
default), each an index of two platforms (linux/amd64, linux/arm64) whose base layers every tag shares
(3 x 8 MiB per platform, random so nothing compresses) plus one layer of its own per platform (128 KiB):
48 MiB shared, under 8 MiB unique. Written by the tests' independent client (``tests/mirror/tagged_repo``).

Each tool copies every tag from A to its own fresh repository on B, whole process (interpreter start-up
included), medians of ``--runs`` runs with the tools' order rotated each run:

- ``image-gate``: ONE process, ``python -m gate mirror A/repo B/dest --tags .`` (default concurrency 4:
  four tags at a time, every shared blob uploaded once);
- ``regctl``: ``regctl image copy A/repo:TAG B/dest:TAG`` once per tag, one after the other (a shell
  loop over ``regctl tag ls``; later tags find the shared blobs present);
- ``skopeo``: ``skopeo sync --all`` of the repository (one process, every tag);
- ``image-gate/tag`` (for reference, not in the ratios): ``python -m gate mirror`` once per tag, as the
  ``tags`` matrix runs it (one job per tag, here one process after another).

Every destination is checked afterwards: the same tags at the same digests as the source. The goal
(issue 14): image-gate at most 1.0x the fastest of regctl-per-tag and skopeo sync.

Usage: ``python3 bench/mirror_tags.py [--runs N] [--tags N]`` (needs ``make install`` for regctl;
docker-registry and skopeo from Debian).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from copy_image import Tools as CopyTools  # noqa: E402 - bench/ is the script's own directory
from copy_image import gate_mirror, timed  # noqa: E402

from tests.mirror.tagged_repo import push_tagged_repo  # noqa: E402
from tests.support.registries import Registry, start_distribution  # noqa: E402

MiB = 1024 * 1024
PYTHON = sys.executable
TOOLS = ("image-gate", "regctl", "skopeo", "image-gate/tag")
PEERS = ("regctl", "skopeo")
INDEX_ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"


class Tools(CopyTools):
    """bench/copy_image.py's tools (regctl and skopeo with their own config dirs, a fresh HOME per run),
    run once per tag or once per repository."""

    def run(self, tool: str, source: str, destination: str, tags: list[str]) -> tuple[float, dict[str, object]]:
        """Copy every tag of ``source`` (a repository on A) into ``destination`` (one on B); wall seconds
        and, for image-gate's single process, its JSON document."""
        env = self.env
        started = time.monotonic()
        document: dict[str, object] = {}
        if tool == "image-gate":
            out = timed(gate_mirror(source, destination, "--tags", "."), env)[1]
            document = json.loads(out)
        elif tool == "image-gate/tag":
            for tag in tags:
                timed([PYTHON, "-m", "gate", "mirror", f"{source}:{tag}", f"{destination}:{tag}"], env)
        elif tool == "regctl":
            listed = timed([self.regctl, *self.hosts, "tag", "ls", source], env)[1].split()
            for tag in listed:
                timed([self.regctl, *self.hosts, "image", "copy", f"{source}:{tag}", f"{destination}:{tag}"], env)
        else:
            # skopeo sync writes SOURCE's last path segment under the destination it is given.
            parent = destination.rsplit("/", 1)[0]
            timed(
                [
                    self.skopeo, "--policy", self.policy, "sync", "--all",
                    "--src", "docker", "--dest", "docker", "--src-tls-verify=false", "--dest-tls-verify=false",
                    source, parent,
                ],
                env,
            )  # fmt: skip
        return time.monotonic() - started, document


def tag_digests(registry: Registry, repository: str) -> dict[str, str]:
    """Every tag of ``repository`` and the digest it resolves to, read with plain HTTP (an independent reader)."""
    listed = requests.get(f"{registry.url}/v2/{repository}/tags/list", timeout=30).json().get("tags") or []
    found = {}
    for tag in listed:
        answer = requests.head(
            f"{registry.url}/v2/{repository}/manifests/{tag}", headers={"Accept": INDEX_ACCEPT}, timeout=30
        )
        found[tag] = answer.headers["Docker-Content-Digest"]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tags", type=int, default=30)
    args = parser.parse_args()
    tags = [f"1.{n // 10}.{n % 10}" for n in range(args.tags)]
    seconds: dict[str, list[float]] = {tool: [] for tool in TOOLS}
    documents: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-mirror-tags-") as tmp:
        scratch = Path(tmp)
        server_a, server_b = start_distribution(scratch / "a"), start_distribution(scratch / "b")
        try:
            a, b = server_a.registry, server_b.registry
            print(f"registries: A={a.host} B={b.host} (distribution 2.8, loopback)", file=sys.stderr)
            pushed = push_tagged_repo(
                a, "bench/app", tags, base_layers=3, base_size=8 * MiB, own_size=128 * 1024, reserved=False
            )
            expected = dict(pushed.images)
            tools = Tools(a, b, scratch)
            source = a.ref("bench/app")
            timed([PYTHON, "-m", "gate", "--help"], tools.env)  # bytecode compiled once, outside the timings
            for run in range(args.runs):
                order = TOOLS[run % len(TOOLS) :] + TOOLS[: run % len(TOOLS)]
                for tool in order:
                    slug = tool.replace("/", "-")
                    repository = f"bench/{slug}-{run}/app"
                    elapsed, document = tools.run(tool, source, b.ref(repository), tags)
                    seconds[tool].append(elapsed)
                    if document:
                        documents.append(document)
                    copied = tag_digests(b, repository)
                    if copied != expected:
                        raise SystemExit(f"{tool} run {run}: the destination's tags or digests differ from the source")
                    print(f"run {run}: {tool} {elapsed:.2f} s", file=sys.stderr)
        finally:
            server_a.stop()
            server_b.stop()
    report(seconds, documents, args.runs, len(tags))
    return 0


def report(seconds: dict[str, list[float]], documents: list[dict[str, object]], runs: int, count: int) -> None:
    median = {tool: statistics.median(values) for tool, values in seconds.items()}
    print(f"\n== {count} tags, 2 platforms each, sharing 3 x 8 MiB base layers per platform (+128 KiB of their own)")
    print(f"   whole process, wall seconds, median of {runs} alternated runs (all runs in brackets)")
    for tool in TOOLS:
        runs_text = " ".join(f"{v:.2f}" for v in seconds[tool])
        print(f"{tool:>16}: {median[tool]:7.2f} [{runs_text}]")
    fastest = min(PEERS, key=lambda peer: median[peer])
    for peer in PEERS:
        print(f"image-gate --tags / {peer} = {median['image-gate'] / median[peer]:.2f}x")
    print(
        f"image-gate --tags / fastest peer ({fastest}) = {median['image-gate'] / median[fastest]:.2f}x (goal <= 1.0x); "
        f"image-gate once per tag / image-gate --tags = {median['image-gate/tag'] / median['image-gate']:.2f}x"
    )
    totals = [document["totals"] for document in documents]
    uploaded = [t["blobs_uploaded"] for t in totals if isinstance(t, dict)]
    moved = [t["bytes_uploaded"] for t in totals if isinstance(t, dict)]
    print(f"image-gate --tags: blobs uploaded per run {uploaded}, bytes {moved} (each shared blob once)")


if __name__ == "__main__":
    sys.exit(main())
