"""How a command reaches its registries: ``--concurrency``, ``--insecure-registry``, ``--registry-auth``
and a username/password pair per registry side (``source``, ``destination``), each also read from
``IMAGE_GATE_<NAME>`` on the command line. ``SourceAccessFields`` and ``AccessFields`` are the config
fields they fill (keyword-only dataclasses the command configs inherit), with the ``Access`` they give.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.oci.auth import Credential, registry_auth_secrets
from gate.oci.open import Access, credential_pair, explicit_credentials, registry_auth_text, url_secrets
from gate.oci.target import DEFAULT_CONCURRENCY
from gate.options.base import Group, Option

if TYPE_CHECKING:
    from gate.oci.reference import TargetReference

ENV_PREFIX = "IMAGE_GATE_"
MAX_CONCURRENCY = 64

CONCURRENCY = Option(
    "concurrency",
    f"parallel blob transfers per registry host, 1-{MAX_CONCURRENCY} (default: {DEFAULT_CONCURRENCY})",
    {"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENCY},
    kind="int",
    default=DEFAULT_CONCURRENCY,
    flag="--concurrency",
    metavar="N",
)
INSECURE_REGISTRIES = Option(
    "insecure_registries",
    "allow plain HTTP to this registry host[:port] (loopback hosts always use HTTP; repeatable)",
    {"type": "array", "items": {"type": "string", "minLength": 1}},
    kind="list",
    default=(),
    flag="--insecure-registry",
    metavar="HOST",
)
REGISTRY_AUTH = Option(
    "registry_auth",
    "credentials per registry host: a YAML/JSON map host -> {username, password}, or a file holding "
    f"one (env {ENV_PREFIX}REGISTRY_AUTH); Docker's config.json is read too",
    {"type": "string"},
    default="",
    flag="--registry-auth",
    metavar="FILE_OR_JSON",
    env=(f"{ENV_PREFIX}REGISTRY_AUTH",),
    strip=False,
)


def credentials(side: str, registry: str) -> tuple[Option, Option]:
    """``--<side>-username`` and ``--<side>-password`` (inputs ``<side>_username``/``_password``) for
    ``registry`` (how the command's help names it)."""
    username = f"{side}_username"
    password = f"{side}_password"
    return (
        Option(
            username,
            f"username for {registry} (env {ENV_PREFIX}{username.upper()})",
            {"type": "string"},
            default="",
            flag=f"--{side}-username",
            metavar="USER",
            env=(f"{ENV_PREFIX}{username.upper()}",),
        ),
        Option(
            password,
            f"password or token for {registry} (env {ENV_PREFIX}{password.upper()})",
            {"type": "string"},
            default="",
            flag=f"--{side}-password",
            metavar="PASSWORD",
            env=(f"{ENV_PREFIX}{password.upper()}",),
            strip=False,
        ),
    )


def access_group(sides: Mapping[str, str], *, concurrency: bool = True) -> Group:
    """The "registry access" group; ``sides`` maps each side to the registry it logs in to."""
    options = [CONCURRENCY] if concurrency else []
    options += [INSECURE_REGISTRIES, REGISTRY_AUTH]
    for side, registry in sides.items():
        options += credentials(side, registry)
    return Group("registry access", tuple(options))


def config_secrets(*given: str, registry_auth: str, urls: Iterable[str] = ()) -> tuple[str, ...]:
    """Every secret a config carries, to mask before anything is printed: ``given`` (passwords, tokens),
    the credentials in ``urls`` and the secrets in the ``registry_auth`` document (or the file it names):
    its passwords, and any key that is not a registry host (``gate.oci.auth.registry_auth_secrets``)."""
    found = list(given)
    for url in urls:
        found += url_secrets(url)
    found += registry_auth_secrets(registry_auth_text(registry_auth))
    return tuple(secret for secret in found if secret)


@dataclass(frozen=True, kw_only=True)
class SourceAccessFields:
    """How a command that only reads an image reaches its registry."""

    insecure_registries: tuple[str, ...] = ()
    registry_auth: str = ""
    source_username: str = ""
    source_password: str = ""

    def source_credential(self) -> Credential | None:
        return credential_pair(self.source_username, self.source_password, "source")

    def source_access(self, source: TargetReference) -> Access:
        """The ``Access`` to ``source`` alone (the source credentials, if any, are for its registry)."""
        return Access(
            explicit=explicit_credentials([(source, self.source_credential(), "source")]),
            registry_auth=self.registry_auth,
            insecure_registries=self.insecure_registries,
        )

    def access(self, source: TargetReference) -> Access:
        return self.source_access(source)


@dataclass(frozen=True, kw_only=True)
class AccessFields(SourceAccessFields):
    """How a command that copies reaches the source and the destination registries."""

    concurrency: int = DEFAULT_CONCURRENCY
    destination_username: str = ""
    destination_password: str = ""

    def access(self, source: TargetReference, *destinations: TargetReference) -> Access:
        """The ``Access`` to ``source`` and ``destinations`` (the destination credentials win on a shared host)."""
        pairs = [(source, self.source_credential(), "source")]
        destination = credential_pair(self.destination_username, self.destination_password, "destination")
        pairs += [(ref, destination, "destination") for ref in destinations]
        return Access(
            explicit=explicit_credentials(pairs),
            registry_auth=self.registry_auth,
            insecure_registries=self.insecure_registries,
            concurrency=self.concurrency,
        )
