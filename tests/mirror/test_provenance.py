"""Acquisition provenance against real registries, read back with oras (the seed system's reader): one
statement on the index and one per platform manifest, every predicate field and annotation checked, a
warm re-run adding nothing, a lone manifest, an authenticated source, the action's run details, and
statements signed with the report signing key (cosign the referee)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

import entrypoint
from gate import cli
from gate.commands.mirror import MirrorConfig
from tests.attest.verify.cosign_tool import REGISTRY_FLAGS, cosign
from tests.attest.verify.signing import private_key, private_pem, public_pem
from tests.mirror.oras import fetch_manifest, oras, pull
from tests.mirror.tagged_repo import TaggedRepo
from tests.support.images import build_image
from tests.support.registries import Registry
from tests.support.runner import read_outputs

pytestmark = pytest.mark.registry

IN_TOTO = "application/vnd.in-toto+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
PREDICATE = "https://toddysm.com/acquisition-provenance/v0.1"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
RUN = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/platform",
    "GITHUB_RUN_ID": "777",
    "GITHUB_RUN_ATTEMPT": "1",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_WORKFLOW": "mirror all tags",
}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def statements(registry: Registry, reference: str) -> list[dict[str, Any]]:
    """The acquisition provenance referrers of ``reference``, as oras discovers them."""
    found = json.loads(oras(registry, "discover", "--format", "json", "--artifact-type", IN_TOTO, reference))
    return [
        r for r in found.get("referrers", []) if r.get("annotations", {}).get("in-toto.io/predicate-type") == PREDICATE
    ]


def statement_of(registry: Registry, repo: str, referrer: str, into: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The referrer's manifest and the statement oras pulls from it (named by its title)."""
    manifest = fetch_manifest(registry, registry.ref(repo, digest=referrer))
    pull(registry, registry.ref(repo, digest=referrer), into)
    title = manifest["layers"][0]["annotations"]["org.opencontainers.image.title"]
    return manifest, json.loads((into / title).read_text())


