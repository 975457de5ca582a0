#!/usr/bin/env python3
"""Attestation verification time, in process: 50 attestations, the mix a multi-platform scan meets.

    python3 bench/verify.py [--count N] [--repeat N]

Verifies ``--count`` attestations (default 50) under one policy: key-signed sigstore bundles (ECDSA
P-256, as cosign writes them), cosign legacy ``.att`` layers, and, when the real-world fixtures are
present beside the repository, keyless GitHub bundles checked by sigstore-python against their trusted
root. Prints the median over ``--repeat`` runs (after one warm-up, so imports are not counted) and the
one-time cost of importing sigstore-python and loading the policy. Goal: under 1 s.

Then what verified mode adds to a scan: the same two-platform image in an OCI layout, each platform with
a key-signed SBOM of ``--components`` npm packages (a sigstore bundle referrer, as ``cosign attest``
writes it), scanned in process with the OSV scanner on the project's test records, without a policy and
with ``--attestation-key --insecure-ignore-tlog``, in process and as whole ``python -m gate scan`` processes.
Prints the medians and the ratios (verified / without a policy), from one run. Goal: under 1.2. The scans are
measured in CPU seconds (the OSV scanner runs in process; a process's user + system time), which other jobs on a
shared machine disturb far less than wall-clock time.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This file is bench/verify.py: the bench folder must not shadow the gate package (or stdlib modules).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from gate.attest.verify.policy import VerificationPolicy  # noqa: E402
from gate.oci.layout import LayoutTarget  # noqa: E402
from gate.oci.target import Platform  # noqa: E402
from tests.oci.builders import push_image, push_index, push_referrer, with_platform  # noqa: E402

SIGSTORE = ROOT / ".." / "shared" / "fixtures" / "real-world" / "sigstore"
GITHUB_BUNDLE = SIGSTORE / "reusable-workflow-attestation.sigstore.json"
GITHUB_IDENTITY = (
    "https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml"
    "@09b495c3f12c7881b3cc17209a327792065c1a1d"
)
IN_TOTO = "application/vnd.in-toto+json"


def _statement(number: int) -> bytes:
    components = [
        {"type": "library", "name": f"pkg{i}", "version": "1.0.0", "purl": f"pkg:npm/pkg{i}@1.0.0"} for i in range(200)
    ]
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "example/app", "digest": {"sha256": hashlib.sha256(b"%d" % number).hexdigest()}}],
            "predicateType": "https://cyclonedx.org/bom",
            "predicate": {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": components},
        }
    ).encode()


def _envelope(key: ec.EllipticCurvePrivateKey, payload: bytes) -> dict[str, object]:
    pae = b"DSSEv1 %d %s %d %s" % (len(IN_TOTO), IN_TOTO.encode(), len(payload), payload)
    signature = key.sign(pae, ec.ECDSA(hashes.SHA256()))
    return {
        "payloadType": IN_TOTO,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"sig": base64.b64encode(signature).decode()}],
    }


def workload(count: int) -> tuple[VerificationPolicy, list[Callable[[], bool]]]:
    from gate.attest.verify.bundle import verify_bundle
    from gate.attest.verify.legacy import verify_legacy_layer

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    keyless = GITHUB_BUNDLE.is_file()
    options: dict[str, object] = {"keys": [pem.decode()], "insecure_ignore_tlog": True}
    if keyless:
        options.update(
            identity=GITHUB_IDENTITY,
            issuer="https://token.actions.githubusercontent.com",
            trusted_root=str(SIGSTORE / "trusted_root.json"),
        )
    policy = VerificationPolicy.build(**options)  # type: ignore[arg-type]
    jobs: list[Callable[[], bool]] = []
    for number in range(count):
        kind = number % 3 if keyless else number % 2
        if kind == 0:
            bundle = json.dumps(
                {
                    "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                    "verificationMaterial": {"publicKey": {"hint": ""}},
                    "dsseEnvelope": _envelope(key, _statement(number)),
                }
            ).encode()
            jobs.append(lambda data=bundle: verify_bundle(data, policy).verified)
        elif kind == 1:
            blob = json.dumps(_envelope(key, _statement(number))).encode()
            layer = {
                "mediaType": "application/vnd.dsse.envelope.v1+json",
                "digest": "sha256:" + hashlib.sha256(blob).hexdigest(),
                "size": len(blob),
            }
            jobs.append(lambda layer=layer, blob=blob: verify_legacy_layer(layer, blob, policy).verified)
        else:
            data = GITHUB_BUNDLE.read_bytes()
            jobs.append(lambda data=data: verify_bundle(data, policy).verified)
    return policy, jobs


BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
RECORDS = ROOT / "tests" / "data" / "osv" / "records"


def signed_image(folder: Path, key: ec.EllipticCurvePrivateKey, components: int) -> str:
    """A two-platform image in an OCI layout, each platform with a key-signed SBOM bundle referrer."""
    target = LayoutTarget(folder, create=True)
    children = []
    for arch in ("amd64", "arm64"):
        platform = Platform("linux", arch)
        image = push_image(target, platform)
        packages = [{"type": "library", "name": f"pkg{i}", "version": "1.0.0", "purl": f"pkg:npm/pkg{i}@1.0.0"}
                    for i in range(components - 1)]  # fmt: skip
        packages.append({"type": "library", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20"})
        statement = {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "bench/app", "digest": {"sha256": image.descriptor.digest.split(":")[1]}}],
            "predicateType": "https://cyclonedx.org/bom",
            "predicate": {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": packages},
        }
        bundle = {"mediaType": BUNDLE, "verificationMaterial": {"publicKey": {"hint": ""}},
                  "dsseEnvelope": _envelope(key, json.dumps(statement).encode())}  # fmt: skip
        annotations = {"dev.sigstore.bundle.predicateType": "https://cyclonedx.org/bom"}
        push_referrer(target, image, BUNDLE, json.dumps(bundle).encode(), annotations)
        children.append(with_platform(image, platform))
    push_index(target, children, "v1")
    return f"oci:{folder}:v1"


def scan_overhead(components: int, repeat: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Median scan time of the signed image without a policy and with the key that signed it: in process
    (warm), then as whole ``python -m gate scan`` processes (interpreter start-up and imports included)."""
    from bench.scan_layers import cpu_seconds  # not above: it loads requests, shortening the timed sigstore import
    from gate.scan.stage import ImageScanRequest, ScanSettings, scan_image

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    policy = VerificationPolicy.build(keys=[pem.decode()], insecure_ignore_tlog=True)
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as folder:
        image = signed_image(Path(folder) / "layout", key, components)
        key_file = Path(folder) / "signer.pub"
        key_file.write_bytes(pem)
        command = [sys.executable, "-m", "gate", "scan", image, "--scanner", "osv", "--osv-db", str(RECORDS),
                   "--sarif-output", str(Path(folder) / "cli.sarif"), "--json"]  # fmt: skip
        commands = [command, [*command, "--attestation-key", str(key_file), "--insecure-ignore-tlog"]]
        requests = []
        for verification in (VerificationPolicy(), policy):
            settings = ScanSettings(
                image, scanner="osv", scanner_options={"db": str(RECORDS)}, verification=verification
            )
            request = ImageScanRequest(settings, sarif_output=str(Path(folder) / "out.sarif"))
            outcome = scan_image(request)  # warm-up, and the check that both modes judge alike
            rows = outcome.to_json()["platforms"]
            if outcome.verdict != "fail" or any(row["sbom_verified"] != verification.enabled for row in rows):
                raise SystemExit("error: the scan of the benchmark image did not judge as expected")
            requests.append(request)
        for mode, argv in enumerate(commands):  # the same verdicts from the command line
            done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
            rows = json.loads(done.stdout)["platforms"] if done.stdout.strip() else []
            if done.returncode != 1 or [row["sbom_verified"] for row in rows] != [bool(mode)] * 2:
                raise SystemExit(f"error: {' '.join(argv)} exited {done.returncode}: {done.stderr[-500:]}")
        timings: list[list[float]] = [[], []]
        processes: list[list[float]] = [[], []]
        for _ in range(repeat):  # alternated, so a busy machine slows both alike
            for mode, request in enumerate(requests):
                started = time.process_time()
                scan_image(request)
                timings[mode].append(time.process_time() - started)
            for mode, argv in enumerate(commands):
                started = cpu_seconds()
                subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
                processes[mode].append(cpu_seconds() - started)
        medians = [statistics.median(times) for times in timings]
        whole = [statistics.median(times) for times in processes]
    return (medians[0], medians[1]), (whole[0], whole[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--components", type=int, default=2000, help="packages in each platform's SBOM")
    args = parser.parse_args()
    started = time.perf_counter()
    import sigstore.verify  # noqa: F401  (what verified mode pays once per process)

    imported = time.perf_counter() - started
    started = time.perf_counter()
    _policy, jobs = workload(args.count)
    prepared = time.perf_counter() - started
    if not all(job() for job in jobs):  # the warm-up: every attestation must verify
        print("error: an attestation of the workload did not verify", file=sys.stderr)
        return 1
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        for job in jobs:
            job()
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings)
    keyless = "with" if GITHUB_BUNDLE.is_file() else "without (fixtures absent)"
    print(f"attestations verified: {len(jobs)} ({keyless} keyless GitHub bundles)")
    print(f"verification, median of {args.repeat}: {median:.3f} s ({median / len(jobs) * 1000:.1f} ms each)")
    print(f"one-time: import sigstore-python {imported:.2f} s, policy and workload {prepared:.2f} s")
    print(f"goal < 1 s: {'met' if median < 1.0 else 'NOT met'}")
    (plain, verified), (plain_cli, verified_cli) = scan_overhead(args.components, args.repeat)
    ratio, ratio_cli = verified / plain, verified_cli / plain_cli
    print(
        f"scan of 2 platforms x {args.components} components, CPU s, median of {args.repeat}: without a policy "
        f"{plain:.3f} s, verified mode {verified:.3f} s; ratio {ratio:.2f} (goal < 1.20: {'met' if ratio < 1.2 else 'NOT met'})"
    )
    print(
        f"the same as whole python -m gate scan processes, CPU s: without a policy {plain_cli:.3f} s, verified mode "
        f"{verified_cli:.3f} s; ratio {ratio_cli:.2f} (goal < 1.20: {'met' if ratio_cli < 1.2 else 'NOT met'})"
    )
    return 0 if median < 1.0 and ratio < 1.2 and ratio_cli < 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
