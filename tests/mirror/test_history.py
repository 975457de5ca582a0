"""The mirror history against real registries, with oras (the seed system's tool) as the independent
writer and reader: the seed format field by field, skipping what it records (even after the image left
the destination), --force, a history written by hand, concurrent mirrors updating one history, a lost
update retried, the 10,000-entry cap, and a tag that is not a history never overwritten."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gate import cli
from gate.errors import GateError
from gate.mirror.history import HistoryEntry, read_history, record
from gate.oci.target import Manifest, PushResult
from tests.mirror.oras import fetch_manifest, oras, pull
from tests.mirror.tagged_repo import TaggedRepo, push_tagged_repo
from tests.oci.registry_helpers import make_pool, open_target
from tests.support.client import RegistryClient
from tests.support.images import regctl
from tests.support.registries import REPO_ROOT, Registry

pytestmark = pytest.mark.registry

HISTORY = "application/vnd.toddysm.mirror-history.v1+json"
RUN = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/platform",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_RUN_ATTEMPT": "2",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_WORKFLOW": "mirror python",
}
RUN_URL = "https://github.com/acme/platform/actions/runs/4242"


@pytest.fixture(autouse=True)
def github_run(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in RUN.items():
        monkeypatch.setenv(name, value)


def mirror_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = cli.main(["mirror", *argv, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def history_document(registry: Registry, repo: str, tmp_path: Path) -> dict[str, Any]:
    """The history as oras pulls it (the file the seed's dashboard reads)."""
    into = pull(registry, registry.ref(repo, "mirror-history"), tmp_path / f"pulled-{len(list(tmp_path.iterdir()))}")
    document: dict[str, Any] = json.loads((into / "mirror-history.json").read_text())
    return document


def seed_push(registry: Registry, repo: str, document: dict[str, Any], work: Path, *, config: bool = True) -> None:
    """Push a history exactly as the seed's mirror-history action does (oras push from its work dir)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "mirror-history.json").write_text(json.dumps(document, indent=2))
    count = len(document["entries"])
    args = ["push", registry.ref(repo, "mirror-history"), "--artifact-type", HISTORY]
    if config:
        summary = {"schemaVersion": 1, "image": document["image"], "source": document["source"], "count": count,
                   "updated": "2026-07-30T06:00:00Z"}  # fmt: skip
        (work / "config.json").write_text(json.dumps(summary))
        args += ["--config", f"config.json:{HISTORY}"]
    args += [
        "--annotation", "org.opencontainers.image.title=mirror-history.json",
        "--annotation", f"com.toddysm.mirror-history.count={count}",
        "--annotation", "com.toddysm.mirror-history.updated=2026-07-30T06:00:00Z",
        f"mirror-history.json:{HISTORY}",
    ]  # fmt: skip
    oras(registry, *args, cwd=work)


def seed_entry(tag: str, digest: str, **extra: Any) -> dict[str, Any]:
    return {"sourceTag": tag, "sourceDigest": digest, "destTag": tag, "syncedAt": "2026-07-30T06:00:00Z",
            "runUrl": "https://github.com/toddysm/cssc-framework/actions/runs/1", "runId": "1", "runAttempt": "1",
            "force": False, **extra}  # fmt: skip


def test_the_history_in_the_seed_format_skips_what_it_records(
    forty: TaggedRepo, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry, source = forty.registry, forty.registry.ref(forty.repo, "1.0.3")
    destination = registry.ref(unique_repo)
    digest = forty.images["1.0.3"]
    code, document, err = mirror_json(capsys, source, destination, "--history")
    assert code == 0, err
    assert document["state"] == "copied" and document["skipped"] is None
    assert document["history"]["recorded"] is True and document["history"]["added"] == 1

    manifest = fetch_manifest(registry, registry.ref(unique_repo, "mirror-history"))
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["artifactType"] == HISTORY and manifest["config"]["mediaType"] == HISTORY
    assert [layer["mediaType"] for layer in manifest["layers"]] == [HISTORY]
    assert manifest["layers"][0]["annotations"] == {"org.opencontainers.image.title": "mirror-history.json"}
    annotations = manifest["annotations"]
    assert annotations["org.opencontainers.image.title"] == "mirror-history.json"
    assert annotations["com.toddysm.mirror-history.count"] == "1"
    updated = annotations["com.toddysm.mirror-history.updated"]
    config = json.loads(oras(registry, "manifest", "fetch-config", registry.ref(unique_repo, "mirror-history")))
    assert config == {"schemaVersion": 1, "image": destination, "source": forty.name, "count": 1, "updated": updated}

    history = history_document(registry, unique_repo, tmp_path)
    assert list(history) == ["schemaVersion", "image", "source", "entries"]
    assert (history["schemaVersion"], history["image"], history["source"]) == (1, destination, forty.name)
    [entry] = history["entries"]
    assert list(entry) == ["sourceTag", "sourceDigest", "destTag", "syncedAt", "runUrl", "runId", "runAttempt", "force"]
    assert entry["syncedAt"] == updated and len(updated) == 20 and updated.endswith("Z")
    assert {k: v for k, v in entry.items() if k != "syncedAt"} == {
        "sourceTag": "1.0.3", "sourceDigest": digest, "destTag": "1.0.3", "runUrl": RUN_URL, "runId": "4242",
        "runAttempt": "2", "force": False,
    }  # fmt: skip

    # Promoted, then deleted from quarantine: the history still says it was mirrored.
    client = RegistryClient(registry)
    regctl(registry, "tag", "delete", registry.ref(unique_repo, "1.0.3"))
    assert "1.0.3" not in client.tags(unique_repo)
    code, document, err = mirror_json(capsys, source, destination, "--history")
    assert code == 0 and document["state"] == "skipped" and document["skipped"] == "history"
    assert document["digest"] == digest and document["manifests_copied"] == 0
    assert document["history"] == {"recorded": False}
    assert "is in the history" in err and "1.0.3" not in client.tags(unique_repo)

    # --force copies it again and says so in a new entry.
    code, document, _ = mirror_json(capsys, source, destination, "--history", "--force")
    assert code == 0 and document["state"] == "copied" and "1.0.3" in client.tags(unique_repo)
    entries = history_document(registry, unique_repo, tmp_path)["entries"]
    assert [(e["sourceTag"], e["sourceDigest"], e["force"]) for e in entries] == [
        ("1.0.3", digest, False),
        ("1.0.3", digest, True),
    ]


@pytest.mark.parametrize("with_config", [True, False], ids=["seed-config", "older-seed-no-config"])
def test_a_history_written_by_hand_in_the_seed_format(
    forty: TaggedRepo, unique_repo: str, tmp_path: Path, with_config: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = forty.registry
    destination = registry.ref(unique_repo)
    mirrored = seed_entry("1.1.0", forty.images["1.1.0"], note="kept as written")
    other = seed_entry("0.9", "sha256:" + "b" * 64)
    hand = {"schemaVersion": 1, "image": destination, "source": forty.name, "entries": [other, mirrored],
            "owner": "platform team"}  # fmt: skip
    seed_push(registry, unique_repo, hand, tmp_path / "seed", config=with_config)

    code, document, _ = mirror_json(capsys, registry.ref(forty.repo, "1.1.0"), destination, "--history")
    assert code == 0 and document["skipped"] == "history"
    assert "1.1.0" not in RegistryClient(registry).tags(unique_repo)

    code, document, _ = mirror_json(capsys, registry.ref(forty.repo, "1.1.1"), destination, "--history")
    assert code == 0 and document["state"] == "copied" and document["history"]["count"] == 3
    written = history_document(registry, unique_repo, tmp_path)
    assert written["owner"] == "platform team"  # a field the seed may add later is kept
    assert written["entries"][:2] == [other, mirrored]  # untouched, the unknown note too
    assert written["entries"][2]["sourceTag"] == "1.1.1"
    manifest = fetch_manifest(registry, registry.ref(unique_repo, "mirror-history"))
    assert manifest["annotations"]["com.toddysm.mirror-history.count"] == "3"


def test_a_tag_that_is_not_a_history_is_never_overwritten(
    forty: TaggedRepo, unique_repo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = forty.registry
    client = RegistryClient(registry)
    body, media_type = client.get_manifest(forty.repo, "1.0.0")
    code = cli.main(["mirror", registry.ref(forty.repo, "1.0.0"), registry.ref(unique_repo, "mirror-history")])
    assert code == 0  # an image someone tagged mirror-history (reserved: tags never lists it)
    before = client.get_manifest(unique_repo, "mirror-history")
    assert before == (body, media_type)
    capsys.readouterr()
    assert cli.main(["mirror", registry.ref(forty.repo, "1.0.1"), registry.ref(unique_repo), "--history"]) == 3
    assert "is not a mirror history" in capsys.readouterr().err
    assert client.get_manifest(unique_repo, "mirror-history") == before
    assert "1.0.1" not in client.tags(unique_repo)  # the check comes before the copy


def test_concurrent_mirrors_update_one_history(any_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    """Six processes (as six matrix jobs would), each mirroring a tag into one repository with --history.

    The images share no blob: distribution's filesystem storage writes a repository's blob link in place,
    so two writers linking one blob at once can make a manifest push read it half-written."""
    registry = any_registry
    tags = [f"1.2.{n}" for n in range(6)]
    forty = push_tagged_repo(registry, unique_repo + "/src", tags, base_layers=0, reserved=False)
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **RUN}

    def one(tag: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "gate", "mirror", registry.ref(forty.repo, tag), registry.ref(unique_repo),
                "--history", "--concurrency", "2"]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, env=environ, cwd=REPO_ROOT, timeout=300)

    with ThreadPoolExecutor(max_workers=len(tags)) as pool:
        done = list(pool.map(one, tags))
    assert [d.returncode for d in done] == [0] * len(tags), [d.stderr for d in done if d.returncode]
    entries = history_document(registry, unique_repo, tmp_path)["entries"]
    assert sorted((e["sourceTag"], e["sourceDigest"]) for e in entries) == [(t, forty.images[t]) for t in tags]


class _Rival:
    """A destination where another writer replaces the history right after our first push of it
    (with oras, from the history it read before: a lost update)."""

    def __init__(self, inner: Any, registry: Registry, repo: str, work: Path) -> None:
        self.inner, self.registry, self.repo, self.work = inner, registry, repo, work
        self.struck = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def push_manifest(self, manifest: Manifest, tag: str | None = None) -> PushResult:
        result: PushResult = self.inner.push_manifest(manifest, tag)
        if tag == "mirror-history" and not self.struck:
            self.struck = True
            rival = {
                "schemaVersion": 1,
                "image": "x",
                "source": "y",
                "entries": [seed_entry("rival", "sha256:" + "c" * 64)],
            }
            seed_push(self.registry, self.repo, rival, self.work)
        return result


def test_a_lost_update_is_detected_and_retried(forty: TaggedRepo, unique_repo: str, tmp_path: Path) -> None:
    registry = forty.registry
    logs: list[str] = []
    pool = make_pool(registry)
    try:
        target = _Rival(open_target(pool, registry, unique_repo), registry, unique_repo, tmp_path / "rival")
        ours = HistoryEntry("1.3.0", forty.images["1.3.0"], "1.3.0", "2026-08-01T00:00:00Z")
        update = record(target, [ours], image="img", source="src", now="2026-08-01T00:00:00Z", log=logs.append)
    finally:
        pool.close()
    assert target.struck and update.attempts == 2
    assert any("another writer replaced the history; retry 1" in line for line in logs)
    entries = history_document(registry, unique_repo, tmp_path)["entries"]
    assert [e["sourceTag"] for e in entries] == ["rival", "1.3.0"]


def test_at_most_ten_thousand_entries_the_oldest_dropped(
    forty: TaggedRepo, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = forty.registry
    destination = registry.ref(unique_repo)
    old = [seed_entry(f"old-{n}", "sha256:" + f"{n:064x}") for n in range(10_000)]
    seed_push(registry, unique_repo, {"schemaVersion": 1, "image": destination, "source": forty.name,
                                      "entries": old}, tmp_path / "seed")  # fmt: skip
    code, document, err = mirror_json(capsys, registry.ref(forty.repo, "1.3.1"), destination, "--history")
    assert code == 0
    assert document["history"]["count"] == 10_000 and document["history"]["dropped"] == 1
    assert "1 oldest entry dropped (at most 10000 are kept)" in err
    entries = history_document(registry, unique_repo, tmp_path)["entries"]
    assert len(entries) == 10_000 and entries[0]["sourceTag"] == "old-1" and entries[-1]["sourceTag"] == "1.3.1"


def test_every_tag_of_a_sweep_in_one_update(
    forty: TaggedRepo, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = forty.registry
    destination = registry.ref(unique_repo)
    code, document, err = mirror_json(capsys, forty.name, destination, "--tags", ".", "--history")
    assert code == 0, err
    assert document["history"]["added"] == 40 and document["history"]["count"] == 40
    entries = history_document(registry, unique_repo, tmp_path)["entries"]
    assert sorted((e["sourceTag"], e["sourceDigest"]) for e in entries) == sorted(forty.images.items())
    code, document, _ = mirror_json(capsys, forty.name, destination, "--tags", ".", "--history")
    assert code == 0 and document["totals"]["skipped"] == 40 and document["history"] == {"recorded": False}
    assert all(entry["skipped"] == "history" for entry in document["tags"])


def test_reading_a_history_that_is_not_json_fails(forty: TaggedRepo, unique_repo: str, tmp_path: Path) -> None:
    registry = forty.registry
    work = tmp_path / "bad"
    work.mkdir()
    (work / "mirror-history.json").write_text("{not json")
    oras(registry, "push", registry.ref(unique_repo, "mirror-history"), "--artifact-type", HISTORY,
         f"mirror-history.json:{HISTORY}", cwd=work)  # fmt: skip
    pool = make_pool(registry)
    try:
        with pytest.raises(GateError, match="not JSON"):
            read_history(open_target(pool, registry, unique_repo))
    finally:
        pool.close()
