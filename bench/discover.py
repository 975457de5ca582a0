#!/usr/bin/env python3
"""Discovery time on a large tree against its floor, ``git ls-files`` alone.

Builds (once) a synthetic git work tree of 50,000 files, 1,000 of them Dockerfiles
(half production, multi-stage, with ARGs, heredocs and COPY --from), then times
``git ls-files`` and the whole ``python -m gate discover --json`` CLI, N runs of each
alternated (a burst of load from elsewhere hits both alike), and prints the best and median
wall times, the median CPU time (user + system, which other processes' load barely moves)
and their ratios. Goal: discover within 3x the floor, by every one of the three.

    python3 bench/discover.py [--dir /tmp/image-gate-bench] [--files 50000] [--dockerfiles 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from scan_layers import cpu_seconds  # bench/ is the script's own directory

REPO = Path(__file__).resolve().parent.parent
DIGEST = "sha256:" + "ab" * 32
NAMES = ("Dockerfile", "Dockerfile.prod", "api.Dockerfile", "Containerfile", "tool.dockerfile")


def dockerfile_text(index: int) -> str:
    marker = "# image-gate: production-image\n" if index % 2 == 0 else ""
    pinned = f"@{DIGEST}" if index % 10 else ""
    return (
        f"# syntax=docker/dockerfile:1\n{marker}"
        f"ARG BASE=python:3.12-slim{pinned}\n"
        f"FROM golang:1.22@{DIGEST} AS build{index}\n"
        "WORKDIR /src\n"
        "RUN --mount=type=cache,target=/root/.cache \\\n    go build -o /out/app ./...\n"
        "RUN <<EOF\nset -e\necho FROM not-an-image\nEOF\n"
        "FROM ${BASE}\n"
        f"COPY --from=build{index} /out/app /app\n"
        f"COPY --from=ghcr.io/acme/tool{index % 50}:1@{DIGEST} /tool /tool\n"
        'CMD ["/app"]\n'
    )


def build_tree(root: Path, files: int, dockerfiles: int) -> None:
    stamp = root / ".bench-complete"
    if stamp.exists() and stamp.read_text() == f"{files} {dockerfiles}\n":
        return
    subprocess.run(["rm", "-rf", str(root)], check=True)
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".gitignore").write_text("ignored/\n")
    every = max(1, files // dockerfiles)
    made = 0
    for index in range(files):
        directory = root / f"pkg{index % 500:03d}" / f"mod{index % 37:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        if made < dockerfiles and index % every == 0:
            name = NAMES[made % len(NAMES)]
            (directory / f"svc{index}").mkdir(exist_ok=True)
            (directory / f"svc{index}" / name).write_text(dockerfile_text(made))
            made += 1
        else:
            (directory / f"file{index}.txt").write_text(f"content {index}\n")
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.invalid",
            "commit",
            "-qm",
            "bench",
        ],
        check=True,
    )
    stamp.write_text(f"{files} {dockerfiles}\n")


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run."""
    cpu = cpu_seconds()
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    wall = time.perf_counter() - start
    cpu = cpu_seconds() - cpu
    if result.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed with exit code {result.returncode}")
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", default="/tmp/image-gate-bench", help="where to build the synthetic tree")
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--dockerfiles", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    root = Path(args.dir)
    build_tree(root, args.files, args.dockerfiles)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("GITHUB_ACTIONS", None)
    env.pop("GITHUB_OUTPUT", None)
    env.pop("GITHUB_STEP_SUMMARY", None)

    floor_cmd = ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    discover_cmd = [sys.executable, "-m", "gate", "discover", str(root), "--json"]
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode compiled once, as an installed package has it
    timed(discover_cmd, env)  # warm the page cache
    runs: dict[str, list[tuple[float, float]]] = {"floor": [], "discover": []}
    for run in range(args.runs):
        order = [("floor", floor_cmd), ("discover", discover_cmd)]
        for name, command in order if run % 2 == 0 else order[::-1]:
            runs[name].append(timed(command, env))

    def figures(name: str) -> tuple[float, float, float]:
        walls = [w for w, _ in runs[name]]
        return min(walls), statistics.median(walls), statistics.median(c for _, c in runs[name])

    floor, discover = figures("floor"), figures("discover")
    print(f"tree: {root} ({args.files} files, {args.dockerfiles} Dockerfiles), {args.runs} alternated runs")
    print(f"{'':22}{'best wall':>12}{'median wall':>13}{'median CPU':>12}")
    print(f"{'git ls-files (floor)':22}" + "".join(f"{v * 1000:10.1f} ms" for v in floor))
    print(f"{'gate discover --json':22}" + "".join(f"{v * 1000:10.1f} ms" for v in discover))
    ratios = [d / f for d, f in zip(discover, floor, strict=True)]
    print(f"{'ratio':22}" + "".join(f"{r:12.2f}x" for r in ratios) + "  (goal: within 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
