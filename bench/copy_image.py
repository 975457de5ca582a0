#!/usr/bin/env python3
"""Copy benchmark: image-gate mirror against oras, regctl and skopeo, side by side, ratios printed.

Two CNCF distribution 2.8 registries on loopback (no referrers API: every tool uses the
``sha256-<hex>`` tag fallback). Two images, each copied by every tool to its own fresh repository:

- large: 2 platforms x 4 layers x 16 MiB (random, so nothing compresses), with an SBOM and a
  provenance referrer per platform, a signature on the index and a signature on the amd64 SBOM
  (a referrer of a referrer): 9 manifests;
- small: a BuildKit-style index (2 platforms, 2 in-index attestations, 2 x 256 KiB layers per
  platform), an SBOM per platform, a signature on the index and on the first SBOM: 9 manifests.

Per image and tool, whole process (interpreter start-up included), medians of ``--runs`` runs with
the tools' order rotated each run (alternated, so a burst of load hits each tool alike):

- cold copy: registry A -> registry B, referrers included (goal: image-gate <= 1.0x the fastest of
  oras and regctl);
- warm re-run: the same copy again (goal: image-gate <= 3x oras);
- same-registry promotion: A/src -> A/promoted-<tool>-<run> (goal: <= 2x the fastest peer, zero blob
  bytes moved);

and once per tool, the peak RSS copying a single 1 GiB layer A -> B (goal: image-gate < 100 MiB),
measured with ``resource.getrusage(RUSAGE_CHILDREN)`` in a wrapper process around each tool.

Peers: ``oras cp -r``, ``regctl image copy --referrers``, and ``skopeo copy --all`` (image only:
skopeo does not copy referrers, so it is listed but not in the ratios). After the first cold copy,
every destination's referrers are counted to show that each tool copied what it was asked to.

Usage: ``python3 bench/copy_image.py [--runs N] [--case large|small|all] [--no-big]``
(needs ``make install`` for oras and regctl; docker-registry and skopeo from Debian).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gate.oci.layout import LayoutTarget  # noqa: E402
from gate.oci.target import Descriptor, Manifest  # noqa: E402
from tests.oci.builders import (  # noqa: E402
    AMD64,
    ARM64,
    CONFIG,
    INTOTO,
    LAYER,
    SBOM_TYPE,
    SIG_TYPE,
    build_image,
    manifest_of,
    push_blob,
    push_image,
    push_index,
    push_referrer,
    with_platform,
)
from tests.support.registries import Registry, require_tool, start_distribution  # noqa: E402

MiB = 1024 * 1024
BIG_LAYER = 1024 * MiB
PYTHON = sys.executable
TOOLS = ("image-gate", "oras", "regctl", "skopeo")
REFERRER_PEERS = ("oras", "regctl")  # skopeo copies no referrers: not a peer for the ratios
OPERATIONS = ("cold", "warm", "promote")

RSS_WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t = time.monotonic(); code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.monotonic() - t, code)\n"
)


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    build: Callable[[LayoutTarget], None]


def build_large(layout: LayoutTarget) -> None:
    amd = push_image(layout, AMD64, layers=4, layer_size=16 * MiB)
    arm = push_image(layout, ARM64, layers=4, layer_size=16 * MiB)
    index = push_index(layout, [with_platform(amd, AMD64), with_platform(arm, ARM64)], "v1")
    sboms: list[Manifest] = []
    for image in (amd, arm):
        sboms.append(push_referrer(layout, image, SBOM_TYPE, os.urandom(64 * 1024)))
        push_referrer(
            layout,
            image,
            INTOTO,
            os.urandom(8 * 1024),
            {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v1"},
        )
    push_referrer(layout, index, SIG_TYPE, os.urandom(512))
    push_referrer(layout, sboms[0], SIG_TYPE, os.urandom(512))


def build_small(layout: LayoutTarget) -> None:
    build_image(layout, "v1", layer_size=256 * 1024)


CASES = (
    Case(
        "large",
        "2 platforms x 4 layers x 16 MiB + SBOM and provenance per platform, signature on index and SBOM",
        build_large,
    ),
    Case(
        "small",
        "BuildKit index, 2 platforms + 2 attestations, 256 KiB layers, 4 referrers (one of a referrer)",
        build_small,
    ),
)


def build_big(layout: LayoutTarget, scratch: Path) -> None:
    """One image with a single 1 GiB layer, written in chunks (the bench itself stays small)."""
    path = scratch / "big.layer"
    hasher = hashlib.sha256()
    with path.open("wb") as handle:
        for _ in range(BIG_LAYER // (8 * MiB)):
            chunk = os.urandom(8 * MiB)
            hasher.update(chunk)
            handle.write(chunk)
    layer = Descriptor(LAYER, "sha256:" + hasher.hexdigest(), BIG_LAYER)
    target = layout.path / "blobs" / "sha256" / hasher.hexdigest()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path, target)
    config = push_blob(layout, json.dumps({"os": "linux", "architecture": "amd64"}).encode(), CONFIG)
    manifest = manifest_of(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": CONFIG, "digest": config.digest, "size": config.size},
            "layers": [{"mediaType": LAYER, "digest": layer.digest, "size": layer.size}],
        }
    )
    layout.push_manifest(manifest, "big")


def gate_mirror(source: str, destination: str, *extra: str) -> list[str]:
    return [PYTHON, "-m", "gate", "mirror", source, destination, "--json", *extra]


class Tools:
    def __init__(self, a: Registry, b: Registry, scratch: Path) -> None:
        self.oras = require_tool("oras")
        self.regctl = require_tool("regctl")
        self.skopeo = require_tool("skopeo")
        self.hosts = ["--host", a.regctl_host(), "--host", b.regctl_host()]
        policy = scratch / "policy.json"
        policy.write_text('{"default":[{"type":"insecureAcceptAnything"}]}')
        self.policy = str(policy)
        self.scratch = scratch
        self.runs = 0
        # Each tool's own config dirs, empty: no credential helper or cache of the machine's. Python
        # as installed: bytecode compiled once (pip compiles an installed package; without this, a
        # PYTHONDONTWRITEBYTECODE environment recompiles every module of image-gate in every run).
        environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.base_env = {
            **environ,
            "PYTHONPATH": str(REPO),
            "PYTHONPYCACHEPREFIX": str(scratch / "pycache"),
            "DOCKER_CONFIG": str(scratch / "docker"),
        }

    @property
    def env(self) -> dict[str, str]:
        """A fresh HOME per run: skopeo remembers where it saw a blob (its blob-info cache) and would
        mount it from an earlier destination instead of copying it, which no other tool does."""
        self.runs += 1
        return {**self.base_env, "HOME": str(self.scratch / f"home-{self.runs}")}

    def command(self, tool: str, source: str, destination: str, *, referrers: bool = True) -> list[str]:
        if tool == "image-gate":
            return gate_mirror(source, destination, *(["--copy-referrers"] if referrers else []))
        if tool == "oras":
            return [
                self.oras,
                "cp",
                *(["-r"] if referrers else []),
                "--from-plain-http",
                "--to-plain-http",
                source,
                destination,
            ]
        if tool == "regctl":
            return [
                self.regctl,
                *self.hosts,
                "image",
                "copy",
                *(["--referrers"] if referrers else []),
                source,
                destination,
            ]
        return [
            self.skopeo,
            "--policy",
            self.policy,
            "copy",
            "--all",
            "--quiet",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            f"docker://{source}",
            f"docker://{destination}",
        ]


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def peak_rss(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    done = subprocess.run([PYTHON, "-c", RSS_WRAPPER, *command], capture_output=True, text=True, cwd=REPO, env=env)
    kib, seconds, code = done.stdout.split()
    if code != "0":
        raise SystemExit(f"failed: {' '.join(command)}")
    return int(kib) / 1024, float(seconds)


def warm_cache(root: Path) -> None:
    for path in root.rglob("data"):
        with path.open("rb") as handle:
            while handle.read(8 * MiB):
                pass


def referrer_count(registry: Registry, repository: str) -> int:
    """Referrers listed in a repository's ``sha256-<hex>`` fallback indexes (distribution 2.8)."""
    tags = requests.get(f"{registry.url}/v2/{repository}/tags/list", timeout=30).json().get("tags") or []
    count = 0
    for tag in tags:
        if tag.startswith("sha256-"):
            index = requests.get(
                f"{registry.url}/v2/{repository}/manifests/{tag}",
                headers={"Accept": "application/vnd.oci.image.index.v1+json"},
                timeout=30,
            ).json()
            count += len(index.get("manifests", []))
    return count


