#!/usr/bin/env python3
"""Copy benchmark: image-gate mirror against regctl and skopeo, side by side, one run, ratios printed.

Two CNCF distribution 2.8 registries on loopback. The image: 2 platforms x 4 layers of 32 MiB
(random, so nothing compresses) and 8 referrers. Each tool copies to its own fresh repository:

- cold copy: registry A -> registry B (goal: image-gate <= 1.0x the fastest peer);
- warm re-run: the same copy again (goal: < 0.5 s, zero blob bytes moved);
- same-registry promotion: A/src -> A/promoted-<tool> (mount: zero blob bytes moved);
- peak RSS copying a single 1 GiB layer A -> B (goal: < 100 MiB), measured with
  ``resource.getrusage(RUSAGE_CHILDREN)`` in a wrapper process around each tool.

Peers: ``regctl image copy --referrers`` and ``skopeo copy --all`` (image only: skopeo does not copy
referrers). ``oras cp -r`` is not installable on this machine (the Go proxy refuses it), so it is not run.

Usage: ``python3 bench/copy_image.py`` (needs ``make install`` for regctl; docker-registry and skopeo from Debian).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gate.oci.layout import LayoutTarget  # noqa: E402
from gate.oci.target import Descriptor  # noqa: E402
from tests.oci.builders import (  # noqa: E402
    AMD64,
    ARM64,
    CONFIG,
    LAYER,
    SBOM_TYPE,
    SIG_TYPE,
    manifest_of,
    push_blob,
    push_image,
    push_index,
    push_referrer,
    with_platform,
)
from tests.support.registries import Registry, require_tool, start_distribution  # noqa: E402

MiB = 1024 * 1024
LAYER_SIZE = 32 * MiB
LAYERS = 4
BIG_LAYER = 1024 * MiB
PYTHON = sys.executable

RSS_WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "t = time.monotonic(); code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.monotonic() - t, code)\n"
)


def build_source(layout: LayoutTarget) -> None:
    amd = push_image(layout, AMD64, layers=LAYERS, layer_size=LAYER_SIZE)
    arm = push_image(layout, ARM64, layers=LAYERS, layer_size=LAYER_SIZE)
    index = push_index(layout, [with_platform(amd, AMD64), with_platform(arm, ARM64)], "v1")
    for i, subject in enumerate([amd, arm, index, amd, arm, index, amd, arm]):
        kind = SBOM_TYPE if i % 2 == 0 else SIG_TYPE
        push_referrer(layout, subject, kind, os.urandom(4096))


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
        self.regctl = require_tool("regctl")
        self.skopeo = require_tool("skopeo")
        self.hosts = ["--host", a.regctl_host(), "--host", b.regctl_host()]
        policy = scratch / "policy.json"
        policy.write_text('{"default":[{"type":"insecureAcceptAnything"}]}')
        self.policy = str(policy)

    def command(self, tool: str, source: str, destination: str) -> list[str]:
        if tool == "image-gate":
            return gate_mirror(source, destination, "--copy-referrers")
        if tool == "regctl":
            return [self.regctl, *self.hosts, "image", "copy", "--referrers", source, destination]
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


def timed(command: list[str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def peak_rss(command: list[str]) -> tuple[float, float]:
    done = subprocess.run(
        [PYTHON, "-c", RSS_WRAPPER, *command],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    kib, seconds, code = done.stdout.split()
    if code != "0":
        raise SystemExit(f"failed: {' '.join(command)}")
    return int(kib) / 1024, float(seconds)


def warm_cache(root: Path) -> None:
    for path in root.rglob("data"):
        with path.open("rb") as handle:
            while handle.read(8 * MiB):
                pass


def main() -> int:
    tools_names = ["image-gate", "regctl", "skopeo"]
    with tempfile.TemporaryDirectory(prefix="bench-copy-") as tmp:
        scratch = Path(tmp)
        server_a = start_distribution(scratch / "a")
        server_b = start_distribution(scratch / "b")
        try:
            a, b = server_a.registry, server_b.registry
            tools = Tools(a, b, scratch)
            print(f"registries: A={a.host} B={b.host} (distribution 2.8, loopback)", file=sys.stderr)
            seed = LayoutTarget(scratch / "seed", create=True)
            build_source(seed)
            timed(gate_mirror(f"oci:{seed.path}:v1", a.ref("bench/src", "v1"), "--copy-referrers"))
            big = LayoutTarget(scratch / "big", create=True)
            build_big(big, scratch)
            timed(gate_mirror(f"oci:{big.path}:big", a.ref("bench/big", "v1")))
            shutil.rmtree(scratch / "seed")
            shutil.rmtree(scratch / "big")
            warm_cache(scratch / "a")

            results: dict[str, dict[str, float | str]] = {name: {} for name in tools_names}
            source = a.ref("bench/src", "v1")
            for name in tools_names:
                destination = b.ref(f"bench/{name}", "v1")
                cold, out = timed(tools.command(name, source, destination))
                warm, warm_out = timed(tools.command(name, source, destination))
                promote, promote_out = timed(tools.command(name, source, a.ref(f"bench/promoted-{name}", "v1")))
                results[name].update(cold=cold, warm=warm, promote=promote)
                if name == "image-gate":
                    cold_doc, warm_doc, promote_doc = json.loads(out), json.loads(warm_out), json.loads(promote_out)
                    results[name].update(
                        cold_bytes=cold_doc["bytes_copied"],
                        cold_inner=float(cold_doc["seconds"]),
                        warm_inner=float(warm_doc["seconds"]),
                        promote_inner=float(promote_doc["seconds"]),
                        warm_bytes=warm_doc["bytes_copied"],
                        warm_up_to_date=str(warm_doc["up_to_date"]),
                        promote_bytes=promote_doc["bytes_copied"],
                        promote_mounted=promote_doc["blobs_mounted"],
                        referrers=f"{cold_doc['referrers_copied']}/{cold_doc['referrers_total']}",
                    )
            big_source = a.ref("bench/big", "v1")
            for name in tools_names:
                rss, seconds = peak_rss(tools.command(name, big_source, b.ref(f"bench/big-{name}", "v1")))
                results[name].update(rss=rss, big_seconds=seconds)
        finally:
            server_a.stop()
            server_b.stop()

    report(results)
    return 0


def report(results: dict[str, dict[str, float | str]]) -> None:
    def num(name: str, key: str) -> float:
        value = results[name][key]
        assert isinstance(value, float)
        return value

    peers = ["regctl", "skopeo"]
    rows: list[tuple[str, Callable[[str], str]]] = [
        ("cold copy A->B (s)", lambda n: f"{num(n, 'cold'):.2f}"),
        ("warm re-run (s)", lambda n: f"{num(n, 'warm'):.2f}"),
        ("same-registry promotion (s)", lambda n: f"{num(n, 'promote'):.2f}"),
        ("1 GiB layer copy (s)", lambda n: f"{num(n, 'big_seconds'):.2f}"),
        ("1 GiB layer peak RSS (MiB)", lambda n: f"{num(n, 'rss'):.1f}"),
    ]
    names = ["image-gate", *peers]
    print("image: 2 platforms x 4 layers x 32 MiB + 8 referrers; skopeo copies the image only (no referrers)")
    print("oras: not run (oras is not installable here: the Go module proxy refuses it)")
    print(f"{'':32}" + "".join(f"{n:>14}" for n in names))
    for label, cell in rows:
        print(f"{label:32}" + "".join(f"{cell(n):>14}" for n in names))
    ours = results["image-gate"]
    fastest_cold = min(num(p, "cold") for p in peers)
    fastest_promote = min(num(p, "promote") for p in peers)
    print()
    print(f"cold copy: image-gate / fastest peer = {num('image-gate', 'cold') / fastest_cold:.2f}x (goal <= 1.0x)")
    for peer in peers:
        print(f"  vs {peer}: {num('image-gate', 'cold') / num(peer, 'cold'):.2f}x")
    print(
        f"warm re-run: {num('image-gate', 'warm'):.2f} s (goal < 0.5 s), blob bytes moved {ours['warm_bytes']}, "
        f"up_to_date {ours['warm_up_to_date']}; vs fastest peer "
        f"{num('image-gate', 'warm') / min(num(p, 'warm') for p in peers):.2f}x"
    )
    print(
        f"promotion: {num('image-gate', 'promote'):.2f} s, blob bytes moved {ours['promote_bytes']}, "
        f"blobs mounted {ours['promote_mounted']}; vs fastest peer {num('image-gate', 'promote') / fastest_promote:.2f}x"
    )
    print(
        f"image-gate in-process copy time (--json seconds, without interpreter start-up): cold "
        f"{num('image-gate', 'cold_inner'):.2f} s, warm {num('image-gate', 'warm_inner'):.2f} s, "
        f"promotion {num('image-gate', 'promote_inner'):.2f} s"
    )
    print(f"peak RSS, 1 GiB layer: {num('image-gate', 'rss'):.1f} MiB (goal < 100 MiB)")
    print(f"referrers copied by image-gate: {ours['referrers']}; cold bytes {ours['cold_bytes']}")


if __name__ == "__main__":
    sys.exit(main())
