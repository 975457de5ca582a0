"""The cssc-metadata block: written so the override reads back exactly what the scan recorded, and refused
unless the body holds exactly one well-formed block."""

from __future__ import annotations

import json

import pytest

from gate.github.metadata import END, START, IssueMetadata, MetadataError, parse_block, render_block
from gate.github.override import parse_command

METADATA = IssueMetadata(
    source_repo="ghcr.io/acme/quarantine/python",
    dest_repo="ghcr.io/acme/production/python",
    tag="3.13",
    digest="sha256:" + "c" * 64,
    threshold="high",
    scanner="trivy",
    scanner_version="0.74.0",
    method="sbom",
    blocking_cves=("CVE-2024-1234", "GHSA-abcd-efgh-ijkl"),
    sbom_predicate_type="https://cyclonedx.org/bom",
)


def body_with(data: object, *, before: str = "Some text.\n\n", after: str = "") -> str:
    return f"{before}{START}\n```json\n{json.dumps(data)}\n```\n{END}\n{after}"


def test_round_trip_and_the_seed_systems_keys() -> None:
    block = render_block(METADATA)
    assert block.startswith(START + "\n```json\n") and block.rstrip().endswith(END)
    assert parse_block("intro\n\n" + block) == METADATA
    assert parse_block(("intro\n\n" + block).replace("\n", "\r\n")) == METADATA
    keys = set(json.loads(block.split("```json\n")[1].split("\n```")[0]))
    assert keys == {
        "source_repo", "dest_repo", "tag", "digest", "threshold", "scanner", "scanner_version", "method",
        "blocking_cves", "sbom_predicate_type",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "no cssc-metadata block"),
        ("just words", "no cssc-metadata block"),
        (body_with(METADATA.to_json()) + render_block(METADATA), "expected one cssc-metadata block"),
        (f"{END}\n```json\n{{}}\n```\n{START}", "end marker comes before"),
        (f"{START}\n{json.dumps(METADATA.to_json())}\n{END}", "one ```json code block"),
        (body_with(METADATA.to_json(), before="").replace("```\n" + END, "```\nmore text\n" + END), "one ```json"),
        (f"{START}\n```json\n{{not json\n```\n{END}", "not JSON"),
        (body_with([1, 2]), "malformed"),
        (body_with({**METADATA.to_json(), "digest": "sha256:short"}), "digest"),
        (body_with({**METADATA.to_json(), "extra": 1}), "extra"),
        (body_with({k: v for k, v in METADATA.to_json().items() if k != "tag"}), "tag"),
        (body_with({**METADATA.to_json(), "blocking_cves": ["CVE-1 ; rm -rf"]}), "blocking_cves"),
        (body_with({**METADATA.to_json(), "tag": "../x"}), "tag"),
        ("x" * 70000, "longer than"),
    ],
)
def test_refused_with_the_reason(body: str | None, message: str) -> None:
    with pytest.raises(MetadataError, match=message):
        parse_block(body)


def test_a_value_that_would_not_read_back_is_not_written() -> None:
    with pytest.raises(MetadataError):
        render_block(IssueMetadata(**{**METADATA.to_json(), "blocking_cves": ("bad id!",), "digest": METADATA.digest}))


@pytest.mark.parametrize(
    ("body", "command"),
    [
        ("/approve", "approve"),
        ("  /approve\nshipping it", "approve"),
        ("/deny too risky", "deny"),
        ("/approve\t", "approve"),
        ("> /approve", None),
        ("/approve,", None),
        ("/Approve", None),
        ("please /approve", None),
        ("`/approve`", None),
        ("", None),
        (None, None),
    ],
)
def test_only_the_first_token_is_a_command(body: str | None, command: str | None) -> None:
    assert parse_command(body) == command
