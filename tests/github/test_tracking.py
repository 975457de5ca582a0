"""The tracking issue of a blocked image (``scan``/``pipeline --blocked-issue``): one issue per repository and
tag, updated and never duplicated, closed by a passing run; its body escaped and ending with the metadata block
the override reads. GitHub is the local API of tests/support/github_api.py (every request and response checked
against GitHub's OpenAPI description); the images live in a real registry, scanned by the offline OSV matcher."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from gate.commands import pipeline as pipeline_command
from gate.commands import scan as scan_command
from gate.commands.scan import ScanConfig
from gate.errors import InputError
from gate.github.issue_body import issue_body, metadata_of
from gate.github.metadata import END, START, parse_block
from gate.outcome import Context, Outcome
from gate.pipeline.stages import PipelineConfig
from tests.support.github_api import TOKEN, GitHubApi, checked_github_api, environ
from tests.support.images import attach_sbom, build_image
from tests.support.registries import Registry

ROOT = Path(__file__).resolve().parents[2]
OSV_DB = str(ROOT / "tests" / "data" / "osv" / "records")
HOSTILE = "<!-- cssc-metadata:start --> <img src=x onerror=alert(1)> @maintainer /approve [x](https://evil.test)"


@pytest.fixture
def github() -> Iterator[GitHubApi]:
    yield from checked_github_api()


@pytest.fixture
def image(distribution_registry: Registry, unique_repo: str) -> str:
    """A two-platform image in quarantine whose SBOMs list lodash 4.17.20 (blocked: CVE-2021-23337 and others)."""
    built = build_image(distribution_registry, unique_repo, tag="v1")
    for digest in built.children.values():
        attach_sbom(distribution_registry, unique_repo, digest)
    return built.ref


def scan(image: str, api: GitHubApi, tmp_path: Path, **options: Any) -> Outcome:
    host = image.split("/", 1)[0]
    values: dict[str, Any] = {
        "image": image, "scanner": "osv", "osv_db": OSV_DB, "sarif_output": str(tmp_path / "scan.sarif"),
        "blocked_issue": True, "github_token": TOKEN, "blocked_issue_destination": f"{host}/production/app",
    }  # fmt: skip
    return scan_command.run(ScanConfig(**{**values, **options}), Context(environ=environ(api)))


def exceptions_for(ids: list[str], tmp_path: Path) -> str:
    path = tmp_path / "exceptions.yml"
    path.write_text("exceptions:\n" + "".join(f"  - id: {i}\n    reason: fixed in our fork\n" for i in ids))
    return str(path)


def test_two_blocked_runs_make_one_issue_and_a_passing_run_closes_it(
    image: str, github: GitHubApi, tmp_path: Path
) -> None:
    first = scan(image, github, tmp_path)
    assert first.exit_code == 1
    assert list(github.issues) == [1]
    issue = github.issues[1]
    repo, tag = image.rsplit(":", 1)
    assert issue["title"] == f"Promotion blocked: {repo}:{tag}"
    assert github.labels_of(1) == {"promotion-pending"}
    assert first.outputs["blocked_issue_url"] == issue["html_url"]
    assert first.document["blocked_issue"]["action"] == "opened"
    assert "**Tracking issue** (opened)" in first.summary and "issues/1" in first.summary
    metadata = parse_block(issue["body"])
    assert (metadata.source_repo, metadata.tag, metadata.digest) == (repo, tag, first.document["digest"])
    assert metadata.dest_repo.endswith("/production/app") and metadata.scanner == "osv"
    assert list(metadata.blocking_cves) == list(dict.fromkeys(f["id"] for f in first.document["blocking"]))
    assert "CVE-2021-23337" in metadata.blocking_cves and metadata.threshold == "high"

    second = scan(image, github, tmp_path)  # the same verdict: the same issue, untouched
    assert second.exit_code == 1 and list(github.issues) == [1]
    assert second.document["blocked_issue"]["action"] == "unchanged" and github.comments_on(1) == []

    # another verdict (a lower threshold: more findings): the body is updated and a comment says so
    third = scan(image, github, tmp_path, severity_threshold="low")
    assert third.exit_code == 1 and list(github.issues) == [1]
    assert third.document["blocked_issue"]["action"] == "updated"
    lower = parse_block(github.issues[1]["body"])
    assert lower.threshold == "low" and set(metadata.blocking_cves) < set(lower.blocking_cves)
    assert len(github.comments_on(1)) == 1 and "Blocked again" in github.comments_on(1)[0]["body"]

    passing = scan(image, github, tmp_path, exceptions_file=exceptions_for(list(metadata.blocking_cves), tmp_path))
    assert passing.exit_code == 0
    assert passing.document["blocked_issue"]["action"] == "closed"
    assert passing.outputs["blocked_issue_url"] == issue["html_url"]
    assert github.issues[1]["state"] == "closed" and github.issues[1]["state_reason"] == "completed"
    assert "promotion-pending" not in github.labels_of(1)
    assert "passes the gate" in github.comments_on(1)[-1]["body"]
    assert list(github.issues) == [1]

    again = scan(image, github, tmp_path, exceptions_file=exceptions_for(list(metadata.blocking_cves), tmp_path))
    assert again.exit_code == 0 and again.document["blocked_issue"]["action"] == "none"
    assert again.outputs["blocked_issue_url"] == ""


def test_a_blocked_image_after_a_closed_issue_opens_a_new_one(image: str, github: GitHubApi, tmp_path: Path) -> None:
    scan(image, github, tmp_path)
    github.issues[1].update(state="closed", state_reason="not_planned")
    again = scan(image, github, tmp_path)
    assert again.document["blocked_issue"]["action"] == "opened" and list(github.issues) == [1, 2]


def test_bad_input_fails_before_the_scan(image: str, github: GitHubApi, tmp_path: Path) -> None:
    digest_only = image.rsplit(":", 1)[0] + "@sha256:" + "a" * 64
    with pytest.raises(InputError, match="no tag"):
        scan(digest_only, github, tmp_path)
    with pytest.raises(InputError, match="github-token"):
        scan(image, github, tmp_path, github_token="")
    with pytest.raises(InputError, match="blocked-issue-destination"):
        scan(image, github, tmp_path, blocked_issue_destination="")
    assert github.requests == []


def test_github_down_is_a_warning_and_the_verdict_stands(image: str, tmp_path: Path) -> None:
    host = image.split("/", 1)[0]
    config = ScanConfig(
        image=image, scanner="osv", osv_db=OSV_DB, sarif_output=str(tmp_path / "scan.sarif"), blocked_issue=True,
        github_token=TOKEN, blocked_issue_destination=f"{host}/production/app",
    )  # fmt: skip
    outcome = scan_command.run(
        config, Context(environ={"GITHUB_API_URL": "http://127.0.0.1:9", "GITHUB_REPOSITORY": "acme/images"})
    )
    assert outcome.exit_code == 1 and outcome.outputs["blocked_issue_url"] == ""
    assert outcome.document["blocked_issue"]["action"] == "failed"
    assert any(a.level == "warning" and "tracking issue" in a.message for a in outcome.annotations)
    assert TOKEN not in json.dumps(outcome.document)


def test_the_pipeline_opens_the_issue_on_a_block(
    distribution_registry: Registry, unique_repo: str, github: GitHubApi, tmp_path: Path
) -> None:
    built = build_image(distribution_registry, f"{unique_repo}/source", tag="v2")
    for digest in built.children.values():
        attach_sbom(distribution_registry, f"{unique_repo}/source", digest)
    quarantine = distribution_registry.ref(f"{unique_repo}/quarantine")
    production = distribution_registry.ref(f"{unique_repo}/production")
    config = PipelineConfig(
        source=built.ref, quarantine=quarantine, production=production, scanner="osv", osv_db=OSV_DB,
        sarif_output=str(tmp_path / "p.sarif"), blocked_issue=True, github_token=TOKEN,
    )  # fmt: skip
    outcome = pipeline_command.run(config, Context(environ=environ(github)))
    assert outcome.exit_code == 1
    assert outcome.outputs["blocked_issue_url"] == github.issues[1]["html_url"]
    metadata = parse_block(github.issues[1]["body"])
    assert (metadata.source_repo, metadata.tag, metadata.dest_repo) == (quarantine, "v2", production)
    assert github.issues[1]["title"] == f"Promotion blocked: {quarantine}:v2"


def _document(package: str, title: str) -> dict[str, Any]:
    finding = {
        "id": "CVE-2024-0001", "severity": "critical", "score": 9.8, "package": package, "installed": "1.0",
        "fixed": "1.1", "platform": "linux/amd64", "title": title,
    }  # fmt: skip
    return {
        "verdict": "fail", "digest": "sha256:" + "b" * 64, "threshold": "high", "method": "sbom",
        "scanner": {"name": "trivy", "version": "0.74.0"}, "blocking": [finding],
        "platforms": [{"platform": "linux/amd64", "verdict": "fail", "reason": None,
                       "sbom_predicate_type": "https://cyclonedx.org/bom"}],
    }  # fmt: skip


def test_the_body_escapes_scanned_text_and_cannot_forge_a_block() -> None:
    document = _document(HOSTILE + f" {END}", HOSTILE)
    metadata = metadata_of(document, "registry.test/quarantine/app", "registry.test/production/app", "v1")
    body = issue_body(document, metadata, exceptions_file="security/exceptions.yml", run_url="")
    assert body.count(START) == 1 and body.count(END) == 1
    assert body.rstrip().endswith(END)
    assert parse_block(body) == metadata
    rendered = MarkdownIt("commonmark").enable("table").render(body.split(START)[0])
    assert "<img" not in rendered and "<a " not in rendered and "<!--" not in rendered
    assert "security/exceptions.yml" in body and "/approve" in body
    assert metadata.sbom_predicate_type == "https://cyclonedx.org/bom"
