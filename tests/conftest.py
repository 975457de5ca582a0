"""Registers the real-component fixtures of tests/support for every test."""

from tests.support.fixtures import (  # noqa: F401
    any_registry,
    basic_auth_registry,
    distribution_registry,
    fault_proxy,
    pytest_collection_modifyitems,
    pytest_runtest_makereport,
    referrers_registry,
    registry_factory,
    token_auth_registry,
    token_issuer,
    unique_repo,
)
