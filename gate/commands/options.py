"""Options several commands share, declared once so that their help texts, environment fallbacks,
schemas and action inputs cannot diverge:

- registry access (mirror, scan, promote, pipeline): ``--concurrency``, ``--insecure-registry``,
  ``--registry-auth`` and ``--<side>-username`` / ``--<side>-password`` per registry side;
- the GitHub token (promote, pipeline): ``--github-token``, else ``IMAGE_GATE_GITHUB_TOKEN``, else
  ``GITHUB_TOKEN``;
- Trivy's passthrough options (scan, promote, pipeline): ``--trivy-*`` flags on the CLI, one structured
  input ``trivy_options`` (a YAML/JSON map of the ``TrivyOptions`` fields) in the action.

Each group has an ``add_*_arguments(parser)``, a ``*_values_from_args(namespace)`` and a
``*_values_from_inputs(inputs)`` returning the config values (the same keys from both edges), and
the JSON Schema properties of those values. The access fields are ``SourceAccessFields`` (scan) and
``AccessFields`` (with a destination: mirror, promote, pipeline), keyword-only dataclasses the command
configs inherit; ``config_secrets`` lists what a config must mask. ``--platform`` is declared here too.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import jsonschema

from gate.errors import InputError
from gate.oci.auth import Credential, parse_registry_auth
from gate.oci.copy import DEFAULT_CONCURRENCY
from gate.oci.open import Access, credential_pair, explicit_credentials, registry_auth_text, url_secrets

if TYPE_CHECKING:
    from gate.config import ActionInputs
    from gate.oci.refs import TargetReference

ENV_PREFIX = "IMAGE_GATE_"
MAX_CONCURRENCY = 64
TRIVY_TIMEOUT = 900.0

# --- config fields ---------------------------------------------------------------------------------


def field_values(config: Any, group: type) -> dict[str, Any]:
    """``config``'s values of the fields the dataclass ``group`` declares."""
    return {f.name: getattr(config, f.name) for f in fields(group)}


def schema_values(config: Any, group: type) -> dict[str, Any]:
    """``field_values`` as a schema takes them (tuples as JSON arrays), to build another config."""
    return {name: list(v) if isinstance(v, tuple) else v for name, v in field_values(config, group).items()}


def config_secrets(*given: str, registry_auth: str, urls: Iterable[str] = ()) -> tuple[str, ...]:
    """Every secret a config carries, to mask before anything is printed: ``given`` (passwords, tokens),
    the credentials in ``urls`` and the passwords in the ``registry_auth`` document (or the file it names)."""
    found = list(given)
    for url in urls:
        found += url_secrets(url)
    found += [credential.password for credential in parse_registry_auth(registry_auth_text(registry_auth)).values()]
    return tuple(secret for secret in found if secret)


# --- registry access -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SourceAccessFields:
    """How a command that only reads an image reaches its registry."""

    insecure_registries: tuple[str, ...] = ()
    registry_auth: str = ""
    source_username: str = ""
    source_password: str = ""

    def source_credential(self) -> Credential | None:
        return credential_pair(self.source_username, self.source_password, "source")

    def access(self, source: TargetReference) -> Access:
        """The ``Access`` to ``source`` (the source credentials, if any, are for its registry)."""
        return Access(
            explicit=explicit_credentials([(source, self.source_credential(), "source")]),
            registry_auth=self.registry_auth,
            insecure_registries=self.insecure_registries,
        )


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


def from_env(value: str | None, name: str) -> str:
    """A CLI value, else ``IMAGE_GATE_<NAME>`` from the environment, else empty."""
    return value if value is not None else os.environ.get(f"{ENV_PREFIX}{name.upper()}", "")


