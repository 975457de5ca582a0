"""The local GitHub API of tests/support/github_api.py is a referee only if it catches what GitHub's description
forbids: these requests are refused or recorded as violations, through PyGithub as image-gate calls it."""

from __future__ import annotations

import pytest

from gate.errors import RuntimeFailure
from gate.github.client import connect, github_call
from tests.support.github_api import OWNER, REPO, TOKEN, description, github_api, schema_errors


def test_the_description_names_its_source_and_keeps_only_the_operations_used() -> None:
    document = description()
    source = document["info"]["x-source"]
    assert source["repository"] == "https://github.com/github/rest-api-description"
    assert len(source["spot_checked_against"]["commit"]) == 40
    operations = {
        spec["operationId"] for item in document["paths"].values() for m, spec in item.items() if m != "parameters"
    }
    assert operations == {
        "issues/list-for-repo", "issues/create", "issues/get", "issues/update", "issues/get-comment",
        "issues/create-comment", "repos/get-collaborator-permission-level",
    }  # fmt: skip


def test_schemas_are_checked_nullable_included() -> None:
    permission = {"$ref": "#/components/schemas/repository-collaborator-permission"}
    assert schema_errors(permission, {"permission": "write", "role_name": "maintain", "user": None}) == []
    assert schema_errors(permission, {"permission": "write", "role_name": 4, "user": None})
    assert schema_errors(permission, {"permission": "write", "user": None})
    assert schema_errors({"$ref": "#/components/schemas/issue"}, {"number": 1})


def test_requests_outside_the_description_are_violations() -> None:
    with github_api() as api:
        repo = connect(TOKEN, f"{OWNER}/{REPO}", api.url)
        with pytest.raises(RuntimeFailure, match="HTTP 404"), github_call("list labels"):
            list(repo.get_labels())  # not an operation image-gate uses
        issue = repo.create_issue(title="t", body="b", labels=["promotion-pending"])
        with pytest.raises(RuntimeFailure), github_call("add a label"):
            issue.add_to_labels("promotion-approved")  # not an operation image-gate uses
        with pytest.raises(RuntimeFailure, match="HTTP 401"), github_call("wrong token"):
            connect("ghs_wrong", f"{OWNER}/{REPO}", api.url).get_issue(1).title  # noqa: B018 - the request
        assert any("not an operation" in v for v in api.violations)
        assert any("/issues/1/labels" in v for v in api.violations)
        assert any("wrong token" in v for v in api.violations)
