"""What ``outdated`` and ``pin`` share: which Dockerfiles they read (discover's options) and how they reach
the registries of every image found (registry access: ``--concurrency`` bounds the lookups in flight,
``--insecure-registry``, ``--registry-auth``; there is no single source registry to give a username for).
``DockerfileFields`` and ``LookupFields`` are the config parts both fill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from gate.discover.policy import DEFAULT_MARKER
from gate.discover.production import Selection
from gate.oci.open import Access
from gate.oci.target import DEFAULT_CONCURRENCY
from gate.options.access import CONCURRENCY, INSECURE_REGISTRIES, REGISTRY_AUTH, config_secrets
from gate.options.base import Group
from gate.options.discover import ALL_DOCKERFILES, ALLOW_EMPTY, BUILD_ARGS, MARKER, PATH

LOOKUPS = replace(CONCURRENCY, help=f"parallel tag lookups, 1-64 (default: {DEFAULT_CONCURRENCY})")

DOCKERFILES = Group(None, (PATH, MARKER, ALL_DOCKERFILES, BUILD_ARGS, ALLOW_EMPTY))
LOOKUP_ACCESS = Group("registry access", (LOOKUPS, INSECURE_REGISTRIES, REGISTRY_AUTH))


@dataclass(frozen=True, kw_only=True)
class DockerfileFields:
    """Which Dockerfiles a command reads, as discover: where, the production marker, build args."""

    path: str = "."
    marker: str = DEFAULT_MARKER
    all_dockerfiles: bool = False
    build_args: Mapping[str, str] = field(default_factory=dict)
    allow_empty: bool = False

    def selection(self) -> Selection:
        return Selection(self.marker, self.all_dockerfiles, self.build_args)


@dataclass(frozen=True, kw_only=True)
class LookupFields:
    """How a command reaches the registries of every image it finds: the hosts' credentials come from
    ``registry_auth`` and Docker's config; ``concurrency`` bounds the lookups in flight."""

    concurrency: int = DEFAULT_CONCURRENCY
    insecure_registries: tuple[str, ...] = ()
    registry_auth: str = ""

    def access(self) -> Access:
        return Access(
            registry_auth=self.registry_auth,
            insecure_registries=self.insecure_registries,
            concurrency=self.concurrency,
        )

    def secrets(self) -> tuple[str, ...]:
        """Every password the config carries (masked before anything is printed)."""
        return config_secrets(registry_auth=self.registry_auth)
