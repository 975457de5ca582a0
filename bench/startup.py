#!/usr/bin/env python3
"""Start-up: ``python -m gate COMMAND --help`` for every command, whole process, against the interpreter alone.

Each run starts every command once, in an order rotated from run to run (a burst of load hits each
alike); per command the median and the best wall time of ``--runs`` runs are printed, beside
``python -c pass`` (the floor no Python program starts under) and the imports ``-X importtime``
attributes to image-gate (everything after ``site``, best of the runs). Goal: every ``--help`` under
0.15 s. Bytecode is compiled once beforehand, as an installed package has it.

    python3 bench/startup.py [--runs N] [COMMAND ...]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gate.commands import available  # noqa: E402

GOAL = 0.15
IMPORT = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| (\S+)")  # top-level modules only (one space)


def environment() -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "GITHUB_ACTIONS")}
    return {**environ, "PYTHONPATH": str(REPO)}


def wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=REPO, check=True)
    return time.perf_counter() - started


def imports_ms(command: list[str], env: dict[str, str]) -> float:
    """Milliseconds of imports after ``site`` (the interpreter's own start-up and site-packages hooks)."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]], capture_output=True, text=True, env=env, cwd=REPO, check=True
    )
    return sum(int(m[1]) for m in IMPORT.finditer(done.stderr) if m[2] != "site") / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("commands", nargs="*", help="default: every command, and the top-level --help")
    args = parser.parse_args()
    env = environment()
    names = args.commands or [*available(), ""]
    commands = {"python -c pass": [sys.executable, "-c", "pass"]}
    for name in names:
        commands[f"{name or '(all)'} --help"] = [sys.executable, "-m", "gate", *([name] if name else []), "--help"]
    for command in commands.values():
        wall(command, env)  # bytecode compiled, page cache warm
    seconds: dict[str, list[float]] = {label: [] for label in commands}
    imported: dict[str, list[float]] = {label: [] for label in commands}
    labels = list(commands)
    for run in range(args.runs):
        for label in labels[run % len(labels) :] + labels[: run % len(labels)]:
            seconds[label].append(wall(commands[label], env))
            imported[label].append(imports_ms(commands[label], env))
    floor = statistics.median(seconds["python -c pass"])
    print(f"whole process, wall seconds over {args.runs} alternated runs; imports after site, best run (ms)")
    print(f"{'':22}{'median':>9}{'best':>9}{'imports':>10}{'- floor':>10}  goal < {GOAL} s")
    worst = ("", 0.0)
    for label in labels:
        median = statistics.median(seconds[label])
        verdict = "" if label == "python -c pass" else ("met" if median < GOAL else "NOT met")
        print(
            f"{label:22}{median:9.3f}{min(seconds[label]):9.3f}{min(imported[label]):10.1f}"
            f"{(median - floor) * 1000:10.1f}  {verdict}"
        )
        if label != "python -c pass" and label != "(all) --help" and median > worst[1]:
            worst = (label, median)
    print(f"slowest command --help: {worst[0]} {worst[1]:.3f} s = {worst[1] / GOAL:.2f}x the 0.15 s goal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
