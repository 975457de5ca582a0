"""``python -m gate outdated``: the report, its exit codes, outputs and summary, and the scan that compares
the pinned and the current digest, against real registries on loopback (the core: tests/discover/)."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from markdown_it import MarkdownIt

from gate.commands import outdated as command
from gate.config import ActionInputs
from gate.discover.outdated_stage import OutdatedRequest
from gate.discover.production import Selection
from gate.errors import InputError
from gate.oci.open import Access
from gate.outcome import Context
from tests.commands.summary_checks import assert_tables_keep_their_columns
from tests.support.faults import FaultProxy, status_fault
from tests.support.images import attach_sbom, build_image, cyclonedx_sbom
from tests.support.registries import Registry
from tests.support.runner import read_outputs, run_on_runner

ROOT = Path(__file__).resolve().parents[2]
OSV_DB = str(ROOT / "tests" / "data" / "osv" / "records")
LODASH = "CVE-2021-23337"  # lodash 4.17.20 (fixed in 4.17.21): high, blocks at the default threshold
MINIMIST = "CVE-2021-44906"  # minimist 1.2.5 (fixed in 1.2.6): critical
MARKER = "# image-gate: production-image\n"


def sbom(*, lodash: str = "4.17.20", extra: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """The support SBOM with lodash at ``lodash`` and the npm packages ``extra`` (name, version) added."""
    document = copy.deepcopy(cyclonedx_sbom())
    for component in document["components"]:
        if component["name"] == "lodash":
            component.update(version=lodash, purl=f"pkg:npm/lodash@{lodash}", **{"bom-ref": f"pkg:npm/lodash@{lodash}"})
    for name, version in extra:
        purl = f"pkg:npm/{name}@{version}"
        document["components"].append(
            {"type": "library", "bom-ref": purl, "name": name, "version": version, "purl": purl}
        )
    return document


def push(registry: Registry, repo: str, tag: str, seed: int, document: dict[str, Any]) -> str:
    """A one-platform index tagged ``tag`` with ``document`` attested as its platform's SBOM; its digest."""
    built = build_image(registry, repo, tag, platforms=("linux/amd64",), layers=1, layer_size=256, seed=seed)
    for child in built.children.values():
        attach_sbom(registry, repo, child, sbom=document)
    return built.digest


def run_cli(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], dict[str, str], str]:
    """``python -m gate ARGS --json`` as on a runner: (process, document, outputs, step summary)."""
    completed, document, outputs, summary = run_on_runner(*args, cwd=cwd)
    return completed, document, read_outputs(outputs), summary


def dockerfile(tmp_path: Path, text: str, name: str = "Dockerfile") -> Path:
    path = tmp_path / "repo" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(MARKER + text)
    return path.parent


