"""``tags`` end to end against real registries: a repository of 40 tags (shared layers, aliases, cosign,
referrers-fallback and mirror-history tags written by independent tools), include/exclude patterns, the
matrix cap, bad input, and the action's inputs and outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import entrypoint
from gate import cli
from gate.mirror.tags import TagList
from gate.mirror.tags_summary import render_tags_summary
from tests.mirror.tagged_repo import TaggedRepo, push_tagged_repo
from tests.support.client import RegistryClient
from tests.support.images import OCI_INDEX
from tests.support.registries import Registry
from tests.support.runner import read_outputs

pytestmark = pytest.mark.registry


def gate_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = cli.main([*argv, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_every_image_tag_and_nothing_else(forty: TaggedRepo, capsys: pytest.CaptureFixture[str]) -> None:
    destination = forty.registry.ref("quarantine/app")
    code, document, err = gate_json(capsys, "tags", forty.name, "--destination-repo", destination)
    assert code == 0, err
    assert document["kept"] == sorted(forty.images)
    assert document["listed"] == 40 + len(forty.reserved)
    reasons = {d["tag"]: d["reason"] for d in document["dropped"]}
    first = forty.images["1.0.0"].replace(":", "-")
    expected = {f"{first}.sig": "cosign-signature", f"{first}.att": "cosign-attestation",
                f"{first}.sbom": "cosign-sbom", "mirror-history": "mirror-history"}  # fmt: skip
    if not forty.registry.referrers_api:
        expected[first] = "referrers-fallback"
    assert reasons == expected
    entries = document["matrix"]["include"]
    assert [e["tag"] for e in entries] == sorted(forty.images)
    short = forty.repo.rsplit("/", 1)[-1]
    for entry in entries:
        assert entry == {
            "source": f"{forty.name}:{entry['tag']}",
            "destination": f"{destination}:{entry['tag']}",
            "tag": entry["tag"],
            "name": f"{short}:{entry['tag']}",
        }
    assert "40 to mirror" in err


def test_include_and_exclude(forty: TaggedRepo, capsys: pytest.CaptureFixture[str]) -> None:
    code, document, _ = gate_json(capsys, "tags", forty.name, "--include", r"^1\.[12]\.", "--exclude", r"\.[0-6]$")
    assert code == 0
    assert document["kept"] == ["1.1.7", "1.1.8", "1.2.7", "1.2.8"]
    assert document["destination"] is None
    assert all(entry["destination"] == "" for entry in document["matrix"]["include"])
    reasons = {d["tag"]: d["reason"] for d in document["dropped"]}
    assert reasons["1.1.0"] == "excluded" and reasons["1.3.8"] == "not-included" and reasons["latest"] == "not-included"
    assert reasons["mirror-history"] == "mirror-history"


def test_more_tags_than_the_cap_fail_naming_include(forty: TaggedRepo, capsys: pytest.CaptureFixture[str]) -> None:
    code, document, err = gate_json(capsys, "tags", forty.name, "--max-matrix", "39")
    assert code == 1
    assert document["matrix"] is None and len(document["kept"]) == 40
    assert "40 tags to mirror exceed the matrix cap of 39; narrow them with --include" in err
    code, document, _ = gate_json(capsys, "tags", forty.name, "--max-matrix", "39", "--include", "^1")
    assert code == 0 and len(document["matrix"]["include"]) == 39  # latest left out


def test_github_s_cap_of_256_by_default(distribution_registry: Registry, unique_repo: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    repo = push_tagged_repo(distribution_registry, unique_repo, ["base"], reserved=False)
    client = RegistryClient(distribution_registry)
    body, _ = client.get_manifest(unique_repo, "base")
    for number in range(256):  # 257 tags of one image
        client.push_manifest(unique_repo, f"v{number}", body, OCI_INDEX)
    code, document, err = gate_json(capsys, "tags", repo.name)
    assert code == 1 and document["matrix"] is None
    assert "257 tags to mirror exceed the matrix cap of 256 (GitHub's limit for one matrix)" in err
    code, document, _ = gate_json(capsys, "tags", repo.name, "--max-matrix", "300")
    assert code == 0 and len(document["matrix"]["include"]) == 257
    code, document, _ = gate_json(capsys, "tags", repo.name, "--exclude", "^v1[0-9]$")
    assert code == 0 and len(document["matrix"]["include"]) == 247


def test_an_absent_repository_has_no_tags(distribution_registry: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    code, document, _ = gate_json(capsys, "tags", distribution_registry.ref("nothing/here"))
    assert code == 0 and document["kept"] == [] and document["matrix"] == {"include": []}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tags", "127.0.0.1:5999/a/b:1"], "names a tag or digest; give a repository"),
        (["tags", "127.0.0.1:5999/a/b", "--destination-repo", "127.0.0.1:5999/c/d:2"], "names a tag or digest"),
        (["tags", "127.0.0.1:5999/a/b", "--include", "(x"], "--include: '(x' is not a valid regular expression"),
        (["tags", "127.0.0.1:5999/a/b", "--exclude", "[z-a]"], "--exclude: '[z-a]' is not a valid regular"),
        (["tags", "127.0.0.1:5999/a/b", "--max-matrix", "0"], "max_matrix"),
        (["tags", "not a reference"], "invalid"),
    ],
)
def test_bad_input_exits_2_before_any_request(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_the_action_gives_the_matrix_and_the_count(forty: TaggedRepo, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "INPUT_COMMAND": "tags",
        "INPUT_SOURCE": forty.name,
        "INPUT_DESTINATION": forty.registry.ref("q/app"),
        "INPUT_INCLUDE": "^1\\.3\\.|^latest$\n",
    }
    assert entrypoint.main(environ) == 0
    outputs = read_outputs((tmp_path / "output").read_text(encoding="utf-8"))
    matrix = json.loads(outputs["matrix"])
    assert "\n" not in outputs["matrix"] and outputs["tag_count"] == "10"
    assert [e["tag"] for e in matrix["include"]] == [f"1.3.{n}" for n in range(9)] + ["latest"]
    summary = (tmp_path / "summary").read_text(encoding="utf-8")
    assert "## image-gate tags" in summary and "10 to mirror" in summary and "the mirror history record" in summary
    capsys.readouterr()


def test_the_summary_escapes_what_a_layout_may_name(forty: TaggedRepo) -> None:
    from gate.mirror.selection import select_tags
    from gate.mirror.tags import TagsRequest
    from gate.oci.open import Access
    from gate.oci.reference import parse_reference

    request = TagsRequest(parse_reference(forty.name, default_tag=None), None, Access())
    hostile = "x`<img src=y>|\n## owned"
    summary = render_tags_summary(TagList(request, 2, select_tags([hostile, "ok"])))
    assert "<img" not in summary and "\n## owned" not in summary
    assert "not a valid tag" in summary
