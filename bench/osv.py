"""Benchmark: the offline OSV matcher vs osv-scanner on the same SBOM and the same database.

An SBOM of 2,000 components (npm, PyPI, Alpine apk with origins) against 100,000 synthetic OSV
records shaped like real ones (GHSA-style ids with CVE aliases, CVSS v3 vectors, several
introduced/fixed ranges, references, a paragraph of details), stored as osv.dev's per-ecosystem
``all.zip`` files. Goal: ours under 3 s including loading. Prints both times and the ratio.

    python3 bench/osv.py [--records 100000] [--components 2000] [--repeat 3] [--keep DIR]

Each run of ours starts cold (a new database object, version and name caches cleared); the
medians of ``--repeat`` runs are reported.
"""

from __future__ import annotations

import os
import sys

# bench/ holds copy.py, which would shadow the standard library's copy module: drop bench/ from the path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gate.scanners.base import ScanRequest  # noqa: E402
from gate.scanners.osv import OsvOptions, build_osv_scanner, versions  # noqa: E402
from gate.scanners.osv.db import name_key  # noqa: E402

VECTORS = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:H/PR:L/UI:N/S:U/C:N/I:N/A:L",
    "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H",
]
WORDS = [
    "parser",
    "overflow",
    "request",
    "header",
    "denial",
    "service",
    "crafted",
    "input",
    "remote",
    "attacker",
    "memory",
    "prototype",
]


def _ghsa(rng: random.Random) -> str:
    alphabet = "23456789cfghjmpqrvwx"
    return "GHSA-" + "-".join("".join(rng.choice(alphabet) for _ in range(4)) for _ in range(3))


def _details(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(80))


def _record(rng: random.Random, index: int, ecosystem: str, name: str) -> dict[str, object]:
    major = rng.randint(0, 9)
    if ecosystem.startswith("Alpine"):
        events = [
            {"introduced": "0"},
            {"fixed": f"{major}.{rng.randint(0, 20)}.{rng.randint(0, 9)}-r{rng.randint(0, 5)}"},
        ]
        return {
            "schema_version": "1.6.0",
            "id": f"ALPINE-CVE-2099-{index}",
            "modified": "2026-01-01T00:00:00Z",
            "upstream": [f"CVE-2099-{index}"],
            "details": _details(rng),
            "affected": [
                {"package": {"ecosystem": ecosystem, "name": name}, "ranges": [{"type": "ECOSYSTEM", "events": events}]}
            ],
            "references": [{"type": "ADVISORY", "url": f"https://security.alpinelinux.org/vuln/CVE-2099-{index}"}],
        }
    events = []
    for minor in sorted(rng.sample(range(0, 30), 2)):
        events += [{"introduced": f"{major}.{minor}.0"}, {"fixed": f"{major}.{minor}.{rng.randint(1, 20)}"}]
    ghsa = _ghsa(rng)
    return {
        "schema_version": "1.6.0",
        "id": ghsa,
        "modified": "2026-01-01T00:00:00Z",
        "published": "2025-01-01T00:00:00Z",
        "aliases": [f"CVE-2099-{index}"],
        "summary": " ".join(rng.choice(WORDS) for _ in range(8)),
        "details": _details(rng),
        "severity": [{"type": "CVSS_V3", "score": rng.choice(VECTORS)}],
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM" if ecosystem == "PyPI" else "SEMVER", "events": events}],
                "database_specific": {"source": f"https://github.com/github/advisory-database/blob/main/{ghsa}.json"},
            }
        ],
        "references": [
            {"type": "ADVISORY", "url": f"https://nvd.nist.gov/vuln/detail/CVE-2099-{index}"},
            {"type": "PACKAGE", "url": f"https://example.test/{name}"},
        ],
        "database_specific": {"severity": "HIGH", "github_reviewed": True, "cwe_ids": ["CWE-400"]},
    }