def test_a_moved_tag_whose_update_fixes_a_blocking_vulnerability(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    old = push(distribution_registry, unique_repo, "1.0", 1, sbom())
    new = push(distribution_registry, unique_repo, "1.0", 2, sbom(lodash="4.17.21"))
    name = distribution_registry.ref(unique_repo)
    repo = dockerfile(tmp_path, f"FROM {name}:1.0@{old}\nRUN true\nFROM {name}:1.0\n")
    scan = ("--scan", "--scanner", "osv", "--osv-db", OSV_DB)

    completed, document, outputs, summary = run_cli("outdated", str(repo), *scan, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    by_image = {entry["image"]: entry for entry in document["images"]}
    pinned = by_image[f"{name}:1.0@{old}"]
    assert pinned == {
        "image": f"{name}:1.0@{old}",
        "tag": "1.0",
        "digest": old,
        "current_digest": new,
        "outdated": True,
        "created": "2024-01-01T00:00:00Z",
        "current_created": "2024-01-01T00:00:00Z",
        "age_days": 0,
        "locations": [{"path": "Dockerfile", "line": 2, "instruction": "FROM"}],
        "error": None,
        "fixes": [LODASH],
        "introduces": [],
        "scan_error": None,
    }
    unpinned = by_image[f"{name}:1.0"]
    assert (unpinned["digest"], unpinned["current_digest"], unpinned["outdated"]) == (None, new, False)
    assert (unpinned["fixes"], unpinned["introduces"]) == ([], [])
    assert (document["outdated_count"], document["fixable_count"], document["scanned"]) == (1, 1, True)
    assert json.loads(outputs["outdated"]) == [pinned]
    assert (outputs["outdated_count"], outputs["fixable_count"]) == ("1", "1")
    assert f"{name}:1.0@{old} is behind its tag: now {new} (fixes {LODASH})" in completed.stderr
    assert "## image-gate outdated" in summary and f"<code>{LODASH}</code>" in summary
    assert " days)" in summary and "<code>Dockerfile:2</code>" in summary
    assert_tables_keep_their_columns(summary)
    rendered = MarkdownIt("commonmark").enable("table").render(summary)
    assert "<table>" in rendered and LODASH in rendered

    failing, document, _, summary = run_cli("outdated", str(repo), *scan, "--fail-on-fixable", cwd=tmp_path)
    assert failing.returncode == 1 and "(fail_on_fixable)" in failing.stderr
    assert document["fixable_count"] == 1
    assert run_cli("outdated", str(repo), "--fail-on-outdated", cwd=tmp_path)[0].returncode == 1
    plain, document, outputs, summary = run_cli("outdated", str(repo), cwd=tmp_path)  # no scan
    assert plain.returncode == 0
    assert (document["scanned"], outputs["fixable_count"]) == (False, "0")
    assert [(e["fixes"], e["introduces"]) for e in document["images"]] == [(None, None), (None, None)]
    assert "not scanned" in summary


def test_an_update_can_introduce_a_blocking_vulnerability(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    old = push(distribution_registry, unique_repo, "2", 3, sbom())
    push(distribution_registry, unique_repo, "2", 4, sbom(lodash="4.17.21", extra=(("minimist", "1.2.5"),)))
    repo = dockerfile(tmp_path, f"FROM {distribution_registry.ref(unique_repo)}:2@{old}\n")
    config = command.config_from_args(
        _namespace([str(repo), "--scan", "--scanner", "osv", "--osv-db", OSV_DB, "--fail-on-fixable"])
    )
    outcome = command.run(config, Context())
    (entry,) = outcome.document["images"]
    assert (entry["fixes"], entry["introduces"]) == ([LODASH], [MINIMIST])
    assert outcome.exit_code == 1
    assert f"<code>{MINIMIST}</code>" in outcome.summary


def test_a_digest_whose_vulnerabilities_were_not_checked_is_not_compared(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    """No SBOM at one digest, or (verified mode) no SBOM signed by a trusted key: nothing can be said to be
    fixed, so the entry has a scan_error instead of fixes that would only reflect what was not scanned."""
    old = build_image(
        distribution_registry, unique_repo, "3", platforms=("linux/amd64",), layers=1, layer_size=256, seed=7
    ).digest  # no SBOM
    push(distribution_registry, unique_repo, "3", 8, sbom(lodash="4.17.21"))
    repo = dockerfile(tmp_path, f"FROM {distribution_registry.ref(unique_repo)}:3@{old}\n")
    scan = [str(repo), "--scan", "--scanner", "osv", "--osv-db", OSV_DB, "--fail-on-fixable"]

    outcome = command.run(command.config_from_args(_namespace(scan)), Context())
    (entry,) = outcome.document["images"]
    assert entry["outdated"] and (entry["fixes"], entry["introduces"]) == ([], [])
    assert entry["scan_error"].startswith("not compared: pinned digest linux/amd64: no SBOM")
    assert "current digest" not in entry["scan_error"]
    assert outcome.exit_code == 0 and outcome.document["fixable_count"] == 0
    assert "scan failed" in outcome.summary and "### Errors" in outcome.summary

    key = tmp_path / "cosign.pub"  # verified mode: the SBOMs pushed above are not signed by this key
    private = ec.generate_private_key(ec.SECP256R1())
    key.write_bytes(private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    config = command.config_from_args(_namespace([*scan, "--attestation-key", str(key)]))
    assert config.request().scan is not None and config.request().scan.settings.verification.enabled
    (entry,) = command.run(config, Context()).document["images"]
    assert "current digest linux/amd64: no SBOM: no verified SBOM: 1 SBOM attestation(s) found" in entry["scan_error"]


def test_a_registry_failing_for_one_image_only(
    distribution_registry: Registry,
    unique_repo: str,
    fault_proxy: Callable[[Registry], FaultProxy],
    tmp_path: Path,
) -> None:
    good = push(distribution_registry, f"{unique_repo}/good", "1", 5, sbom())
    push(distribution_registry, f"{unique_repo}/bad", "1", 6, sbom())
    proxy = fault_proxy(distribution_registry)
    proxy.inject(status_fault(500, path=f"/v2/{unique_repo}/bad/manifests/", times=None))
    host = proxy.registry.host
    repo = dockerfile(tmp_path, f"FROM {host}/{unique_repo}/good:1@{good}\nFROM {host}/{unique_repo}/bad:1\n")

    completed, document, outputs, summary = run_cli("outdated", str(repo), "--fail-on-outdated", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr  # the failure is the entry's, not the run's
    by_image = {entry["image"]: entry for entry in document["images"]}
    bad = by_image[f"{host}/{unique_repo}/bad:1"]
    assert bad["current_digest"] is None and "500" in bad["error"]
    assert by_image[f"{host}/{unique_repo}/good:1@{good}"]["error"] is None
    assert outputs["outdated_count"] == "0"
    (warning,) = [line for line in completed.stderr.splitlines() if line.startswith("::warning")]
    assert warning.startswith(
        f"::warning title=image-gate outdated,file=repo/Dockerfile,line=3::{host}/{unique_repo}/bad:1: "
    )
    assert "### Errors" in summary

    proxy.inject(status_fault(500, path=f"/v2/{unique_repo}/good/manifests/", times=None))
    completed, document, outputs, summary = run_cli("outdated", str(repo), cwd=tmp_path)
    assert completed.returncode == 3  # every lookup failed: a runtime failure, the report still written
    assert all(entry["error"] for entry in document["images"]) and "every tag lookup failed" in summary


def test_no_production_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    completed, document, outputs, _ = run_cli("outdated", str(tmp_path), cwd=tmp_path)
    assert completed.returncode == 1 and "no production Dockerfile found" in completed.stderr
    assert document["images"] == [] and outputs["outdated_count"] == "0"
    assert run_cli("outdated", str(tmp_path), "--allow-empty", cwd=tmp_path)[0].returncode == 0


def _namespace(argv: list[str]) -> Any:
    import argparse

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return parser.parse_args(argv)


def test_config_from_the_command_line_and_the_action_inputs() -> None:
    config = command.config_from_args(_namespace(["src", "--all-dockerfiles", "--concurrency", "9"]))
    request = config.request()
    assert request == OutdatedRequest(
        path="src", selection=Selection(all_dockerfiles=True), access=Access(concurrency=9), scan=None
    )
    inputs = ActionInputs(
        {
            "INPUT_PATH": "src",
            "INPUT_SCAN": "true",
            "INPUT_SCANNER": "osv",
            "INPUT_OSV_DB": OSV_DB,
            "INPUT_FAIL_ON_FIXABLE": "true",
            "INPUT_SEVERITY_THRESHOLD": "critical",
            "INPUT_BUILD_ARGS": "BASE=alpine:3.20",
        }
    )
    from_inputs = command.config_from_inputs(inputs).request()
    assert from_inputs.fail_on_fixable and from_inputs.selection.build_args == {"BASE": "alpine:3.20"}
    assert from_inputs.scan is not None
    assert from_inputs.scan.settings.scanner == "osv" and from_inputs.scan.gate.severity_threshold == "critical"
    assert from_inputs.scan.settings.sbom_fallback == "none" and from_inputs.scan.settings.attached_vex

    # The scan options that change what blocks reach both scans: the layers fallback, attached VEX, trust.
    argv = ["--scan", "--sbom-fallback", "layers", "--no-attached-vex", "--trivy-skip-db-update"]
    settings = command.config_from_args(_namespace(argv)).request().scan
    assert settings is not None
    assert (settings.settings.sbom_fallback, settings.settings.attached_vex) == ("layers", False)
    assert settings.settings.trivy_options["skip_db_update"] is True
    assert not settings.settings.verification.enabled


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fail-on-fixable"], "fail_on_fixable needs scan"),
        (["--scan", "--scanner", "osv"], "scanner osv needs a database"),
        (["--scan", "--sbom-predicate-type", "https://"], "predicate"),
        (["--concurrency", "0"], "concurrency"),
    ],
)
def test_bad_options(argv: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        command.config_from_args(_namespace(argv))


def test_bad_scan_input_fails_before_any_lookup(tmp_path: Path) -> None:
    repo = dockerfile(tmp_path, "FROM 127.0.0.1:9/nowhere:1\n")
    vex = tmp_path / "vex.json"
    vex.write_text("{not json")
    completed, document, _, _ = run_cli(
        "outdated", str(repo), "--scan", "--scanner", "osv", "--osv-db", OSV_DB, "--vex", str(vex), cwd=tmp_path
    )
    assert completed.returncode == 2 and "vex.json" in document["error"]["message"]
    completed, document, _, _ = run_cli(
        "outdated", str(repo), "--scan", "--attestation-key", str(tmp_path / "missing.pub"), cwd=tmp_path
    )
    assert completed.returncode == 2 and "missing.pub" in document["error"]["message"]
