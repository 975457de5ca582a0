"""``gate.discover.outdated`` and its registry resolver, against real registries on loopback."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gate.discover.images import Found, references
from gate.discover.outdated import OutdatedReport, ResolvedTag, check_outdated, tag_reference
from gate.discover.parser import parse
from gate.discover.pin import pin_dockerfile, read_snapshot, write_pinned
from gate.discover.resolve import RegistryResolver, parse_created
from gate.errors import RuntimeFailure
from gate.oci.auth import CredentialStore
from gate.oci.http import RetryPolicy
from gate.oci.pool import RegistryPool
from gate.oci.reference import ImageReference, parse_reference
from tests.support.client import RegistryClient, sha256_digest
from tests.support.faults import FaultProxy, status_fault
from tests.support.images import CREATED, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, build_image, crane, random_layer
from tests.support.registries import Registry

FAST_RETRY = RetryPolicy(attempts=2, initial_wait=0.01, max_wait=0.01, jitter=0.0)
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def push_image(registry: Registry, repo: str, tag: str, created: str, seed: int) -> str:
    """A one-platform image whose config says ``created``, tagged ``tag``; its manifest digest."""
    client = RegistryClient(registry)
    layer, diff_id = random_layer(random.Random(seed), 512)
    client.push_blob(repo, layer)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": created,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    ).encode()
    client.push_blob(repo, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha256_digest(config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": sha256_digest(layer), "size": len(layer)}],
        }
    ).encode()
    client.push_manifest(repo, tag, manifest, OCI_MANIFEST)
    return sha256_digest(manifest)


@pytest.fixture
def resolver() -> Iterator[RegistryResolver]:
    pool = RegistryPool(CredentialStore(), retry=FAST_RETRY)
    try:
        yield RegistryResolver(pool)
    finally:
        pool.close()


def found_in(text: str, path: str = "Dockerfile") -> list[Found]:
    return references(parse(text), path, {})


def entry_for(report: OutdatedReport, image: str) -> dict[str, object]:
    (entry,) = [e.to_json() for e in report.entries if e.image == image]
    return entry


def test_a_tag_moved_to_a_newer_image(
    distribution_registry: Registry,
    unique_repo: str,
    fault_proxy: Callable[[Registry], FaultProxy],
    resolver: RegistryResolver,
    tmp_path: Path,
) -> None:
    old = push_image(distribution_registry, unique_repo, "v1", "2024-01-01T00:00:00Z", seed=1)
    new = push_image(distribution_registry, unique_repo, "v1", "2024-01-24T12:00:00.123456789Z", seed=2)
    assert old != new
    proxy = fault_proxy(distribution_registry)
    name = proxy.registry.ref(unique_repo)
    text = f"FROM {name}:v1@{old} AS a\nFROM {name}:v1\nCOPY --from={name}:v1@{old} /a /b\n"
    report = check_outdated(found_in(text), resolver)

    assert new == crane(proxy.registry, "digest", f"{name}:v1").strip()  # the referee agrees
    assert entry_for(report, f"{name}:v1@{old}") == {
        "image": f"{name}:v1@{old}",
        "tag": "v1",
        "digest": old,
        "current_digest": new,
        "outdated": True,
        "created": "2024-01-01T00:00:00Z",
        "current_created": "2024-01-24T12:00:00Z",
        "age_days": 23,
        "locations": [
            {"path": "Dockerfile", "line": 1, "instruction": "FROM"},
            {"path": "Dockerfile", "line": 3, "instruction": "COPY"},
        ],
        "error": None,
    }
    unpinned = entry_for(report, f"{name}:v1")
    assert (unpinned["digest"], unpinned["current_digest"], unpinned["outdated"]) == (None, new, False)
    assert (unpinned["created"], unpinned["age_days"]) == (None, None)
    assert [e.image for e in report.outdated] == [f"{name}:v1@{old}"]
    assert report.digests == {f"{name}:v1": new} and report.errors == {}
    assert not report.all_failed
    # One lookup of the tag for both entries, one of the pinned digest for its created.
    assert len(proxy.received(method="GET", path=f"/v2/{unique_repo}/manifests/v1$")) == 1
    assert len(proxy.received(method="GET", path=f"/v2/{unique_repo}/manifests/{old}$")) == 1

    # pin --update writes what outdated found; outdated then reports nothing behind.
    (tmp_path / "Dockerfile").write_text(text)
    snapshot = read_snapshot(tmp_path, "Dockerfile")
    pinned = pin_dockerfile(snapshot.name, snapshot.data, report.digests, update=True, errors=report.errors)
    assert write_pinned(snapshot, pinned)
    assert (tmp_path / "Dockerfile").read_text() == text.replace(old, new).replace(f"{name}:v1\n", f"{name}:v1@{new}\n")
    after = check_outdated(found_in((tmp_path / "Dockerfile").read_text()), resolver)
    ((only),) = [e.to_json() for e in after.entries]
    assert (only["digest"], only["outdated"], only["age_days"]) == (new, False, 0)
    assert only["created"] == only["current_created"] == "2024-01-24T12:00:00Z"


def test_an_index_is_dated_by_its_first_platform(distribution_registry: Registry, unique_repo: str) -> None:
    image = build_image(distribution_registry, unique_repo, "v2", buildkit_attestations=True)
    pool = RegistryPool(CredentialStore(), retry=FAST_RETRY)
    try:
        resolved = RegistryResolver(pool)(parse_reference(image.ref))
        by_digest = RegistryResolver(pool)(parse_reference(image.by_digest))
        head_only = RegistryResolver(pool, read_created=False)(parse_reference(image.ref))
    finally:
        pool.close()
    assert resolved == ResolvedTag(image.digest, dt.datetime.fromisoformat(CREATED))
    assert by_digest == resolved
    assert head_only == ResolvedTag(image.digest, None)


def test_a_registry_failing_for_one_image_is_that_entrys_error(
    distribution_registry: Registry,
    unique_repo: str,
    fault_proxy: Callable[[Registry], FaultProxy],
    resolver: RegistryResolver,
) -> None:
    good = push_image(distribution_registry, f"{unique_repo}/good", "1", "2024-02-01T00:00:00Z", seed=3)
    push_image(distribution_registry, f"{unique_repo}/bad", "1", "2024-02-01T00:00:00Z", seed=4)
    proxy = fault_proxy(distribution_registry)
    proxy.inject(status_fault(500, path=f"/v2/{unique_repo}/bad/manifests/", times=None))
    host = proxy.registry.host
    text = f"FROM {host}/{unique_repo}/good:1\nFROM {host}/{unique_repo}/bad:1@{D1}\n"
    report = check_outdated(found_in(text), resolver)
    bad = entry_for(report, f"{host}/{unique_repo}/bad:1@{D1}")
    assert bad["current_digest"] is None and bad["outdated"] is False
    assert isinstance(bad["error"], str) and "500" in bad["error"] and f"{unique_repo}/bad:1" in bad["error"]
    assert entry_for(report, f"{host}/{unique_repo}/good:1")["current_digest"] == good
    assert report.lookups == 2 and not report.all_failed
    assert list(report.errors) == [f"{host}/{unique_repo}/bad:1"]
    # pin leaves the failed one as it is and says why
    pinned = pin_dockerfile("Dockerfile", text.encode(), report.digests, update=True, errors=report.errors)
    assert pinned.data.decode() == text.replace("good:1\n", f"good:1@{good}\n")
    assert [r.reason for r in pinned.refused] == [report.errors[f"{host}/{unique_repo}/bad:1"]]

    proxy.inject(status_fault(500, path=f"/v2/{unique_repo}/good/manifests/", times=None))
    assert check_outdated(found_in(text), resolver).all_failed


def test_a_pinned_digest_the_registry_no_longer_has(
    distribution_registry: Registry, unique_repo: str, resolver: RegistryResolver
) -> None:
    current = push_image(distribution_registry, unique_repo, "1", "2024-03-01T00:00:00Z", seed=5)
    name = distribution_registry.ref(unique_repo)
    report = check_outdated(found_in(f"FROM {name}:1@{D1}\n"), resolver)
    (entry,) = report.entries
    assert (entry.current_digest, entry.outdated, entry.created, entry.age_days) == (current, True, None, None)
    assert entry.error is not None and entry.error.startswith(f"pinned digest {D1}: ")
    assert not report.all_failed


def test_an_unreachable_registry(resolver: RegistryResolver) -> None:
    report = check_outdated(found_in("FROM 127.0.0.1:9/team/app:1\n"), resolver)
    assert report.all_failed
    assert report.entries[0].error and "127.0.0.1:9" in report.entries[0].error


# --- without a registry: the grouping, the bound and the rules ---------------------------------


class CountingResolver:
    def __init__(self, answers: dict[str, ResolvedTag | Exception]) -> None:
        self.answers = answers
        self.calls: list[str] = []
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def __call__(self, reference: ImageReference) -> ResolvedTag:
        with self.lock:
            self.calls.append(str(reference))
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.005)  # gives other workers the chance to overlap; nothing is timed
        with self.lock:
            self.running -= 1
        answer = self.answers.get(str(reference), ResolvedTag(D2))
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_each_tag_is_resolved_once_and_at_most_n_at_a_time() -> None:
    lines = [f"FROM ghcr.io/acme/app{n % 20}:1\nCOPY --from=ghcr.io/acme/app{n % 20}:1@{D2} / /\n" for n in range(60)]
    resolve = CountingResolver({})
    report = check_outdated(found_in("".join(lines)), resolve, concurrency=3)
    assert sorted(resolve.calls) == sorted(f"ghcr.io/acme/app{n}:1" for n in range(20))
    assert resolve.most <= 3
    assert len(report.entries) == 40 and report.lookups == 20
    assert not report.outdated


def test_what_is_not_looked_up() -> None:
    text = f"FROM alpine@{D1}\nFROM $MISSING\nFROM scratch\nFROM alpine:3@sha256:abc\n"
    resolve = CountingResolver({})
    report = check_outdated(found_in(text), resolve)
    assert resolve.calls == ["docker.io/library/alpine:3"]
    (entry,) = report.entries
    assert (entry.image, entry.digest, entry.current_digest, entry.outdated) == (
        "docker.io/library/alpine:3@sha256:abc",
        None,
        D2,
        False,
    )
    assert check_outdated([], resolve) == OutdatedReport((), {}, {})
    assert not check_outdated([], resolve).all_failed


def test_a_resolver_answering_an_invalid_digest_is_an_error() -> None:
    report = check_outdated(
        found_in("FROM alpine:3\n"), CountingResolver({"docker.io/library/alpine:3": ResolvedTag("md5:x")})
    )
    assert report.all_failed and "invalid digest" in (report.entries[0].error or "")


def test_errors_and_bugs() -> None:
    failing = CountingResolver({"docker.io/library/alpine:3": RuntimeFailure("registry down")})
    report = check_outdated(found_in("FROM alpine:3\n"), failing)
    assert report.errors == {"docker.io/library/alpine:3": "registry down"}
    with pytest.raises(KeyError):
        check_outdated(found_in("FROM alpine:3\n"), CountingResolver({"docker.io/library/alpine:3": KeyError("bug")}))
    with pytest.raises(ValueError, match="concurrency"):
        check_outdated([], failing, concurrency=0)


def test_age_can_be_negative_when_a_tag_moves_back() -> None:
    older, newer = dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 11, tzinfo=dt.UTC)
    resolve = CountingResolver(
        {"docker.io/library/alpine:3": ResolvedTag(D2, older), f"docker.io/library/alpine@{D1}": ResolvedTag(D1, newer)}
    )
    (entry,) = check_outdated(found_in(f"FROM alpine:3@{D1}\n"), resolve).entries
    assert (entry.outdated, entry.age_days) == (True, -10)


def test_tag_reference() -> None:
    assert tag_reference(parse_reference("alpine")) == "docker.io/library/alpine:latest"
    assert tag_reference(parse_reference(f"ghcr.io/a/b:1@{D1}")) == "ghcr.io/a/b:1"
    assert tag_reference(parse_reference(f"ghcr.io/a/b@{D1}")) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-24T12:00:00Z", dt.datetime(2024, 1, 24, 12, tzinfo=dt.UTC)),
        ("2024-01-24T12:00:00.123456789Z", dt.datetime(2024, 1, 24, 12, 0, 0, 123456, tzinfo=dt.UTC)),
        ("2024-01-24T14:00:00+02:00", dt.datetime(2024, 1, 24, 12, tzinfo=dt.UTC)),
        ("2024-01-24T12:00:00", None),
        ("2024-01-24", None),
        ("yesterday", None),
        ("2024-01-24T12:00:00Z" + " " * 100, None),
        (1706097600, None),
        (None, None),
    ],
)
def test_parse_created(value: object, expected: dt.datetime | None) -> None:
    assert parse_created(value) == expected
