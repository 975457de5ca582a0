"""``pipeline`` end to end on real loopback registries: distribution 2.8 (referrers tag fallback, deletes enabled)
and the referrers-API registry; images written by the independent support client and regctl, read back with regctl.

The scanner is the offline OSV matcher over the bundled advisories (examples/advisories): the support SBOM holds
lodash 4.17.20, whose CVE-2021-23337 (CVSS 7.2, high) blocks at the default threshold.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gate.commands.pipeline import PipelineConfig, config_from_args, config_from_inputs, run
from gate.config import ActionInputs
from gate.errors import InputError
from gate.outcome import Context, Outcome
from gate.pipeline.summary import OUTPUT_NAMES
from gate.promote.report import ANNOTATION_VERDICT
from tests.commands.test_promote import is_report
from tests.support.client import RegistryClient
from tests.support.faults import FaultProxy, status_fault
from tests.support.images import attach_sbom, build_attested_image, build_image, read_graph
from tests.support.registries import REPO_ROOT, Registry

ADVISORIES = REPO_ROOT / "examples" / "advisories"
BLOCKING = "CVE-2021-23337"
TAG = "1.0"


def exceptions_file(tmp_path: Path, ids: tuple[str, ...] = (BLOCKING,)) -> str:
    path = tmp_path / "exceptions.yaml"
    entries = "".join(f"  - id: {i}\n    reason: not reachable in this service\n" for i in ids)
    path.write_text(f"exceptions:\n{entries}", encoding="utf-8")
    return str(path)


@dataclass(frozen=True)
class Repos:
    """One test's upstream, quarantine and production repositories on ``registry``."""

    registry: Registry
    unique_repo: str
    tmp_path: Path

    @property
    def upstream(self) -> str:
        return f"{self.unique_repo}/upstream"

    @property
    def quarantine(self) -> str:
        return f"{self.unique_repo}/quarantine"

    @property
    def production(self) -> str:
        return f"{self.unique_repo}/production"

    def config(self, **extra: Any) -> PipelineConfig:
        """upstream:TAG -> quarantine -> production, scanned with the offline OSV matcher; ``extra`` overrides."""
        values: dict[str, Any] = {
            "source": self.registry.ref(self.upstream, TAG),
            "quarantine": self.registry.ref(self.quarantine),
            "production": self.registry.ref(self.production),
            "scanner": "osv",
            "osv_db": str(ADVISORIES),
            "sarif_output": str(self.tmp_path / "pipeline.sarif"),
            **extra,
        }
        return PipelineConfig(**values)


@pytest.fixture
def on_any(any_registry: Registry, unique_repo: str, tmp_path: Path) -> Repos:
    return Repos(any_registry, unique_repo, tmp_path)


@pytest.fixture
def on_distribution(distribution_registry: Registry, unique_repo: str, tmp_path: Path) -> Repos:
    return Repos(distribution_registry, unique_repo, tmp_path)


def pipeline(cfg: PipelineConfig) -> Outcome:
    lines: list[str] = []
    return run(cfg, Context(log=lines.append, environ={}))


# --- blocked / promoted ---------------------------------------------------------------------------


def test_a_vulnerable_image_is_blocked_and_stays_in_quarantine(on_any: Repos) -> None:
    image = build_attested_image(on_any.registry, on_any.upstream, TAG)
    outcome = pipeline(on_any.config(delete_source_tag=True))
    assert outcome.exit_code == 1
    document = outcome.document
    assert document["verdict"] == "fail" and document["promoted"] is False
    assert document["stage_failed"] is None and document["error"] is None
    assert document["promote"] is None
    assert document["digest"] == image.image.digest == document["mirror"]["digest"] == document["scan"]["digest"]
    assert BLOCKING in outcome.outputs["blocking_ids"].split(",")
    assert outcome.outputs["promoted"] == "false" and outcome.outputs["verdict"] == "fail"
    client = RegistryClient(on_any.registry)
    assert client.tags(on_any.quarantine) and TAG in client.tags(on_any.quarantine)
    assert client.tags(on_any.production) == []
    assert "image-gate pipeline: BLOCKED" in outcome.summary
    assert any(a.level == "error" and BLOCKING in a.message for a in outcome.annotations)


