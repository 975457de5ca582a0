"""Registers the real-component fixtures of tests/support for every test."""

import os

from hypothesis import HealthCheck, settings

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

# Property tests must not fail on a loaded 2-core CI machine because one example was slow, and a
# CI run is reproducible (the same examples every time); locally every run explores new ones.
settings.register_profile(
    "image-gate",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=os.environ.get("CI") == "true",
    print_blob=True,
)
settings.load_profile("image-gate")