@dataclass
class Figures:
    seconds: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)  # (case, tool, op) -> runs
    gate_docs: dict[tuple[str, str], list[dict[str, object]]] = field(default_factory=dict)  # (case, op) -> docs
    referrers: dict[tuple[str, str], int] = field(default_factory=dict)  # (case, tool|source) -> count
    rss: dict[str, tuple[float, float]] = field(default_factory=dict)  # tool -> (MiB, seconds)

    def median(self, case: str, tool: str, op: str) -> float:
        return statistics.median(self.seconds[(case, tool, op)])


def run_case(case: Case, a: Registry, b: Registry, tools: Tools, runs: int, figures: Figures) -> None:
    source = a.ref(f"bench/{case.name}-src", "v1")
    figures.referrers[(case.name, "source")] = referrer_count(a, f"bench/{case.name}-src")
    for run in range(runs):
        order = TOOLS[run % len(TOOLS) :] + TOOLS[: run % len(TOOLS)]
        for op in OPERATIONS:
            for tool in order:
                if op == "promote":
                    destination = a.ref(f"bench/{case.name}-promoted-{tool}-{run}", "v1")
                else:
                    destination = b.ref(f"bench/{case.name}-{tool}-{run}", "v1")
                seconds, out = timed(tools.command(tool, source, destination), tools.env)
                figures.seconds.setdefault((case.name, tool, op), []).append(seconds)
                if tool == "image-gate":
                    figures.gate_docs.setdefault((case.name, op), []).append(json.loads(out))
    for tool in TOOLS:
        figures.referrers[(case.name, tool)] = referrer_count(b, f"bench/{case.name}-{tool}-0")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--case", choices=["large", "small", "all"], default="all")
    parser.add_argument("--no-big", action="store_true", help="skip the 1 GiB peak-RSS copy")
    args = parser.parse_args()
    cases = [c for c in CASES if args.case in ("all", c.name)]
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="bench-copy-") as tmp:
        scratch = Path(tmp)
        server_a = start_distribution(scratch / "a")
        server_b = start_distribution(scratch / "b")
        try:
            a, b = server_a.registry, server_b.registry
            tools = Tools(a, b, scratch)
            print(f"registries: A={a.host} B={b.host} (distribution 2.8, loopback)", file=sys.stderr)
            for case in cases:
                seed = LayoutTarget(scratch / f"seed-{case.name}", create=True)
                case.build(seed)
                timed(
                    gate_mirror(f"oci:{seed.path}:v1", a.ref(f"bench/{case.name}-src", "v1"), "--copy-referrers"),
                    tools.env,
                )
                shutil.rmtree(seed.path)
            if not args.no_big:
                big = LayoutTarget(scratch / "big", create=True)
                build_big(big, scratch)
                timed(gate_mirror(f"oci:{big.path}:big", a.ref("bench/big", "v1")), tools.env)
                shutil.rmtree(big.path)
            warm_cache(scratch / "a")
            for case in cases:
                run_case(case, a, b, tools, args.runs, figures)
            if not args.no_big:
                for tool in TOOLS:
                    command = tools.command(
                        tool, a.ref("bench/big", "v1"), b.ref(f"bench/big-{tool}", "v1"), referrers=False
                    )
                    figures.rss[tool] = peak_rss(command, tools.env)
        finally:
            server_a.stop()
            server_b.stop()
    for case in cases:
        report_case(case, figures, args.runs)
    if figures.rss:
        report_rss(figures)
    return 0