def build(root: Path, records: int, components: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    families = [("npm", "npm", 0.6), ("PyPI", "pypi", 0.25), ("Alpine:v3.23", "apk", 0.15)]
    names: dict[str, list[str]] = {
        eco: [f"{kind}-pkg-{i}" for i in range(int(20000 * share))] for eco, kind, share in families
    }
    archives = {eco: zipfile.ZipFile(_zip_path(root, eco), "w", zipfile.ZIP_DEFLATED) for eco, _, _ in families}
    for index in range(records):
        eco = rng.choices([f[0] for f in families], [f[2] for f in families])[0]
        record = _record(rng, index, eco, rng.choice(names[eco]))
        archives[eco].writestr(f"{record['id']}.json", json.dumps(record, indent=2))
    for archive in archives.values():
        archive.close()
    bom_components = []
    for _ in range(components):
        eco, kind, _share = rng.choices(families, [f[2] for f in families])[0]
        name = rng.choice(names[eco])
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
        if kind == "apk":
            version += f"-r{rng.randint(0, 5)}"
            purl = f"pkg:apk/alpine/{name}-libs@{version}?arch=x86_64&distro=alpine-3.23.3&upstream={name}"
            bom_components.append({"type": "library", "name": f"{name}-libs", "version": version, "purl": purl})
        else:
            bom_components.append(
                {"type": "library", "name": name, "version": version, "purl": f"pkg:{kind}/{name}@{version}"}
            )
    sbom = root / "bench.cdx.json"
    sbom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": bom_components}))
    return sbom


def _zip_path(root: Path, ecosystem: str) -> Path:
    path = root / "db" / "osv-scalibr" / ecosystem.split(":")[0] / "all.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--components", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each scanner (medians reported)")
    parser.add_argument("--keep", type=Path, help="build the data here and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="osv-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    sbom = build(root, args.records, args.components)
    print(f"data: {args.records} records, {args.components} components, built in {time.perf_counter() - started:.1f} s")

    times = []
    for _ in range(args.repeat):
        versions.parse.cache_clear()
        name_key.cache_clear()
        started = time.perf_counter()
        scanner = build_osv_scanner(OsvOptions(db=str(root / "db" / "osv-scalibr")), lambda _m: None)
        result = scanner.scan(ScanRequest(sbom, "cyclonedx", "bench", "linux/amd64", "sha256:" + "0" * 64))
        times.append(time.perf_counter() - started)
        scanner.database.close()
    ours = statistics.median(times)
    findings = len(result.run["results"])
    by_ecosystem: dict[str, int] = {}
    for item in result.run["results"]:
        family = item["properties"]["ecosystem"].split(":")[0]
        by_ecosystem[family] = by_ecosystem.get(family, 0) + 1
    print(
        f"image-gate osv: median {ours:.2f} s of {args.repeat} (load + match; min {min(times):.2f} s), "
        f"{findings} findings {by_ecosystem}, {len(result.unchecked)} unchecked"
    )

    tool = shutil.which("osv-scanner", path=str(ROOT / ".cache" / "tools" / "bin"))
    if tool is None:
        print("osv-scanner not installed (bash scripts/install-tools.sh): no ratio")
        return 0 if ours < 3.0 else 1
    their_times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        completed = subprocess.run(
            [tool, "scan", "source", "--offline-vulnerabilities", "--local-db-path", str(root / "db"), "-L", str(sbom), "--format", "json"],
            capture_output=True, text=True, env=dict(os.environ, HOME=str(root)), check=False,
        )  # fmt: skip
        their_times.append(time.perf_counter() - started)
    theirs = statistics.median(their_times)
    vulns = sum(
        len(p.get("vulnerabilities") or [])
        for r in json.loads(completed.stdout or "{}").get("results") or []
        for p in r.get("packages") or []
    )
    print(f"osv-scanner 2.6.0: median {theirs:.2f} s of {args.repeat}, {vulns} vulnerabilities (exit {completed.returncode})")
    print(
        "  (apk components are '<origin>-libs' with upstream=<origin>: osv-scanner does not read the origin from an SBOM)"
    )
    print(f"ratio ours/osv-scanner: {ours / theirs:.2f}  (goal for ours: < 3 s: {'met' if ours < 3.0 else 'NOT met'})")
    if args.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if ours < 3.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
