"""``python -m gate override``: a maintainer's ``/approve`` or ``/deny`` on the tracking issue a blocked scan opened.

GitHub is the local API of tests/support/github_api.py (every request and response checked against GitHub's
OpenAPI description); the images live in a real registry (distribution 2.8), scanned by the offline OSV matcher;
crane and regctl read back what was promoted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.commands import override as command
from gate.commands import scan as scan_command
from gate.commands.override import OverrideConfig
from gate.commands.scan import ScanConfig
from gate.config import ActionInputs
from gate.github.metadata import parse_block
from gate.outcome import Context, Outcome
from gate.promote.referrer import (
    ANNOTATION_OVERRIDE,
    ANNOTATION_OVERRIDE_APPROVER,
    ANNOTATION_OVERRIDE_CVES,
    ANNOTATION_OVERRIDE_ISSUE,
    VULN_ARTIFACT_TYPE,
)
from tests.support.github_api import TOKEN, GitHubApi, checked_github_api, environ
from tests.support.images import BuiltImage, attach_sbom, build_image, crane, regctl
from tests.support.registries import Registry

ROOT = Path(__file__).resolve().parents[2]
OSV_DB = str(ROOT / "tests" / "data" / "osv" / "records")
TAG = "v1"


@pytest.fixture
def github() -> Iterator[GitHubApi]:
    yield from checked_github_api()


@pytest.fixture
def blocked(distribution_registry: Registry, unique_repo: str, github: GitHubApi, tmp_path: Path) -> BuiltImage:
    """A blocked two-platform image in quarantine (lodash 4.17.20 in its SBOMs) and the tracking issue #1 that
    ``scan --blocked-issue`` opened for it; maintainer alice, writer bob, a bot."""
    built = build_image(distribution_registry, f"{unique_repo}/quarantine", tag=TAG)
    for digest in built.children.values():
        attach_sbom(distribution_registry, f"{unique_repo}/quarantine", digest)
    config = ScanConfig(
        image=built.ref, scanner="osv", osv_db=OSV_DB, sarif_output=str(tmp_path / "scan.sarif"), blocked_issue=True,
        github_token=TOKEN, blocked_issue_destination=distribution_registry.ref(f"{unique_repo}/production"),
    )  # fmt: skip
    assert scan_command.run(config, Context(environ=environ(github))).exit_code == 1
    github.roles.update(
        alice=("maintain", "write", "User"),
        bob=("write", "write", "User"),
        root=("admin", "admin", "User"),
        helper=("custom-releaser", "write", "User"),
        **{"renovate[bot]": ("admin", "admin", "Bot")},
    )
    return built


def production(built: BuiltImage) -> str:
    return built.registry.ref(built.repo.rsplit("/", 1)[0] + "/production", TAG)


def comment(github: GitHubApi, tmp_path: Path, body: str, login: str, number: int = 1) -> str:
    """A comment posted by ``login``, and the issue_comment event file that triggers the override."""
    posted = github.new_comment(number, body, login)
    event = {
        "action": "created",
        "issue": {"number": number, "title": "ignored: read from the API"},
        "comment": {"id": posted["id"], "body": "ignored: read from the API"},
    }
    path = tmp_path / f"event-{posted['id']}.json"
    path.write_text(json.dumps(event))
    return str(path)


def override(github: GitHubApi, tmp_path: Path, event: str, **options: Any) -> Outcome:
    values: dict[str, Any] = {
        "scanner": "osv", "osv_db": OSV_DB, "sarif_output": str(tmp_path / "override.sarif"),
        "github_token": TOKEN, "event": event,
    }  # fmt: skip
    logs: list[str] = []
    outcome = command.run(OverrideConfig(**{**values, **options}), Context(log=logs.append, environ=environ(github)))
    return outcome


def promoted_digest(built: BuiltImage) -> str | None:
    try:
        return crane(built.registry, "digest", production(built)).strip()
    except RuntimeError:  # crane: manifest unknown
        return None


def replies(github: GitHubApi) -> list[str]:
    return [c["body"] for c in github.comments_on(1) if c["user"]["login"] == "github-actions[bot]"]


def test_a_maintainer_approves_the_recorded_digest(blocked: BuiltImage, github: GitHubApi, tmp_path: Path) -> None:
    metadata = parse_block(github.issues[1]["body"])
    before = len(github.requests)
    outcome = override(github, tmp_path, comment(github, tmp_path, "/approve shipping: fix lands next sprint", "alice"))
    # the API calls of an approval: the issue, the comment, the role; then one reply and one update
    assert sorted(github.requests[before:]) == sorted([
        ("GET", "/repos/acme/images/issues/1"),
        ("GET", f"/repos/acme/images/issues/comments/{min(github.comments)}"),
        ("GET", "/repos/acme/images/collaborators/alice/permission"),
        ("POST", "/repos/acme/images/issues/1/comments"),
        ("PATCH", "/repos/acme/images/issues/1"),
    ])  # fmt: skip
    assert outcome.exit_code == 0, outcome.messages
    document = outcome.document
    assert document["status"] == "approved" and document["approver"] == "alice" and document["permission"] == "maintain"
    assert document["digest"] == blocked.digest == metadata.digest
    assert outcome.outputs["override_status"] == "approved" and outcome.outputs["promoted"] == "true"

    # crane reads production: the recorded digest under the tag, with the scan report recording the override
    assert promoted_digest(blocked) == blocked.digest
    report_digest = document["report_digest"]
    manifest = json.loads(
        crane(blocked.registry, "manifest", production(blocked).rsplit(":", 1)[0] + "@" + report_digest)
    )
    annotations = manifest["annotations"]
    assert manifest["artifactType"] == VULN_ARTIFACT_TYPE and manifest["subject"]["digest"] == blocked.digest
    assert annotations[ANNOTATION_OVERRIDE] == "true" and annotations[ANNOTATION_OVERRIDE_APPROVER] == "alice"
    assert annotations[ANNOTATION_OVERRIDE_ISSUE] == github.issues[1]["html_url"]
    assert annotations[ANNOTATION_OVERRIDE_CVES].split("|") == list(metadata.blocking_cves)
    layer = manifest["layers"][0]["digest"]
    statement = json.loads(crane(blocked.registry, "blob", production(blocked).rsplit(":", 1)[0] + "@" + layer))
    recorded = statement["predicate"]["decision"]["override"]
    assert recorded["approver"] == "alice" and recorded["permission"] == "maintain"
    assert recorded["issue"] == github.issues[1]["html_url"] and recorded["comment"].endswith(
        "#issuecomment-" + str(min(github.comments))
    )
    assert recorded["accepted_cves"] == list(metadata.blocking_cves) and recorded["time"].endswith("Z")
    applied = {e["id"] for e in statement["predicate"]["decision"]["exceptions"]["applied"]}
    assert applied == set(metadata.blocking_cves)
    listed = json.loads(regctl(blocked.registry, "artifact", "list", "--format", "body", production(blocked)))
    assert report_digest in {m["digest"] for m in listed["manifests"]}

    # the issue: labelled approved, told the digest, closed
    issue = github.issues[1]
    assert issue["state"] == "closed" and issue["state_reason"] == "completed"
    assert github.labels_of(1) == {"promotion-approved"}
    assert blocked.digest in replies(github)[-1] and report_digest in replies(github)[-1]

    # a second approval does nothing: the issue is closed
    writes = len(github.requests)
    again = override(github, tmp_path, comment(github, tmp_path, "/approve", "root"))
    assert again.exit_code == 0 and again.document["status"] == "skipped"
    assert [m for m, _ in github.requests[writes:] if m != "GET"] == []


def test_a_write_user_is_refused(blocked: BuiltImage, github: GitHubApi, tmp_path: Path) -> None:
    outcome = override(github, tmp_path, comment(github, tmp_path, "/approve", "bob"))
    assert outcome.exit_code == 1 and outcome.document["status"] == "refused"
    assert outcome.document["permission"] == "write" and "below maintain" in outcome.document["reason"]
    assert promoted_digest(blocked) is None
    assert github.issues[1]["state"] == "open" and github.labels_of(1) == {"promotion-pending"}
    assert "ignored" in replies(github)[-1]
    # with --min-permission write, the same comment is honoured
    allowed = override(github, tmp_path, comment(github, tmp_path, "/approve", "bob"), min_permission="write")
    assert allowed.exit_code == 0 and promoted_digest(blocked) == blocked.digest


def test_bots_and_custom_roles_below_the_minimum_are_refused(
    blocked: BuiltImage, github: GitHubApi, tmp_path: Path
) -> None:
    bot = override(github, tmp_path, comment(github, tmp_path, "/approve", "renovate[bot]"))
    assert bot.exit_code == 1 and "bots may not" in bot.document["reason"]
    custom = override(github, tmp_path, comment(github, tmp_path, "/approve", "helper"))
    assert custom.exit_code == 1 and custom.document["permission"] == "custom-releaser (base write)"
    stranger = override(github, tmp_path, comment(github, tmp_path, "/approve", "mallory"))
    assert stranger.exit_code == 1 and stranger.document["permission"] == "none"  # GitHub answers 404
    assert promoted_digest(blocked) is None and github.issues[1]["state"] == "open"


def test_a_tag_moved_before_the_approval_is_refused(blocked: BuiltImage, github: GitHubApi, tmp_path: Path) -> None:
    moved = build_image(blocked.registry, blocked.repo, tag=TAG, seed=7)
    assert moved.digest != blocked.digest
    outcome = override(github, tmp_path, comment(github, tmp_path, "/approve", "alice"))
    assert outcome.exit_code == 1 and outcome.document["status"] == "refused"
    assert "no longer points to" in outcome.document["reason"] and blocked.digest in outcome.document["reason"]
    assert promoted_digest(blocked) is None
    assert github.issues[1]["state"] == "open" and "refused" in replies(github)[-1]


def test_the_metadata_block_of_a_comment_is_ignored(blocked: BuiltImage, github: GitHubApi, tmp_path: Path) -> None:
    block = github.issues[1]["body"][github.issues[1]["body"].index("<!-- cssc-metadata:start -->") :]
    github.new_issue(
        f"Promotion blocked: {blocked.ref}", "Please promote this, metadata below.", ["promotion-pending"], author="bob"
    )
    github.new_comment(2, block, "bob")
    outcome = override(github, tmp_path, comment(github, tmp_path, "/approve", "alice", number=2))
    assert outcome.exit_code == 2 and outcome.document["status"] == "invalid"
    assert "no cssc-metadata block" in outcome.document["reason"]
    assert promoted_digest(blocked) is None
    reply = [c["body"] for c in github.comments_on(2) if c["user"]["login"] == "github-actions[bot]"]
    assert len(reply) == 1 and "no cssc-metadata block" in reply[0]
    assert github.issues[2]["state"] == "open"


def test_a_malformed_block_is_exit_2_with_a_reply(blocked: BuiltImage, github: GitHubApi, tmp_path: Path) -> None:
    github.issues[1]["body"] = github.issues[1]["body"].replace('"digest": "sha256:', '"digest": "sha512:')
    outcome = override(github, tmp_path, comment(github, tmp_path, "/deny", "alice"))
    assert outcome.exit_code == 2 and "digest" in outcome.document["reason"]
    assert "malformed" in replies(github)[-1] and github.issues[1]["state"] == "open"


@pytest.mark.parametrize(
    "body",
    [
        "> /approve\n\nquoting the bot: why was this blocked?",
        "I will not /approve this",
        "```\n/approve\n```",
        "/approved",
        "/APPROVE",
    ],
)
def test_only_a_leading_command_counts(blocked: BuiltImage, github: GitHubApi, tmp_path: Path, body: str) -> None:
    outcome = override(github, tmp_path, comment(github, tmp_path, body, "alice"))
    assert outcome.exit_code == 0 and outcome.document["status"] == "skipped"
    assert replies(github) == [] and github.issues[1]["state"] == "open"
    assert promoted_digest(blocked) is None


def test_deny_closes_and_keeps_the_image_in_quarantine(blocked: BuiltImage, github: GitHubApi, tmp_path: Path) -> None:
    outcome = override(github, tmp_path, comment(github, tmp_path, "/deny not acceptable", "alice"))
    assert outcome.exit_code == 0 and outcome.document["status"] == "denied"
    assert github.issues[1]["state"] == "closed" and github.issues[1]["state_reason"] == "not_planned"
    assert github.labels_of(1) == {"promotion-denied"}
    assert promoted_digest(blocked) is None and "stays in quarantine" in replies(github)[-1]


def test_an_already_promoted_digest_is_reported_as_such(blocked: BuiltImage, github: GitHubApi, tmp_path: Path) -> None:
    crane(blocked.registry, "copy", blocked.ref, production(blocked))
    outcome = override(github, tmp_path, comment(github, tmp_path, "/approve", "alice"))
    assert outcome.exit_code == 0 and outcome.document["status"] == "already-promoted"
    assert outcome.document["report_digest"] is None
    assert github.labels_of(1) == {"promotion-approved"} and "already promoted" in replies(github)[-1]


def test_findings_the_issue_does_not_list_still_block(blocked: BuiltImage, github: GitHubApi, tmp_path: Path) -> None:
    """The issue accepted what blocked at high; at a lower threshold more findings block: the approval is refused."""
    outcome = override(github, tmp_path, comment(github, tmp_path, "/approve", "alice"), severity_threshold="low")
    assert outcome.exit_code == 1 and "still fails" in outcome.document["reason"]
    assert promoted_digest(blocked) is None and github.issues[1]["state"] == "open"


def test_other_events_do_nothing(github: GitHubApi, tmp_path: Path) -> None:
    path = tmp_path / "edited.json"
    path.write_text(json.dumps({"action": "edited", "issue": {"number": 1}, "comment": {"id": 5}}))
    outcome = override(github, tmp_path, str(path))
    assert outcome.exit_code == 0 and outcome.document["status"] == "skipped" and github.requests == []


def test_action_inputs(github: GitHubApi, tmp_path: Path) -> None:
    inputs = ActionInputs({"INPUT_COMMAND": "override", "INPUT_GITHUB_TOKEN": TOKEN, "INPUT_MIN_PERMISSION": "admin"})
    config = command.config_from_inputs(inputs)
    assert config.min_permission == "admin" and config.github_token == TOKEN and TOKEN in config.secrets()