def test_an_excepted_image_is_promoted_with_every_referrer_and_the_scan_report(on_any: Repos) -> None:
    image = build_attested_image(on_any.registry, on_any.upstream, TAG)
    outcome = pipeline(on_any.config(exceptions_file=exceptions_file(on_any.tmp_path), delete_source_tag=True))
    assert outcome.exit_code == 0, outcome.document
    document = outcome.document
    assert document["verdict"] == "pass" and document["promoted"] is True and document["stage_failed"] is None
    digest = image.image.digest
    assert document["digest"] == document["scan"]["digest"] == document["promote"]["digest"] == digest
    assert outcome.outputs["promoted"] == "true"
    assert outcome.outputs["report_digest"] == document["promote"]["report_digest"]

    graph = read_graph(on_any.registry, on_any.production, TAG)
    assert graph.root == digest
    assert {r.digest for r in image.all_referrers} <= graph.referrer_digests
    reports = [d for d in graph.referrers[digest] if is_report(d)]  # the vuln report (provenance is in-toto too)
    assert [d["digest"] for d in reports] == [outcome.outputs["report_digest"]]
    report = graph.parsed(reports[0]["digest"])
    assert report["annotations"][ANNOTATION_VERDICT] == "pass"
    client = RegistryClient(on_any.registry)
    for tag in (f"{digest.replace(':', '-')}.{kind}" for kind in image.cosign_tags):
        assert tag in graph.tags
    assert on_any.registry.supports_delete
    assert TAG not in client.tags(on_any.quarantine)
    assert outcome.outputs["source_tag_deleted"] == "true"
    assert TAG in client.tags(on_any.production)


def test_a_platform_without_an_sbom_blocks(on_any: Repos) -> None:
    built = build_image(on_any.registry, on_any.upstream, TAG)
    attach_sbom(on_any.registry, on_any.upstream, built.child("linux/amd64"))  # linux/arm64 has none
    outcome = pipeline(on_any.config(exceptions_file=exceptions_file(on_any.tmp_path)))
    assert outcome.exit_code == 1
    rows = {row["platform"]: row for row in outcome.document["scan"]["platforms"]}
    assert rows["linux/amd64"]["sbom_attestation"] is not None
    assert rows["linux/arm64"]["sbom_attestation"] is None
    assert outcome.document["promote"] is None and outcome.document["promoted"] is False
    assert RegistryClient(on_any.registry).tags(on_any.production) == []


def test_an_interrupted_promotion_keeps_the_quarantine_tag_and_a_rerun_completes_it(
    on_any: Repos, fault_proxy: Callable[[Registry], FaultProxy]
) -> None:
    image = build_attested_image(on_any.registry, on_any.upstream, TAG)
    proxy = fault_proxy(on_any.registry)  # production is reached through the proxy, the rest directly
    # The destination tag is the last write of a promotion: refuse it every time.
    proxy.inject(status_fault(400, method="PUT", path=f"/v2/{on_any.production}/manifests/{TAG}$", times=None))
    cfg = on_any.config(
        production=proxy.registry.ref(on_any.production),
        exceptions_file=exceptions_file(on_any.tmp_path),
        delete_source_tag=True,
    )
    outcome = pipeline(cfg)
    assert proxy.fired(), "the fault never fired"
    assert outcome.exit_code in (2, 3)
    document = outcome.document
    assert document["stage_failed"] == "promote" and document["promoted"] is False
    assert document["verdict"] == "pass" and document["promote"] is None
    assert document["error"]["stage"] == "promote"
    assert outcome.outputs["stage_failed"] == "promote" and outcome.outputs["promoted"] == "false"
    client = RegistryClient(on_any.registry)
    assert TAG in client.tags(on_any.quarantine)
    assert TAG not in client.tags(on_any.production)
    assert "FAILED at promote" in outcome.summary

    proxy.clear()
    again = pipeline(cfg)
    assert again.exit_code == 0, again.document
    assert again.document["mirror"]["up_to_date"] is True
    graph = read_graph(on_any.registry, on_any.production, TAG)
    assert graph.root == image.image.digest
    assert {r.digest for r in image.all_referrers} <= graph.referrer_digests
    assert TAG not in client.tags(on_any.quarantine)
    assert again.document["promote"]["source_tag_deleted"] is True


# --- failing closed before and at each stage --------------------------------------------------------


