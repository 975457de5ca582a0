"""pytest fixtures over the real test registries (registered by tests/conftest.py).

Session-scoped servers keep the suite fast; use ``unique_repo`` for a repository no other test
touches, or ``registry_factory`` for a fresh server of your own.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.faults import FaultProxy
from tests.support.registries import (
    DISTRIBUTION,
    REFERRERS,
    Registry,
    RegistryServer,
    live_server_logs,
    start_distribution,
    start_referrers_registry,
)
from tests.support.token_issuer import ALL_ACTIONS, DEFAULT_PASSWORD, DEFAULT_USER, TokenIssuer

BASIC_USERS = {DEFAULT_USER: DEFAULT_PASSWORD, "reader": "reader-secret-password"}
TOKEN_USERS = {DEFAULT_USER: DEFAULT_PASSWORD, "reader": "reader-secret-password"}
TOKEN_GRANTS: dict[str, dict[str, tuple[str, ...]]] = {
    DEFAULT_USER: {"*": ALL_ACTIONS},
    "reader": {"*": ("pull",)},
    "": {"public/*": ("pull",)},  # anonymous
}
REGISTRY_FIXTURES = frozenset(
    {
        "distribution_registry",
        "basic_auth_registry",
        "token_auth_registry",
        "token_issuer",
        "referrers_registry",
        "any_registry",
        "registry_factory",
        "fault_proxy",
    }
)

RegistryFactory = Callable[..., Registry]


def _serve(server: RegistryServer) -> Iterator[Registry]:
    try:
        yield server.registry
    finally:
        server.stop()


@pytest.fixture(scope="session")
def token_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenIssuer]:
    """The token server behind ``token_auth_registry``: users alice (all actions), reader (pull), anonymous
    (pull on public/*). Call ``token_issuer.clear()`` before asserting on ``token_issuer.requests``."""
    issuer = TokenIssuer(tmp_path_factory.mktemp("token-issuer"), users=TOKEN_USERS, grants=TOKEN_GRANTS)
    with issuer:
        yield issuer


@pytest.fixture(scope="session")
def distribution_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """CNCF distribution 2.8, no auth, deletes enabled, no referrers API (tag fallback)."""
    yield from _serve(start_distribution(tmp_path_factory.mktemp("distribution")))


@pytest.fixture(scope="session")
def basic_auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """CNCF distribution 2.8 with htpasswd Basic auth; ``.username/.password`` are alice's (all rights)."""
    yield from _serve(
        start_distribution(tmp_path_factory.mktemp("distribution-basic"), auth="basic", users=BASIC_USERS)
    )


@pytest.fixture(scope="session")
def token_auth_registry(tmp_path_factory: pytest.TempPathFactory, token_issuer: TokenIssuer) -> Iterator[Registry]:
    """CNCF distribution 2.8 with Bearer token auth from ``token_issuer``; credentials are alice's."""
    yield from _serve(
        start_distribution(tmp_path_factory.mktemp("distribution-token"), auth="token", issuer=token_issuer)
    )


@pytest.fixture(scope="session")
def referrers_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """go-containerregistry's in-memory registry with the native OCI 1.1 referrers API, no auth."""
    yield from _serve(start_referrers_registry(tmp_path_factory.mktemp("referrers")))


@pytest.fixture(scope="session", params=[DISTRIBUTION, REFERRERS])
def any_registry(request: pytest.FixtureRequest) -> Registry:
    """Each test runs twice: on distribution (referrers tag fallback) and on the referrers-API registry."""
    name = "distribution_registry" if request.param == DISTRIBUTION else "referrers_registry"
    registry: Registry = request.getfixturevalue(name)
    return registry


@pytest.fixture
def registry_factory(tmp_path: Path, token_issuer: TokenIssuer) -> Iterator[RegistryFactory]:
    """Fresh registries for one test, stopped at its end.

    ``registry_factory(kind="distribution"|"referrers", auth="none"|"basic"|"token", page_size=0)``;
    ``page_size`` > 0 makes the referrers-API registry paginate with ``Link``.
    """
    servers: list[RegistryServer] = []

    def make(kind: str = DISTRIBUTION, auth: str = "none", page_size: int = 0) -> Registry:
        workdir = tmp_path / f"registry-{len(servers)}"
        if kind == REFERRERS:
            if auth != "none":
                raise ValueError("the referrers-API registry has no auth")
            server = start_referrers_registry(workdir, page_size=page_size)
        elif kind == DISTRIBUTION:
            server = start_distribution(workdir, auth=auth, users=BASIC_USERS, issuer=token_issuer)
        else:
            raise ValueError(f"unknown registry kind {kind!r}")
        servers.append(server)
        return server.registry

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[Registry], FaultProxy]]:
    """``fault_proxy(registry)`` -> a started ``FaultProxy`` in front of it, stopped at the test's end.
    Give ``proxy.registry`` to the code under test; script faults with ``proxy.inject(...)``."""
    proxies: list[FaultProxy] = []

    def make(registry: Registry) -> FaultProxy:
        proxy = FaultProxy(registry).start()
        proxies.append(proxy)
        return proxy

    try:
        yield make
    finally:
        for proxy in proxies:
            proxy.stop()


@pytest.fixture
def unique_repo(request: pytest.FixtureRequest) -> str:
    """A repository name no other test uses: ``test/<test-name>-<random>`` (valid OCI name)."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-") or "t"
    return f"test/{name}-{secrets.token_hex(3)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.failed and REGISTRY_FIXTURES & set(getattr(item, "fixturenames", ())):
        for name, text in live_server_logs().items():
            report.sections.append((f"registry log {name}", text))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if REGISTRY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.registry)
