"""Options several commands share, declared once so that their help texts, environment fallbacks,
schemas and action inputs cannot diverge:

- registry access (mirror, scan, promote, pipeline): ``--concurrency``, ``--insecure-registry``,
  ``--registry-auth`` and ``--<side>-username`` / ``--<side>-password`` per registry side;
- the GitHub token (promote, pipeline): ``--github-token``, else ``IMAGE_GATE_GITHUB_TOKEN``, else
  ``GITHUB_TOKEN``.

Each group has an ``add_*_arguments(parser)``, a ``*_values_from_args(namespace)`` and a
``*_values_from_inputs(inputs)`` returning the config values (the same keys from both edges), and
the JSON Schema properties of those values.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gate.oci.copy import DEFAULT_CONCURRENCY

if TYPE_CHECKING:
    from gate.config import ActionInputs

ENV_PREFIX = "IMAGE_GATE_"
MAX_CONCURRENCY = 64

# --- registry access -------------------------------------------------------------------------------


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
