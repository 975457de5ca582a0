"""Trivy's passthrough options: ``--trivy-*`` flags on the command line, one structured input
``trivy_options`` (a YAML/JSON map of the ``TrivyOptions`` fields) in the action; both fill the same
``trivy_*`` config fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gate.errors import InputError
from gate.options.base import Group, Option

TRIVY_TIMEOUT = 900.0

# The config fields and the TrivyOptions field each feeds.
TRIVY_FIELDS: Mapping[str, str] = {
    "trivy_db_repositories": "db_repositories",
    "trivy_java_db_repositories": "java_db_repositories",
    "trivy_skip_db_update": "skip_db_update",
    "trivy_skip_java_db_update": "skip_java_db_update",
    "trivy_offline_scan": "offline_scan",
    "trivy_cache_dir": "cache_dir",
    "trivy_timeout": "timeout_seconds",
}

_REPOSITORY_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}}
_REPOSITORIES: Mapping[str, Any] = {"oneOf": [{"type": "string", "minLength": 1}, _REPOSITORY_LIST]}

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


def trivy_values(document: Any, where: str) -> dict[str, Any]:
    """The config values of a ``trivy_options`` map (None: none given); ``InputError`` naming the key."""
    if document is None:
        return {}
    import jsonschema  # only when trivy_options are given: not on every start

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
    from gate.scanners.trivy import TrivyOptions  # only the commands that scan import the backend

    options = {key: [value] if key.endswith("repositories") and isinstance(value, str) else value
               for key, value in document.items()}  # fmt: skip
    TrivyOptions.from_mapping(options)  # the backend accepts the same (a schema out of step fails here)
    by_option = {option: field for field, option in TRIVY_FIELDS.items()}
    return {by_option[key]: value for key, value in options.items()}


@dataclass(frozen=True, kw_only=True)
class TrivyFields:
    """The config fields the Trivy options fill (a command that scans)."""

    trivy_db_repositories: tuple[str, ...] = ()
    trivy_java_db_repositories: tuple[str, ...] = ()
    trivy_skip_db_update: bool = False
    trivy_skip_java_db_update: bool = False
    trivy_offline_scan: bool = False
    trivy_cache_dir: str = ""
    trivy_timeout: float = TRIVY_TIMEOUT


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


def _switch(field: str, help: str) -> Option:
    flag = "--" + field.replace("_", "-")
    return Option(field, help, {"type": "boolean"}, kind="bool", default=False, flag=flag, input=False)


TRIVY = Group(
    "trivy options (passed to trivy sbom; action input trivy_options)",
    (
        Option(
            "trivy_db_repositories",
            "OCI repository of the vulnerability database, e.g. a mirror (repeatable: tried in order)",
            _REPOSITORY_LIST,
            kind="list",
            default=(),
            flag="--trivy-db-repository",
            metavar="REPO",
            input=False,
        ),
        Option(
            "trivy_java_db_repositories",
            "OCI repository of the Java index database (repeatable)",
            _REPOSITORY_LIST,
            kind="list",
            default=(),
            flag="--trivy-java-db-repository",
            metavar="REPO",
            input=False,
        ),
        _switch("trivy_skip_db_update", "use the database in the cache as it is"),
        _switch("trivy_skip_java_db_update", "use the Java database in the cache as it is"),
        _switch("trivy_offline_scan", "no network access during the scan (trivy --offline-scan)"),
        Option(
            "trivy_cache_dir",
            "Trivy's cache (its databases)",
            {"type": "string"},
            default="",
            flag="--trivy-cache-dir",
            metavar="DIR",
            input=False,
        ),
        Option(
            "trivy_timeout",
            f"kill Trivy after this long (default: {TRIVY_TIMEOUT:g})",
            {"type": "number", "exclusiveMinimum": 0},
            kind="float",
            default=TRIVY_TIMEOUT,
            flag="--trivy-timeout",
            metavar="SECONDS",
            input=False,
        ),
        # Last: what the action gives overrides the defaults of the flags above.
        Option(
            "trivy_options",
            "Trivy's options as one YAML or JSON map of the --trivy-* options (action only)",
            TRIVY_OPTIONS_SCHEMA,
            kind="structured",
            expand=trivy_values,
            feeds=tuple(TRIVY_FIELDS),
        ),
    ),
)