def test_statements_on_the_index_and_each_platform_field_by_field(
    forty: TaggedRepo, unique_repo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name, value in RUN.items():
        monkeypatch.setenv(name, value)
    registry = forty.registry
    source = registry.ref(forty.repo, "1.1.4")
    destination = registry.ref(unique_repo, "stable")
    digest = forty.images["1.1.4"]
    assert cli.main(["mirror", source, destination, "--provenance", "--copy-referrers", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [(p["platform"], p["attached"]) for p in document["provenance"]] == [
        (None, True), ("linux/amd64", True), ("linux/arm64", True)
    ]  # fmt: skip

    subjects = {None: digest, "linux/amd64": forty.children[digest][0], "linux/arm64": forty.children[digest][1]}
    for platform, subject in subjects.items():
        [found] = statements(registry, registry.ref(unique_repo, digest=subject))
        manifest, statement = statement_of(registry, unique_repo, found["digest"], tmp_path / str(platform))
        title = (
            "acquisition-provenance.json"
            if platform is None
            else f"acquisition-provenance-{platform.replace('/', '-')}.json"
        )
        assert manifest["artifactType"] == IN_TOTO
        assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
        assert manifest["config"]["digest"] == EMPTY_DIGEST
        assert [layer["mediaType"] for layer in manifest["layers"]] == [IN_TOTO]
        assert manifest["layers"][0]["annotations"] == {"org.opencontainers.image.title": title}
        assert manifest["subject"]["digest"] == subject
        notes = manifest["annotations"]
        acquired = statement["predicate"]["acquiredAt"]
        assert TIMESTAMP.fullmatch(acquired)
        assert notes == {
            "in-toto.io/predicate-type": PREDICATE,
            "org.opencontainers.image.title": title,
            "com.toddysm.acquisition.source": source,
            "com.toddysm.acquisition.source-digest": digest,
            "com.toddysm.acquisition.timestamp": acquired,
            "com.toddysm.acquisition.run-url": "https://github.com/acme/platform/actions/runs/777",
            "org.opencontainers.image.created": acquired,
        }
        assert statement["_type"] == "https://in-toto.io/Statement/v1"
        assert statement["predicateType"] == PREDICATE
        assert statement["subject"] == [{"name": registry.ref(unique_repo), "digest": {"sha256": subject[7:]}}]
        predicate = statement["predicate"]
        assert predicate["source"] == {
            "reference": source,
            "registry": registry.host,
            "repository": forty.repo,
            "tag": "1.1.4",
            "digest": digest,
        }
        assert predicate["destination"] == {"reference": destination, "digest": digest}
        assert predicate["runUrl"] == "https://github.com/acme/platform/actions/runs/777"
        assert predicate["actor"] == "octocat"
        assert predicate["workflow"] == {"name": "mirror all tags", "runId": "777", "runAttempt": "1"}
        assert predicate["copyMethod"] == "image-gate"
        assert predicate["copyReferrers"] is True and predicate["sourceAuthenticated"] is False
        if platform is None:
            assert "platformSourceDigest" not in predicate
        else:
            assert predicate["platformSourceDigest"] == subject
        assert list(predicate) == [
            "source", "destination", "acquiredAt", "runUrl", "actor", "workflow", "copyMethod", "copyReferrers",
            "sourceAuthenticated", *(["platformSourceDigest"] if platform else []),
        ]  # fmt: skip

    # A warm re-run adds nothing.
    assert cli.main(["mirror", source, destination, "--provenance", "--copy-referrers", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["up_to_date"] is True and not any(p["attached"] for p in again["provenance"])
    for subject in subjects.values():
        assert len(statements(registry, registry.ref(unique_repo, digest=subject))) == 1


def test_a_lone_manifest_gets_one_statement_and_an_authenticated_source_says_so(
    basic_auth_registry: Registry, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = basic_auth_registry
    image = build_image(registry, unique_repo + "/src", "v1", platforms=("linux/arm64",), index=False)
    argv = ["mirror", image.ref, registry.ref(unique_repo), "--provenance", "--json",
            "--source-username", str(registry.username), "--source-password", str(registry.password),
            "--destination-username", str(registry.username), "--destination-password", str(registry.password)]  # fmt: skip
    assert cli.main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    [record] = document["provenance"]
    assert record["platform"] is None and record["subject"] == image.digest
    [found] = statements(registry, registry.ref(unique_repo, digest=image.digest))
    manifest = fetch_manifest(registry, registry.ref(unique_repo, digest=found["digest"]))
    assert manifest["annotations"]["com.toddysm.acquisition.run-url"] == ""  # not in GitHub Actions
    into = pull(registry, registry.ref(unique_repo, digest=found["digest"]), tmp_path / "pulled")
    predicate = json.loads((into / "acquisition-provenance.json").read_text())["predicate"]
    assert predicate["sourceAuthenticated"] is True and predicate["copyReferrers"] is False
    assert predicate["source"]["tag"] == "v1" and predicate["destination"]["reference"] == registry.ref(
        unique_repo, "v1"
    )


def test_the_action_attaches_provenance_to_every_tag_of_a_sweep(
    forty: TaggedRepo, referrers_registry: Registry, unique_repo: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    environ = {
        **RUN,
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "INPUT_COMMAND": "mirror",
        "INPUT_SOURCE": forty.name,
        "INPUT_DESTINATION": referrers_registry.ref(unique_repo),
        "INPUT_TAGS": r"^1\.3\.[0-2]$",
        "INPUT_PROVENANCE": "true",
        "INPUT_HISTORY": "true",
    }
    assert entrypoint.main(environ) == 0
    outputs = read_outputs((tmp_path / "output").read_text(encoding="utf-8"))
    assert outputs["tag_count"] == "3" and outputs["up_to_date"] == "false"
    mirrored = json.loads(outputs["mirrored"])
    assert [(m["tag"], m["state"]) for m in mirrored] == [("1.3.0", "copied"), ("1.3.1", "copied"), ("1.3.2", "copied")]
    for entry in mirrored:
        assert entry["digest"] == forty.images[entry["tag"]]
        assert len(statements(referrers_registry, referrers_registry.ref(unique_repo, digest=entry["digest"]))) == 1
    summary = (tmp_path / "summary").read_text()
    assert "3 tag(s), copied" in summary and "| <code>1.3.2</code> | copied |" in summary
    assert "mirror history: 3 entries added, 3 held." in summary
    capsys.readouterr()


def test_signed_with_the_report_signing_key_cosign_verifies_each_statement(
    forty: TaggedRepo, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = forty.registry
    secret = private_key("p256")
    (tmp_path / "signing.pem").write_bytes(private_pem(secret))
    (tmp_path / "signing.pub").write_bytes(public_pem(secret))
    source, destination = registry.ref(forty.repo, "1.2.5"), registry.ref(unique_repo, "1.2.5")
    digest = forty.images["1.2.5"]
    argv = ["mirror", source, destination, "--provenance", "--report-signing-key", str(tmp_path / "signing.pem"),
            "--json"]  # fmt: skip
    assert cli.main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    assert [p["attached"] for p in document["provenance"]] == [True, True, True]
    for subject in (digest, *forty.children[digest]):
        found = json.loads(oras(registry, "discover", "--format", "json", registry.ref(unique_repo, digest=subject)))
        [referrer] = found["referrers"]
        assert referrer["artifactType"] == BUNDLE
        notes = referrer["annotations"]
        assert notes["dev.sigstore.bundle.predicateType"] == PREDICATE
        assert notes["dev.sigstore.bundle.content"] == "dsse-envelope"
        assert notes["com.toddysm.acquisition.source-digest"] == digest
        # cosign v3 is the referee: the bundle verifies with the public key, and its statement is ours
        verified = cosign("verify-attestation", "--key", str(tmp_path / "signing.pub"), "--type", PREDICATE,
                          "--insecure-ignore-tlog", *REGISTRY_FLAGS, registry.ref(unique_repo, digest=subject),
                          cwd=tmp_path)  # fmt: skip
        assert verified.returncode == 0, verified.stderr
        [line] = [json.loads(x) for x in verified.stdout.splitlines() if x.strip()]
        statement = json.loads(base64.b64decode(line["payload"]))
        assert statement["predicateType"] == PREDICATE
        assert statement["subject"][0]["digest"] == {"sha256": subject[7:]}
        assert statement["predicate"]["source"]["digest"] == digest
        other = tmp_path / "other.pub"
        other.write_bytes(public_pem(private_key("p256")))
        refused = cosign("verify-attestation", "--key", str(other), "--type", PREDICATE, "--insecure-ignore-tlog",
                         *REGISTRY_FLAGS, registry.ref(unique_repo, digest=subject), cwd=tmp_path)  # fmt: skip
        assert refused.returncode != 0

    # A warm re-run adds nothing; the key without --provenance is bad input.
    assert cli.main(argv) == 0
    assert not any(p["attached"] for p in json.loads(capsys.readouterr().out)["provenance"])
    assert cli.main(["mirror", source, destination, "--report-signing-key", str(tmp_path / "signing.pem")]) == 2
    assert "only applies with --provenance" in capsys.readouterr().err


def test_the_signing_key_is_among_the_secrets_masked_first(tmp_path: Path) -> None:
    pem = private_pem(private_key("p256")).decode()
    (tmp_path / "key.pem").write_text(pem)
    for value in (pem, str(tmp_path / "key.pem")):
        config = MirrorConfig(source="a", destination="b", provenance=True, report_signing_key=value)
        assert pem in config.secrets()
    assert MirrorConfig(source="a", destination="b", report_signing_key=str(tmp_path / "absent")).secrets() == ()
