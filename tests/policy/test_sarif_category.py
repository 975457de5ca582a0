"""Where code scanning files a run: ``<prefix>/<repository>/<platform>/``, the prefix checked, the repository
path of a registry image or a layout, and the platform read back from the id alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gate.errors import InputError
from gate.oci.reference import parse_target_reference
from gate.policy.sarif import PlatformRun, build_sarif_log, load_sarif, parse_run, write_sarif
from gate.policy.sarif_category import (
    DEFAULT_SARIF_CATEGORY,
    MAX_CATEGORY_LENGTH,
    analysis_path,
    automation_id,
    category_segment,
    check_sarif_category,
)

DIGEST = "sha256:" + "a" * 64


def scanner_run() -> dict[str, Any]:
    return {"tool": {"driver": {"name": "osv-scanner", "rules": []}}, "results": []}


def test_the_id_is_the_category_github_files_the_run_under() -> None:
    # GitHub splits an id at its last "/": category before it, run id after; a trailing "/" leaves
    # the whole id the category, so every image and platform is an analysis of its own.
    identifier = automation_id(DEFAULT_SARIF_CATEGORY, "docker.io/library/golang", "linux/arm64/v8")
    assert identifier == "image-gate/docker.io/library/golang/linux/arm64/v8/"
    category, _, run_id = identifier.rpartition("/")
    assert (category, run_id) == ("image-gate/docker.io/library/golang/linux/arm64/v8", "")
    assert automation_id("/team/images/", "/ghcr.io/a/b/", "/linux/amd64/") == "team/images/ghcr.io/a/b/linux/amd64/"


@pytest.mark.parametrize(
    ("reference", "path"),
    [
        (f"golang:1.22@{DIGEST}", "docker.io/library/golang"),
        ("ghcr.io/acme/base/python:3.13-slim", "ghcr.io/acme/base/python"),
        (f"127.0.0.1:5000/quarantine/app@{DIGEST}", "127.0.0.1:5000/quarantine/app"),
        ("oci:/home/runner/work/repo/build/app-layout:1.0", "oci/app-layout"),
        ("oci:./odd name+layout", "oci/odd-name+layout"),
        ("oci:/", "oci/layout"),
    ],
)
def test_the_image_is_named_by_its_repository_not_its_tag_or_digest(reference: str, path: str) -> None:
    assert analysis_path(parse_target_reference(reference)) == path


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("image-gate", "image-gate"),
        (" /team/base-images/ ", "team/base-images"),
        ("image-gate/1.22@sha256:0123456789ab", "image-gate/1.22@sha256:0123456789ab"),
        ("_x/a.b:c@d+e=f-g", "_x/a.b:c@d+e=f-g"),
    ],
)
def test_a_good_prefix_is_kept_without_its_surrounding_slashes(given: str, kept: str) -> None:
    assert check_sarif_category(given, "--sarif-category") == kept


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "empty SARIF category"),
        (" / ", "empty SARIF category"),
        ("a//b", 'segment ""'),
        ("a b", 'segment "a b"'),
        ("team/.hidden", 'segment ".hidden"'),
        ("a/-b", 'segment "-b"'),
        ("a\nb", r'segment "a\\nb"'),
        ("im\u00e4ge", "segment"),
        ("a" * (MAX_CATEGORY_LENGTH + 1), f"longer than {MAX_CATEGORY_LENGTH}"),
    ],
)
def test_a_bad_prefix_is_an_input_error_naming_the_option(given: str, message: str) -> None:
    with pytest.raises(InputError, match="^input sarif_category: .*" + message):
        check_sarif_category(given, "input sarif_category")


@pytest.mark.parametrize(
    ("text", "segment"),
    [("1.22", "1.22"), ("a b/c", "a-b-c"), ("@x", "_@x"), ("///", "_"), ("", "_"), ("ä", "_")],
)
def test_any_text_becomes_one_valid_segment(text: str, segment: str) -> None:
    assert category_segment(text) == segment
    assert check_sarif_category(segment, "x") == segment


def test_the_log_carries_the_prefix_repository_and_platform_and_reads_back(tmp_path: Path) -> None:
    log = build_sarif_log(
        [
            PlatformRun(scanner_run(), "ghcr.io/acme/linux/amd64:1", "linux/amd64", DIGEST),
            PlatformRun(scanner_run(), "ghcr.io/acme/linux/amd64:1", "linux/arm64/v8", DIGEST),
        ],
        repository="ghcr.io/acme/linux/amd64",
        category="team/base",
    )
    assert [run["automationDetails"]["id"] for run in log["runs"]] == [
        "team/base/ghcr.io/acme/linux/amd64/linux/amd64/",
        "team/base/ghcr.io/acme/linux/amd64/linux/arm64/v8/",
    ]
    runs = load_sarif(write_sarif(tmp_path / "scan.sarif", log))
    assert [run.category for run in runs] == [run["automationDetails"]["id"] for run in log["runs"]]
    # Without the platform property (another tool rewrote it), the platform is still the id's tail,
    # even when the repository path looks like a platform too.
    for written, platform in zip(log["runs"], ("linux/amd64", "linux/arm64/v8"), strict=True):
        bare = {**written, "properties": {}}
        assert parse_run(bare, source="x").platform == platform


def test_a_run_with_an_id_of_its_own_gets_ours() -> None:
    run = {**scanner_run(), "automationDetails": {"id": "trivy/", "guid": "11111111-1111-1111-8888-111111111111"}}
    [written] = build_sarif_log([PlatformRun(run, "i", "linux/amd64", DIGEST)], repository="r/i")["runs"]
    assert written["automationDetails"] == {
        "id": "image-gate/r/i/linux/amd64/",
        "guid": "11111111-1111-1111-8888-111111111111",
    }
    assert run["automationDetails"]["id"] == "trivy/"
