"""The repository of 40 tags the tags and mirror tests read (written once per registry kind)."""

from __future__ import annotations

import secrets

import pytest

from tests.mirror.tagged_repo import TaggedRepo, push_tagged_repo
from tests.support.client import RegistryClient
from tests.support.registries import DISTRIBUTION, REFERRERS, Registry

TAGS = [f"1.{minor}.{patch}" for minor in range(4) for patch in range(9)]  # 36 tags
ALIASES = {"1.0": "1.0.8", "1.1": "1.1.8", "1.2": "1.2.8", "latest": "1.3.8"}  # 40 image tags in all


@pytest.fixture(scope="session", params=[DISTRIBUTION, REFERRERS])
def forty(request: pytest.FixtureRequest) -> TaggedRepo:
    """40 image tags sharing their base layers, 4 of them aliases, plus cosign, referrers-fallback (on
    distribution) and mirror-history tags; tests only read it."""
    registry: Registry = request.getfixturevalue(f"{request.param}_registry")
    name = f"test/forty-{secrets.token_hex(3)}"
    repo = push_tagged_repo(registry, name, TAGS, aliases=ALIASES)
    assert len(repo.images) == 40
    listed = RegistryClient(registry).tags(name)
    assert set(listed) == set(repo.images) | set(repo.reserved)  # what a user's crane ls shows
    return repo