def test_a_missing_source_fails_the_mirror_stage_and_nothing_else_runs(on_distribution: Repos) -> None:
    outcome = pipeline(on_distribution.config(source=on_distribution.registry.ref(on_distribution.upstream, "absent")))
    assert outcome.exit_code == 2
    assert outcome.document["stage_failed"] == "mirror"
    assert outcome.document["mirror"] is None and outcome.document["scan"] is None
    assert outcome.document["promote"] is None
    assert "absent" in outcome.document["error"]["message"]
    client = RegistryClient(on_distribution.registry)
    assert client.tags(on_distribution.quarantine) == [] and client.tags(on_distribution.production) == []


def test_an_unreachable_source_registry_is_a_runtime_failure(on_distribution: Repos) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = pipeline(on_distribution.config(source=f"127.0.0.1:{port}/nothing/here:1"))
    assert outcome.exit_code == 3
    assert outcome.document["stage_failed"] == "mirror"


def test_the_scan_stage_fails_closed_on_an_sbom_it_cannot_read(on_distribution: Repos) -> None:
    registry, upstream = on_distribution.registry, on_distribution.upstream
    built = build_image(registry, upstream, TAG, platforms=("linux/amd64",))
    attach_sbom(registry, upstream, built.child("linux/amd64"), sbom={"bomFormat": "CycloneDX"})
    outcome = pipeline(on_distribution.config())
    assert outcome.exit_code == 2
    assert outcome.document["stage_failed"] == "scan" and outcome.document["verdict"] is None
    assert "specVersion" in outcome.document["error"]["message"]
    assert outcome.document["promoted"] is False and outcome.document["promote"] is None
    assert RegistryClient(registry).tags(on_distribution.production) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"exceptions_file": "/nonexistent/exceptions.yaml"}, "exceptions"),
        ({"vex_files": ("/nonexistent/vex.json",)}, "vex.json"),
        ({"osv_db": "/nonexistent/osv"}, "/nonexistent/osv"),
        ({"quarantine": "SAME"}, "same repository"),
        ({"production": "127.0.0.1:1/x/production@sha256:" + "a" * 64}, "not a digest"),
        ({"source_username": "alice"}, "source credentials"),
    ],
)
def test_bad_input_fails_before_anything_is_copied(
    on_distribution: Repos, change: dict[str, Any], message: str
) -> None:
    build_image(on_distribution.registry, on_distribution.upstream, TAG, platforms=("linux/amd64",))
    if change.get("quarantine") == "SAME":
        change = {"quarantine": on_distribution.registry.ref(on_distribution.production)}
    with pytest.raises(InputError) as raised:
        pipeline(on_distribution.config(**change))
    assert message in str(raised.value)
    assert RegistryClient(on_distribution.registry).tags(on_distribution.quarantine) == []


# --- the CLI and the action edge ----------------------------------------------------------------------