def access_schema(sides: Sequence[str], *, concurrency: bool = True) -> dict[str, Any]:
    """The schema properties of the registry-access values."""
    properties: dict[str, Any] = {
        "insecure_registries": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "registry_auth": {"type": "string"},
    }
    if concurrency:
        properties["concurrency"] = {"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENCY}
    for side in sides:
        properties[f"{side}_username"] = {"type": "string"}
        properties[f"{side}_password"] = {"type": "string"}
    return properties


def add_access_arguments(
    parser: argparse.ArgumentParser, sides: Mapping[str, str], *, concurrency: bool = True
) -> None:
    """The "registry access" option group; ``sides`` maps each side (``source``, ``destination``) to
    the registry it logs in to, for the help text."""
    group = parser.add_argument_group("registry access")
    if concurrency:
        group.add_argument(
            "--concurrency",
            type=int,
            default=DEFAULT_CONCURRENCY,
            metavar="N",
            help=f"parallel blob transfers per registry host, 1-{MAX_CONCURRENCY} (default: {DEFAULT_CONCURRENCY})",
        )
    group.add_argument(
        "--insecure-registry",
        dest="insecure_registries",
        action="append",
        default=[],
        metavar="HOST",
        help="allow plain HTTP to this registry host[:port] (loopback hosts always use HTTP; repeatable)",
    )
    group.add_argument(
        "--registry-auth",
        default=None,
        metavar="FILE_OR_JSON",
        help="credentials per registry host: a YAML/JSON map host -> {username, password}, or a file holding "
        f"one (env {ENV_PREFIX}REGISTRY_AUTH); Docker's config.json is read too",
    )
    for side, registry in sides.items():
        group.add_argument(
            f"--{side}-username",
            default=None,
            metavar="USER",
            help=f"username for {registry} (env {ENV_PREFIX}{side.upper()}_USERNAME)",
        )
        group.add_argument(
            f"--{side}-password",
            default=None,
            metavar="PASSWORD",
            help=f"password or token for {registry} (env {ENV_PREFIX}{side.upper()}_PASSWORD)",
        )


def access_values_from_args(
    namespace: argparse.Namespace, sides: Sequence[str], *, concurrency: bool = True
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "insecure_registries": list(namespace.insecure_registries),
        "registry_auth": from_env(namespace.registry_auth, "registry_auth"),
    }
    if concurrency:
        values["concurrency"] = namespace.concurrency
    for side in sides:
        for field in ("username", "password"):
            values[f"{side}_{field}"] = from_env(getattr(namespace, f"{side}_{field}"), f"{side}_{field}")
    return values


def access_values_from_inputs(
    inputs: ActionInputs, sides: Sequence[str], *, concurrency: bool = True
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "insecure_registries": inputs.list("insecure_registries"),
        "registry_auth": inputs.get("registry_auth"),
    }
    if concurrency:
        values["concurrency"] = inputs.int("concurrency")
    for side in sides:
        values[f"{side}_username"] = inputs.get(f"{side}_username").strip()
        values[f"{side}_password"] = inputs.get(f"{side}_password")
    return values


# --- platforms -------------------------------------------------------------------------------------

PLATFORMS_SCHEMA: Mapping[str, Any] = {
    "type": "array",
    "items": {"type": "string", "pattern": r"^[^/\s]+/[^/\s]+(/[^/\s]+)?$"},
}


def add_platform_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup, help: str) -> None:
    """``--platform OS/ARCH[/VARIANT]`` (repeatable; config and input ``platforms``)."""
    parser.add_argument(
        "--platform", dest="platforms", action="append", default=[], metavar="OS/ARCH[/VARIANT]", help=help
    )


# --- the GitHub token -------------------------------------------------------------------------------


def add_github_token_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--github-token",
        default=None,
        metavar="TOKEN",
        help="GitHub token to delete a GHCR tag through the GitHub Packages API when the registry refuses "
        f"the deletion (env {ENV_PREFIX}GITHUB_TOKEN, else GITHUB_TOKEN)",
    )


def github_token_from_args(value: str | None, environ: Mapping[str, str] | None = None) -> str:
    """``--github-token``, else ``IMAGE_GATE_GITHUB_TOKEN``, else ``GITHUB_TOKEN``, else empty."""
    if value is not None:
        return value
    env = os.environ if environ is None else environ
    return env.get(f"{ENV_PREFIX}GITHUB_TOKEN") or env.get("GITHUB_TOKEN", "")


# --- Trivy ----------------------------------------------------------------------------------------

# The config fields (as scan, promote and pipeline name them) and the TrivyOptions field each feeds.
TRIVY_FIELDS: Mapping[str, str] = {
    "trivy_db_repositories": "db_repositories",
    "trivy_java_db_repositories": "java_db_repositories",
    "trivy_skip_db_update": "skip_db_update",
    "trivy_skip_java_db_update": "skip_java_db_update",
    "trivy_offline_scan": "offline_scan",
    "trivy_cache_dir": "cache_dir",
    "trivy_timeout": "timeout_seconds",
}

TRIVY_SCHEMA_PROPERTIES: Mapping[str, Any] = {
    "trivy_db_repositories": {"type": "array", "items": {"type": "string", "minLength": 1}},
    "trivy_java_db_repositories": {"type": "array", "items": {"type": "string", "minLength": 1}},
    "trivy_skip_db_update": {"type": "boolean"},
    "trivy_skip_java_db_update": {"type": "boolean"},
    "trivy_offline_scan": {"type": "boolean"},
    "trivy_cache_dir": {"type": "string"},
    "trivy_timeout": {"type": "number", "exclusiveMinimum": 0},
}

