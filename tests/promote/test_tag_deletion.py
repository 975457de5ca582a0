"""Which way the source tag is deleted: the registry API first; the GitHub Packages API only where the registry
refuses, on a GHCR host, with a token. A deletion that cannot happen is a reason, never an exception.

The targets are real OCI layouts; a refusing one answers ``delete_tag`` as GHCR does (``TagDeletionRefused``).
The end-to-end cases over a real registry behind a GHCR-like proxy are in tests/commands/test_promote.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.oci.layout import LayoutTarget
from gate.oci.reference import parse_target_reference
from gate.oci.tags import TagDeletionRefused
from gate.oci.target import Platform
from gate.promote.cleanup import Deleted
from gate.promote.tag_deletion import SourceTagDeletion, delete_source_tag, points_to
from tests.oci.builders import push_image
from tests.promote.test_github_packages import TOKEN, FakeGitHub, fake_github  # noqa: F401 - the fixture

GHCR_REF = parse_target_reference("ghcr.io/acme/quarantine/app:q")


class RefusingLayout(LayoutTarget):
    """A real layout whose tags cannot be deleted through its own API (GHCR's 405)."""

    def delete_tag(self, tag: str) -> None:
        raise TagDeletionRefused(f"cannot delete tag {tag}: the registry does not allow deletes of tags")


def _tagged(target: LayoutTarget) -> str:
    manifest = push_image(target, Platform("linux", "amd64"), layers=1)
    target.push_manifest(manifest, "q")
    return manifest.descriptor.digest


def test_the_registry_api_deletes_the_tag(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path / "layout", create=True)
    digest = _tagged(target)
    logs: list[str] = []
    deletion = delete_source_tag(target, GHCR_REF, "q", digest, github_token=TOKEN, log=logs.append)
    assert deletion == SourceTagDeletion(True, removed=(Deleted(digest, "q"),))
    assert not points_to(target, "q", digest) and points_to(target, digest, digest)
    assert logs == ["promote: deleted the source tag ghcr.io/acme/quarantine/app:q"]


def test_a_tag_that_moved_is_not_deleted(tmp_path: Path) -> None:
    target = LayoutTarget(tmp_path / "layout", create=True)
    digest = _tagged(target)
    other = "sha256:" + "0" * 64
    deletion = delete_source_tag(target, GHCR_REF, "q", other)
    assert not deletion.deleted and deletion.reason == f"ghcr.io/acme/quarantine/app:q no longer points to {other}"
    assert points_to(target, "q", digest)


@pytest.mark.parametrize(
    ("reference", "token", "hint"),
    [("ghcr.io/acme/quarantine/app:q", "", True), ("registry.test/acme/app:q", TOKEN, False)],
    ids=["ghcr-without-token", "not-ghcr"],
)
def test_a_refusal_without_the_github_way_is_a_reason(
    tmp_path: Path,
    fake_github: FakeGitHub,  # noqa: F811
    reference: str,
    token: str,
    hint: bool,
) -> None:
    target = RefusingLayout(tmp_path / "layout", create=True)
    digest = _tagged(target)
    deletion = delete_source_tag(
        target, parse_target_reference(reference), "q", digest, github_token=token, github_api_url=fake_github.url
    )
    assert not deletion.deleted and deletion.github_package is None and deletion.reason is not None
    assert "does not allow deletes of tags" in deletion.reason
    assert ("give github_token" in deletion.reason) is hint
    assert fake_github.requests == [] and points_to(target, "q", digest)


def test_on_ghcr_with_a_token_the_github_packages_api_deletes_after_the_refusal(
    tmp_path: Path,
    fake_github: FakeGitHub,  # noqa: F811
) -> None:
    target = RefusingLayout(tmp_path / "layout", create=True)
    digest = _tagged(target)
    fake_github.owners["acme"] = "Organization"
    fake_github.add_version("acme", "quarantine/app", 7, digest, ["q"])
    deletion = delete_source_tag(target, GHCR_REF, "q", digest, github_token=TOKEN, github_api_url=fake_github.url)
    assert deletion.deleted and deletion.reason is None
    assert deletion.github_package is not None and deletion.github_package.version_id == 7
    assert fake_github.deletes() == ["/orgs/acme/packages/container/quarantine%2Fapp/versions/7"]
