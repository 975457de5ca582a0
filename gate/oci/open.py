"""Open the targets a command names: registry repositories (one pool, one credential store) or OCI layouts.

Shared by the commands that read or write images (``scan``, ``pipeline``, ``promote``): credentials
from explicit username/password pairs, a ``registry_auth`` document (or the file holding one) and
Docker's config, all masked as soon as they are known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from gate.errors import InputError
from gate.files import read_capped_text
from gate.oci.auth import Credential, CredentialStore
from gate.oci.reference import ImageReference, LayoutReference, TargetReference
from gate.outcome import ignore

if TYPE_CHECKING:  # the options import Access: the clients are imported when a pool is opened
    from gate.oci.pool import RegistryPool
    from gate.oci.target import Target

MAX_REGISTRY_AUTH_BYTES = 1024 * 1024


def credential_pair(username: str, password: str, side: str) -> Credential | None:
    """A credential from an explicit username/password pair; both or neither, else an ``InputError``."""
    if not username and not password:
        return None
    if not username or not password:
        raise InputError(f"{side} credentials: give both {side}_username and {side}_password, or neither")
    return Credential(username, password)


def url_secrets(url: str) -> list[str]:
    """The credential in a URL's userinfo (``https://user:pass@host/...``): the password, or a lone
    user name (``https://TOKEN@host/``), raw and percent-decoded; to mask before the URL is logged."""
    try:
        parts = urlsplit(url.strip())
        secret = parts.password if parts.password is not None else parts.username
    except ValueError:
        return []
    if not secret:
        return []
    return list(dict.fromkeys([secret, unquote(secret)]))


def registry_auth_text(value: str) -> str:
    """A ``registry_auth`` value as a document: the value itself, or the content of the file it names."""
    stripped = value.strip()
    if not stripped or "\n" in stripped or stripped.startswith("{"):
        return value
    path = Path(stripped)
    if path.is_file():
        return read_capped_text(stripped, MAX_REGISTRY_AUTH_BYTES, "the registry_auth file")
    return value


@dataclass(frozen=True)
class Access:
    """How to reach registries: credentials and transport settings for one run."""

    explicit: Mapping[str, Credential] = field(default_factory=dict)
    """registry host -> credential (from ``<side>_username``/``<side>_password``)."""
    registry_auth: str = ""
    insecure_registries: tuple[str, ...] = ()
    concurrency: int = 4


def open_target(ref: TargetReference, pool: RegistryPool, *, create: bool = False) -> Target:
    """The target for one reference: an OCI layout directory, or a repository through ``pool``."""
    if isinstance(ref, LayoutReference):
        from gate.oci.layout import LayoutTarget

        return LayoutTarget(ref.path, create=create)
    return pool.target(ref)


def mount_from(source: TargetReference | None, destination: TargetReference) -> str | None:
    """The source repository to mount blobs from when both are repositories of one registry."""
    if not isinstance(source, ImageReference) or not isinstance(destination, ImageReference):
        return None
    if source.registry != destination.registry or source.repository == destination.repository:
        return None
    return source.repository


@contextmanager
def registry_pool(
    access: Access,
    *,
    environ: Mapping[str, str],
    mask: Callable[[str], None] = ignore,
    log: Callable[[str], None] = ignore,
) -> Iterator[RegistryPool]:
    """A pool over every credential source (masked), closed on exit."""
    from gate.oci.pool import RegistryPool

    credentials = CredentialStore.load(
        explicit=dict(access.explicit),
        registry_auth=registry_auth_text(access.registry_auth),
        environ=environ,
        mask=mask,
        log=log,
    )
    pool = RegistryPool(
        credentials,
        insecure_registries=access.insecure_registries,
        concurrency=access.concurrency,
        mask=mask,
        log=log,
    )
    try:
        yield pool
    finally:
        pool.close()


def explicit_credentials(pairs: Iterable[tuple[TargetReference, Credential | None, str]]) -> dict[str, Credential]:
    """registry host -> credential for each (reference, credential, side); later pairs win on a shared host.

    A credential for an image layout is an ``InputError`` (there is nothing to log in to).
    """
    found: dict[str, Credential] = {}
    for ref, credential, side in pairs:
        if credential is None:
            continue
        if not isinstance(ref, ImageReference):
            raise InputError(f"{side} credentials given, but the {side} {ref} is an image layout, not a registry")
        found[ref.registry] = credential
    return found