_REPOSITORIES: Mapping[str, Any] = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}},
    ]
}

# The ``trivy_options`` input: a map of TrivyOptions fields (a string is one repository).
TRIVY_OPTIONS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "db_repositories": _REPOSITORIES,
        "java_db_repositories": _REPOSITORIES,
        "skip_db_update": {"type": "boolean"},
        "skip_java_db_update": {"type": "boolean"},
        "offline_scan": {"type": "boolean"},
        "cache_dir": {"type": "string", "minLength": 1},
        "timeout_seconds": {"type": "number", "exclusiveMinimum": 0},
    },
}


def add_trivy_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--trivy-*`` options (action: the ``trivy_options`` input)."""
    group = parser.add_argument_group("trivy options (passed to trivy sbom; action input trivy_options)")
    group.add_argument(
        "--trivy-db-repository",
        dest="trivy_db_repositories",
        action="append",
        default=[],
        metavar="REPO",
        help="OCI repository of the vulnerability database, e.g. a mirror (repeatable: tried in order)",
    )
    group.add_argument(
        "--trivy-java-db-repository",
        dest="trivy_java_db_repositories",
        action="append",
        default=[],
        metavar="REPO",
        help="OCI repository of the Java index database (repeatable)",
    )
    group.add_argument("--trivy-skip-db-update", action="store_true", help="use the database in the cache as it is")
    group.add_argument(
        "--trivy-skip-java-db-update", action="store_true", help="use the Java database in the cache as it is"
    )
    group.add_argument(
        "--trivy-offline-scan", action="store_true", help="no network access during the scan (trivy --offline-scan)"
    )
    group.add_argument("--trivy-cache-dir", default="", metavar="DIR", help="Trivy's cache (its databases)")
    group.add_argument(
        "--trivy-timeout",
        type=float,
        default=TRIVY_TIMEOUT,
        metavar="SECONDS",
        help=f"kill Trivy after this long (default: {TRIVY_TIMEOUT:g})",
    )


def trivy_values_from_args(namespace: argparse.Namespace) -> dict[str, Any]:
    return {
        "trivy_db_repositories": list(namespace.trivy_db_repositories),
        "trivy_java_db_repositories": list(namespace.trivy_java_db_repositories),
        "trivy_skip_db_update": bool(namespace.trivy_skip_db_update),
        "trivy_skip_java_db_update": bool(namespace.trivy_skip_java_db_update),
        "trivy_offline_scan": bool(namespace.trivy_offline_scan),
        "trivy_cache_dir": namespace.trivy_cache_dir,
        "trivy_timeout": namespace.trivy_timeout,
    }


def trivy_values(document: Any, where: str) -> dict[str, Any]:
    """The config values of a ``trivy_options`` map (None: none given); ``InputError`` naming the key."""
    if document is None:
        return {}
    errors = sorted(
        jsonschema.Draft202012Validator(TRIVY_OPTIONS_SCHEMA).iter_errors(document), key=lambda e: list(e.path)
    )
    if errors:
        first = errors[0]
        key = ".".join(str(p) for p in first.path)
        if first.validator == "additionalProperties":
            known = ", ".join(TRIVY_OPTIONS_SCHEMA["properties"])
            raise InputError(f"{where}: {first.message} (known: {known})")
        raise InputError(f"{where}: {key or '(the document)'}: {first.message}")
    from gate.scan.trivy import TrivyOptions  # only the commands that scan import the backend

    options = {key: [value] if key.endswith("repositories") and isinstance(value, str) else value
               for key, value in document.items()}  # fmt: skip
    TrivyOptions.from_mapping(options)  # the backend accepts the same (a schema out of step fails here)
    by_option = {option: field for field, option in TRIVY_FIELDS.items()}
    return {by_option[key]: value for key, value in options.items()}


def trivy_values_from_inputs(inputs: ActionInputs) -> dict[str, Any]:
    return trivy_values(inputs.structured("trivy_options"), "input trivy_options")


def trivy_scanner_options(config: Any) -> dict[str, Any]:
    """The ``trivy`` backend's options from a config carrying the ``trivy_*`` fields."""
    return {
        "timeout_seconds": config.trivy_timeout,
        "db_repositories": list(config.trivy_db_repositories),
        "java_db_repositories": list(config.trivy_java_db_repositories),
        "skip_db_update": config.trivy_skip_db_update,
        "skip_java_db_update": config.trivy_skip_java_db_update,
        "offline_scan": config.trivy_offline_scan,
        "cache_dir": config.trivy_cache_dir or None,
    }