def run_cli(args: list[str], tmp_path: Path) -> tuple[int, dict[str, Any], str, str]:
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)}
    env.pop("GITHUB_ACTIONS", None)
    done = subprocess.run(
        [sys.executable, "-m", "gate", "pipeline", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=300,
    )
    document = json.loads(done.stdout) if done.stdout.strip() else {}
    text = summary.read_text(encoding="utf-8") if summary.exists() else ""
    written = outputs.read_text(encoding="utf-8") if outputs.exists() else ""
    return done.returncode, document, text, written


def test_cli_one_document_every_output_and_one_summary(on_distribution: Repos, tmp_path: Path) -> None:
    registry = on_distribution.registry
    build_attested_image(registry, on_distribution.upstream, TAG)
    args = [
        "--source", registry.ref(on_distribution.upstream, TAG),
        "--quarantine", registry.ref(on_distribution.quarantine),
        "--production", registry.ref(on_distribution.production),
        "--scanner", "osv", "--osv-db", str(ADVISORIES),
        "--sarif-output", str(tmp_path / "out.sarif"),
    ]  # fmt: skip
    code, document, summary, outputs = run_cli(args, tmp_path)
    assert code == 1
    assert set(document) >= {"mirror", "scan", "promote", "verdict", "promoted", "stage_failed"}
    assert document["promote"] is None and document["verdict"] == "fail"
    assert summary.count("## image-gate pipeline:") == 1
    assert "image-gate scan" in summary and "image-gate mirror" in summary
    for name in OUTPUT_NAMES:
        assert f"{name}<<" in outputs, name
    assert (tmp_path / "out.sarif").is_file()

    (tmp_path / "summary.md").unlink()
    code, document, summary, _ = run_cli([*args, "--exceptions", exceptions_file(tmp_path)], tmp_path)
    assert code == 0 and document["promoted"] is True
    assert "image-gate pipeline: PROMOTED" in summary and "image-gate promote" in summary


def test_cli_usage_and_input_errors_exit_2(tmp_path: Path) -> None:
    code, _, _, _ = run_cli(["--source", "a/b:1"], tmp_path)
    assert code == 2
    code, document, _, _ = run_cli(
        ["--source", "a/b:1", "--quarantine", "q/b", "--production", "p/b", "--scanner", "osv"], tmp_path
    )
    assert code == 2 and "osv" in document["error"]["message"]


def test_action_inputs_build_the_same_config_as_the_cli(tmp_path: Path) -> None:
    import argparse

    from gate.commands import pipeline as command

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    namespace = parser.parse_args(
        ["--source", "r.example/a:1", "--quarantine", "r.example/q", "--production", "r.example/p",
         "--scanner", "osv", "--osv-db", "db", "--delete-source-tag", "--exceptions", "ex.yaml",
         "--severity-threshold", "critical", "--vex", "v.json", "--github-token", ""]
    )  # fmt: skip
    environ = {
        "INPUT_SOURCE": "r.example/a:1",
        "INPUT_QUARANTINE": "r.example/q",
        "INPUT_PRODUCTION": "r.example/p",
        "INPUT_SCANNER": "osv",
        "INPUT_OSV_DB": "db",
        "INPUT_DELETE_SOURCE_TAG": "true",
        "INPUT_EXCEPTIONS_FILE": "ex.yaml",
        "INPUT_SEVERITY_THRESHOLD": "critical",
        "INPUT_VEX_FILES": "v.json",
        "INPUT_GITHUB_TOKEN": "",
    }
    assert config_from_inputs(ActionInputs(environ)) == config_from_args(namespace)


def test_action_inputs_require_the_three_references() -> None:
    with pytest.raises(InputError, match="quarantine"):
        config_from_inputs(ActionInputs({"INPUT_SOURCE": "a/b:1", "INPUT_PRODUCTION": "p/b"}))


def test_the_github_token_is_a_secret() -> None:
    cfg = PipelineConfig(source="a", quarantine="q", production="p", github_token="ghp_secret", source_password="pw")
    assert {"ghp_secret", "pw"} <= set(cfg.secrets())


def test_the_report_signing_key_reaches_the_promote_stage(on_distribution: Repos) -> None:
    from tests.attest.verify.cosign_tool import REGISTRY_FLAGS, cosign
    from tests.attest.verify.signing import private_key, private_pem, public_pem

    image = build_attested_image(on_distribution.registry, on_distribution.upstream, TAG, cosign_tags=False)
    secret = private_key("p256")
    signing, public = on_distribution.tmp_path / "signing.pem", on_distribution.tmp_path / "signing.pub"
    signing.write_bytes(private_pem(secret))
    public.write_bytes(public_pem(secret))
    outcome = pipeline(
        on_distribution.config(exceptions_file=exceptions_file(on_distribution.tmp_path),
                               report_signing_key=str(signing))
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.document
    promoted = outcome.document["promote"]
    assert promoted["report_signer"] and promoted["report_artifact_type"].startswith("application/vnd.dev.sigstore")
    metadata = json.loads(
        base64.b64decode(
            json.loads(
                cosign("verify-attestation", "--key", str(public), "--type", "vuln", "--insecure-ignore-tlog",
                       *REGISTRY_FLAGS, on_distribution.registry.ref(on_distribution.production, digest=image.image.digest),
                       cwd=on_distribution.tmp_path).stdout.splitlines()[0]
            )["payload"]
        )
    )["predicate"]["metadata"]  # fmt: skip
    assert metadata["scanStartedOn"] <= metadata["scanFinishedOn"]  # the pipeline's own scan


def test_a_bad_report_signing_key_fails_before_the_mirror(on_distribution: Repos) -> None:
    build_image(on_distribution.registry, on_distribution.upstream, TAG)
    with pytest.raises(InputError, match="report signing key"):
        pipeline(on_distribution.config(report_signing_key=str(on_distribution.tmp_path / "absent.pem")))
    assert RegistryClient(on_distribution.registry).tags(on_distribution.quarantine) == []
