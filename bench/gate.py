#!/usr/bin/env python3
"""Gate time on a large SARIF: 25,000 Trivy-shaped results (5,000 rules), whole CLI and in process.

    python3 bench/gate.py [--results N] [--rules N] [--repeat N]

Prints the median of each measurement and the phases of the in-process evaluation
(JSON parse, schema validation, findings extraction, policy, the --json document written as the
CLI writes it, without its redaction pass). Goal: ``evaluate`` under 1 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
# This file is bench/gate.py: the bench folder must not shadow the gate package (or stdlib modules).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from gate.policy.sarif import gc_paused, parse_sarif, validate_sarif  # noqa: E402
from gate.policy.verdict import GateOptions, evaluate  # noqa: E402

SEVERITIES = [
    ("CRITICAL", "9.8", "error"),
    ("HIGH", "7.5", "error"),
    ("MEDIUM", "5.5", "warning"),
    ("LOW", "2.0", "note"),
]


def generate(results: int, rules: int) -> dict[str, Any]:
    rule_list, result_list = [], []
    for i in range(rules):
        label, score, level = SEVERITIES[i % 4]
        vuln = f"CVE-2024-{10000 + i}"
        rule_list.append(
            {
                "id": vuln,
                "name": "OsPackageVulnerability",
                "shortDescription": {"text": f"pkg{i}: a vulnerability in something"},
                "fullDescription": {"text": "A long description of the vulnerability. " * 5},
                "defaultConfiguration": {"level": level},
                "helpUri": f"https://avd.aquasec.com/nvd/{vuln.lower()}",
                "help": {
                    "text": f"Vulnerability {vuln}\nSeverity: {label}\nPackage: pkg{i}\nFixed Version: 2.0\n",
                    "markdown": f"**Vulnerability {vuln}**\n| Severity | Package |\n|{label}|pkg{i}|",
                },
                "properties": {
                    "precision": "very-high",
                    "security-severity": score,
                    "tags": ["vulnerability", "security", label],
                },
            }
        )
    for j in range(results):
        i = j % rules
        label, _, level = SEVERITIES[i % 4]
        vuln = f"CVE-2024-{10000 + i}"
        fixed = "2.0" if j % 3 else ""
        result_list.append(
            {
                "ruleId": vuln,
                "ruleIndex": i,
                "level": level,
                "message": {
                    "text": f"Package: pkg{j}\nInstalled Version: 1.{j}\nVulnerability {vuln}\nSeverity: {label}\n"
                    f"Fixed Version: {fixed}\nLink: [{vuln}](https://avd.aquasec.com/nvd/{vuln.lower()})"
                },
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": "library/app", "uriBaseId": "ROOTPATH"},
                            "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
                        },
                        "message": {"text": f"library/app: pkg{j}@1.{j}"},
                    }
                ],
            }
        )
    return {
        "version": "2.1.0",
        "$schema": "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/main/sarif-2.1/schema/sarif-schema-2.1.0.json",
        "runs": [
            {
                "tool": {"driver": {"name": "Trivy", "version": "0.69.3", "rules": rule_list}},
                "results": result_list,
                "columnKind": "utf16CodeUnits",
                "properties": {"image": "registry.test/app:1", "platform": "linux/amd64"},
            }
        ],
    }


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=int, default=25_000)
    parser.add_argument("--rules", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.sarif"
        path.write_text(json.dumps(generate(args.results, args.rules)), encoding="utf-8")
        size = path.stat().st_size / (1024 * 1024)
        print(f"SARIF: {args.results} results, {args.rules} rules, {size:.1f} MiB")

        cli = []
        for _ in range(args.repeat):
            elapsed, completed = timed(
                lambda: subprocess.run(
                    [sys.executable, "-m", "gate", "evaluate", str(path), "--json"],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
            )
            if completed.returncode not in (0, 1):
                print(completed.stderr, file=sys.stderr)
                return 1
            cli.append(elapsed)
        startup = [
            timed(
                lambda: subprocess.run(
                    [sys.executable, "-m", "gate", "evaluate", "--help"], cwd=ROOT, capture_output=True
                )
            )[0]
            for _ in range(args.repeat)
        ]

        names = ("json", "validate", "extract", "policy", "output")
        phases: dict[str, list[float]] = {name: [] for name in (*names, "total")}
        for _ in range(args.repeat):
            with gc_paused():  # the phases of load_sarif, as it runs them
                marks = [time.perf_counter()]
                document = orjson.loads(path.read_bytes())
                marks.append(time.perf_counter())
                validate_sarif(document, str(path))
                marks.append(time.perf_counter())
                runs = parse_sarif(document, str(path), validate=False)
                del document  # as load_sarif: freed before the collector resumes
                marks.append(time.perf_counter())
            result = evaluate(runs, GateOptions())
            marks.append(time.perf_counter())
            json.dumps(result.to_json(), indent=2, ensure_ascii=False)  # --json, as gate/cli.py writes it
            marks.append(time.perf_counter())
            for name, start, end in zip(names, marks, marks[1:], strict=False):
                phases[name].append(end - start)
            phases["total"].append(marks[-1] - marks[0])

    med = statistics.median
    print(f"verdict {result.verdict}, {len(result.blocking)} blocking, counts {dict(result.counts)}")
    print(f"python -m gate evaluate (whole CLI, --json): median {med(cli):.3f} s  (min {min(cli):.3f} s)")
    print(f"python -m gate evaluate --help (interpreter + the command's imports): median {med(startup):.3f} s")
    print("in process: " + ", ".join(f"{name} {med(values):.3f} s" for name, values in phases.items()))
    goal = "met" if med(cli) < 1.0 else "NOT met"
    print(f"goal (< 1 s for evaluate): {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
