"""Registry client throughput and memory on one large blob (distribution 2.8 on loopback).

    python3 bench/registry_blob.py [SIZE_MIB]      (default 1024)

Prints upload, streamed GET->PUT copy between two repositories, download, HEAD latency,
and the peak RSS of this process (the client streams in constant memory).
"""

from __future__ import annotations

import sys
from os.path import abspath, dirname

# Run as a script, bench/ is first on sys.path: put the repository there instead (for gate and tests).
sys.path[0] = dirname(dirname(abspath(__file__)))

import hashlib  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

from gate.oci.auth import CredentialStore  # noqa: E402
from gate.oci.pool import RegistryPool  # noqa: E402
from gate.oci.reference import parse_reference  # noqa: E402
from gate.oci.target import Descriptor  # noqa: E402
from tests.support.registries import start_distribution  # noqa: E402


def main() -> None:
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    size = mib * 1024 * 1024
    block = os.urandom(1024 * 1024)
    hasher = hashlib.sha256()
    for _ in range(mib):
        hasher.update(block)
    descriptor = Descriptor("application/octet-stream", "sha256:" + hasher.hexdigest(), size)

    @contextmanager
    def generated() -> Iterator[Iterator[bytes]]:
        yield (block for _ in range(mib))

    server = start_distribution(Path(tempfile.mkdtemp(prefix="bench-registry-")))
    try:
        registry = server.registry
        pool = RegistryPool(CredentialStore())
        source = pool.target(parse_reference(f"{registry.host}/bench/src:v1"))
        destination = pool.target(parse_reference(f"{registry.host}/bench/dst:v1"))
        start = time.monotonic()
        source.push_blob(descriptor, generated)
        upload = time.monotonic() - start
        start = time.monotonic()
        destination.push_blob(descriptor, lambda: source.open_blob(descriptor))
        copy = time.monotonic() - start
        start = time.monotonic()
        with destination.open_blob(descriptor) as chunks:
            for _ in chunks:
                pass
        download = time.monotonic() - start
        start = time.monotonic()
        destination.push_blob(descriptor, generated)  # present: one HEAD, no bytes
        warm = time.monotonic() - start
        pool.close()
    finally:
        server.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def rate(seconds: float) -> str:
        return f"{seconds:.2f}s ({mib / seconds:.0f} MiB/s)"

    print(
        f"blob {mib} MiB: upload {rate(upload)}, GET->PUT copy {rate(copy)}, download {rate(download)}, "
        f"warm push {warm * 1000:.1f} ms, peak RSS {rss:.0f} MiB"
    )


if __name__ == "__main__":
    main()