def report_case(case: Case, figures: Figures, runs: int) -> None:
    name = case.name
    print(f"\n== {name}: {case.title}")
    print(f"   whole process, wall seconds, median of {runs} alternated runs (all runs in brackets)")
    print(f"{'':26}" + "".join(f"{tool:>22}" for tool in TOOLS))
    labels = {"cold": "cold copy A->B (s)", "warm": "warm re-run (s)", "promote": "promotion A->A (s)"}
    for op in OPERATIONS:
        cells = []
        for tool in TOOLS:
            values = figures.seconds[(name, tool, op)]
            cells.append(f"{statistics.median(values):.2f} [" + " ".join(f"{v:.2f}" for v in values) + "]")
        print(f"{labels[op]:26}" + "".join(f"{cell:>22}" for cell in cells))
    counts = " ".join(f"{tool} {figures.referrers[(name, tool)]}" for tool in TOOLS)
    print(f"referrers at the destination after the cold copy: source {figures.referrers[(name, 'source')]}; {counts}")

    def ratio(op: str, peers: tuple[str, ...]) -> tuple[float, str]:
        fastest = min(peers, key=lambda p: figures.median(name, p, op))
        return figures.median(name, "image-gate", op) / figures.median(name, fastest, op), fastest

    cold, cold_peer = ratio("cold", REFERRER_PEERS)
    warm = figures.median(name, "image-gate", "warm") / figures.median(name, "oras", "warm")
    promote, promote_peer = ratio("promote", REFERRER_PEERS)
    promote_all, promote_all_peer = ratio("promote", ("oras", "regctl", "skopeo"))
    docs = {op: figures.gate_docs[(name, op)] for op in OPERATIONS}

    def inner(op: str) -> str:
        return f"{statistics.median(float(str(d['seconds'])) for d in docs[op]):.2f}"

    print(f"cold copy:   image-gate / fastest of oras, regctl ({cold_peer}) = {cold:.2f}x (goal <= 1.0x)")
    print(
        f"warm re-run: image-gate / oras = {warm:.2f}x (goal <= 3x); blob bytes moved "
        f"{[d['bytes_copied'] for d in docs['warm']]}, up_to_date {[d['up_to_date'] for d in docs['warm']]}"
    )
    print(
        f"promotion:   image-gate / fastest of oras, regctl ({promote_peer}) = {promote:.2f}x, "
        f"/ fastest of all ({promote_all_peer}) = {promote_all:.2f}x (goal <= 2x); blob bytes moved "
        f"{[d['bytes_copied'] for d in docs['promote']]}, mounted {[d['blobs_mounted'] for d in docs['promote']]}"
    )
    print(
        f"image-gate in-process copy (--json seconds, no interpreter start-up), medians: cold {inner('cold')} s, "
        f"warm {inner('warm')} s, promotion {inner('promote')} s; cold bytes {docs['cold'][0]['bytes_copied']}, "
        f"referrers {docs['cold'][0]['referrers_copied']}/{docs['cold'][0]['referrers_total']}"
    )


def report_rss(figures: Figures) -> None:
    print("\n== one 1 GiB layer A->B (image only), once per tool")
    print(f"{'':26}" + "".join(f"{tool:>14}" for tool in TOOLS))
    print(f"{'copy (s)':26}" + "".join(f"{figures.rss[tool][1]:>14.2f}" for tool in TOOLS))
    print(f"{'peak RSS (MiB)':26}" + "".join(f"{figures.rss[tool][0]:>14.1f}" for tool in TOOLS))
    print(f"peak RSS, 1 GiB layer: image-gate {figures.rss['image-gate'][0]:.1f} MiB (goal < 100 MiB)")


if __name__ == "__main__":
    sys.exit(main())
