"""``mirror SOURCE_REPO DEST_REPO --tags REGEX``: every matching tag copied at once, each blob the tags
share uploaded once (counted by a proxy in front of the destination, an independent referee), one
result per tag, a failing tag not stopping the others, reserved tags never copied."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gate import cli
from tests.mirror.tagged_repo import TaggedRepo, push_tagged_repo
from tests.support.client import RegistryClient
from tests.support.faults import FaultProxy, not_found_fault
from tests.support.registries import REPO_ROOT, Registry

pytestmark = pytest.mark.registry

UPLOAD = re.compile(r"/blobs/uploads/[^?]*\?(?:.*&)?digest=(sha256(?::|%3A)[0-9a-f]{64})")


def mirror_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = cli.main(["mirror", *argv, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def uploads(proxy: FaultProxy) -> Counter[str]:
    """Blob uploads completed through the proxy, by digest."""
    found: Counter[str] = Counter()
    for request in proxy.received(method="PUT", path="/blobs/uploads/"):
        match = UPLOAD.search(request.path)
        if match and request.status == 201:
            found[match.group(1).replace("%3A", ":")] += 1
    return found


def test_every_tag_once_each_shared_blob_once(
    forty: TaggedRepo,
    distribution_registry: Registry,
    unique_repo: str,
    fault_proxy: Callable[[Registry], FaultProxy],
    capsys: pytest.CaptureFixture[str],
) -> None:
    proxy = fault_proxy(distribution_registry)
    destination = proxy.registry.ref(unique_repo)
    code, document, err = mirror_json(capsys, forty.name, destination, "--tags", ".", "--concurrency", "8")
    assert code == 0, err
    results = {entry["tag"]: entry for entry in document["tags"]}
    assert sorted(results) == sorted(forty.images)
    for tag, entry in results.items():
        assert entry["state"] == "copied" and entry["error"] is None
        assert entry["digest"] == forty.images[tag]
        assert entry["destination"] == f"{destination}:{tag}" and entry["source"] == f"{forty.name}:{tag}"
    client = RegistryClient(distribution_registry)
    assert client.tags(unique_repo) == sorted(forty.images)  # no cosign, fallback or history tag
    for tag, digest in forty.images.items():
        body, _ = client.get_manifest(unique_repo, digest)
        assert json.loads(body)["manifests"][0]["digest"] == forty.children[digest][0], tag
    counted = uploads(proxy)
    assert counted, "the proxy saw no upload"
    assert max(counted.values()) == 1, [digest for digest, n in counted.items() if n > 1]
    assert all(counted[blob] == 1 for blob in forty.shared_blobs)
    totals = document["totals"]
    assert totals["blobs_uploaded"] == sum(counted.values()) and totals["copied"] == 40
    assert totals["failed"] == 0 and document["listed"] == 40 + len(forty.reserved)
    assert {d["reason"] for d in document["dropped"]} >= {"cosign-signature", "mirror-history"}
    assert sum(line.startswith("mirror: 1.") for line in err.splitlines()) == 39  # one line per tag (and latest)

    # A warm re-run: every tag up to date, nothing uploaded.
    proxy.clear()
    code, document, err = mirror_json(capsys, forty.name, destination, "--tags", ".")
    assert code == 0 and {entry["state"] for entry in document["tags"]} == {"up to date"}
    assert not uploads(proxy) and document["totals"]["blobs_uploaded"] == 0


def test_a_failing_tag_does_not_stop_the_others(
    forty: TaggedRepo,
    referrers_registry: Registry,
    unique_repo: str,
    fault_proxy: Callable[[Registry], FaultProxy],
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = fault_proxy(forty.registry)
    source.inject(not_found_fault(path=r"/manifests/1\.2\.3$", times=None))
    code, document, err = mirror_json(
        capsys, source.registry.ref(forty.repo), referrers_registry.ref(unique_repo), "--tags", r"^1\.2\.[2-4]$"
    )
    assert code == 2  # the failed tag's own exit code: its manifest is missing
    states = {entry["tag"]: entry["state"] for entry in document["tags"]}
    assert states == {"1.2.2": "copied", "1.2.3": "failed", "1.2.4": "copied"}
    failed = next(entry for entry in document["tags"] if entry["tag"] == "1.2.3")
    assert failed["error"]["exit_code"] == 2 and "1.2.3" in failed["error"]["message"]
    assert "mirror: 1.2.3: failed:" in err
    assert RegistryClient(referrers_registry).tags(unique_repo) == ["1.2.2", "1.2.4"]


def test_nothing_matches(forty: TaggedRepo, referrers_registry: Registry, unique_repo: str,
                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    code, document, _ = mirror_json(capsys, forty.name, referrers_registry.ref(unique_repo), "--tags", "^9")
    assert code == 0 and document["tags"] == [] and document["totals"]["tags"] == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["127.0.0.1:5999/a/b:1", "127.0.0.1:5999/c/d", "--tags", "."], "names a tag or digest; with --tags"),
        (["127.0.0.1:5999/a/b", "127.0.0.1:5999/c/d:1", "--tags", "."], "the destination"),
        (["127.0.0.1:5999/a/b", "127.0.0.1:5999/c/d", "--tags", "(("], "--tags: '((' is not a valid regular"),
        (["127.0.0.1:5999/a/b:1", "127.0.0.1:5999/c/d", "--exclude", "x"], "only applies with --tags"),
        (["127.0.0.1:5999/a/b@sha256:" + "a" * 64, "127.0.0.1:5999/c/d", "--history"], "needs a source tag"),
        (["127.0.0.1:5999/a/b:1", "127.0.0.1:5999/c/d", "--force"], "only applies with --history"),
        (
            ["127.0.0.1:5999/a/b:1", "127.0.0.1:5999/c/d", "--provenance", "--report-signing-key", "/nonexistent.pem"],
            "/nonexistent.pem",
        ),
    ],
)
def test_bad_input_exits_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["mirror", *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("provenance", [False, True], ids=["copy", "provenance"])
def test_many_tags_of_one_digest_at_once(
    distribution_registry: Registry, unique_repo: str, provenance: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """Twelve tags naming one index, copied at once: each manifest is written once and never while another
    copy's index push reads it (distribution's filesystem store rewrites a manifest's link on every push,
    and a push reading a half-written link answers MANIFEST_BLOB_UNKNOWN). With provenance, twelve
    statements on the one index, linked in turn through its ``sha256-<hex>`` fallback index: none lost."""
    aliases = {f"alias-{number}": "1.0.0" for number in range(11)}
    source = push_tagged_repo(
        distribution_registry, f"{unique_repo}-source", ["1.0.0"], aliases=aliases, reserved=False
    )
    [digest] = set(source.images.values())
    extra = ["--provenance"] if provenance else []
    client = RegistryClient(distribution_registry)
    for attempt in range(3):
        repo = f"{unique_repo}-{attempt}"
        destination = distribution_registry.ref(repo)
        code, document, err = mirror_json(
            capsys, source.name, destination, "--tags", ".", "--concurrency", "12", *extra
        )
        assert code == 0, err
        assert {entry["state"] for entry in document["tags"]} == {"copied"}
        assert document["totals"]["copied"] == 12
        tags = client.tags(repo)
        assert [tag for tag in tags if not tag.startswith("sha256-")] == sorted(source.images)
        subjects = [digest, *source.children[digest]] if provenance else []  # the index and each platform
        assert sorted(tag for tag in tags if tag.startswith("sha256-")) == sorted(s.replace(":", "-") for s in subjects)
        for subject in subjects:
            body, _ = client.get_manifest(repo, subject.replace(":", "-"))
            linked = [entry["annotations"]["com.toddysm.acquisition.source"] for entry in json.loads(body)["manifests"]]
            assert sorted(linked) == sorted(f"{source.name}:{tag}" for tag in source.images), subject


def test_matrix_jobs_mirroring_tags_of_one_digest_into_one_repository(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    """Eight processes at once (as eight matrix jobs of examples/mirror-all-tags.yml would), each mirroring
    one tag of the same index into one repository: no shared ledger across processes, so a push that
    distribution refuses for a child it holds (its link being rewritten by another job) is tried again."""
    aliases = {f"alias-{number}": "1.0.0" for number in range(7)}
    source = push_tagged_repo(
        distribution_registry, f"{unique_repo}-source", ["1.0.0"], aliases=aliases, reserved=False
    )
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    for attempt in range(2):
        repo = f"{unique_repo}-{attempt}"

        def one(tag: str, repo: str = repo) -> subprocess.CompletedProcess[str]:
            argv = [sys.executable, "-m", "gate", "mirror", f"{source.name}:{tag}",
                    distribution_registry.ref(repo, tag)]  # fmt: skip
            return subprocess.run(argv, capture_output=True, text=True, env=environ, cwd=REPO_ROOT, timeout=300)

        with ThreadPoolExecutor(max_workers=len(source.images)) as pool:
            done = list(pool.map(one, sorted(source.images)))
        assert [d.returncode for d in done] == [0] * len(done), [d.stderr for d in done if d.returncode]
        assert RegistryClient(distribution_registry).tags(repo) == sorted(source.images)
