#!/usr/bin/env python3
"""Attestation verification time, in process: 50 attestations, the mix a multi-platform scan meets.

    python3 bench/verify.py [--count N] [--repeat N]

Verifies ``--count`` attestations (default 50) under one policy: key-signed sigstore bundles (ECDSA
P-256, as cosign writes them), cosign legacy ``.att`` layers, and, when the real-world fixtures are
present beside the repository, keyless GitHub bundles checked by sigstore-python against their trusted
root. Prints the median over ``--repeat`` runs (after one warm-up, so imports are not counted) and the
one-time cost of importing sigstore-python and loading the policy. Goal: under 1 s.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This file is bench/verify.py: the bench folder must not shadow the gate package (or stdlib modules).
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from gate.attest.verify.policy import VerificationPolicy  # noqa: E402

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
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
    return 0 if median < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
