"""Registry hosts, pooled: what the repositories on one host share, and where targets are opened.

``RegistryPool`` holds what repositories on the same host share: the HTTP session, the
authenticator (token cache), a semaphore bounding parallel transfers per host (the copy
engine acquires ``target.semaphore``; the target itself never does), per-repository
knowledge of the referrers API and of chunked uploads, and the locks serialising fallback
referrer updates. Open source and destination through ONE pool so same-host targets share
all of that.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gate.errors import InputError
from gate.oci.auth import Authenticator, CredentialStore
from gate.oci.http import HttpClient, RetryPolicy, scheme_for
from gate.oci.reference import ImageReference
from gate.oci.registry import RegistryTarget
from gate.outcome import ignore


@dataclass
class RegistryHost:
    """What every repository on one registry host shares."""

    registry: str  # as in references (docker.io for Docker Hub)
    api_host: str  # where the API answers (registry-1.docker.io for Docker Hub)
    base_url: str
    http: HttpClient
    auth: Authenticator
    semaphore: threading.BoundedSemaphore
    referrers_api: dict[str, bool] = field(default_factory=dict)  # repository -> supported
    chunked_upload: dict[str, int] = field(default_factory=dict)  # repository -> chunk size when required
    _locks: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    def subject_lock(self, repository: str, digest: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault((repository, digest), threading.Lock())


class RegistryPool:
    """Registry hosts by name, built lazily from one credential store and one set of settings."""

    def __init__(
        self,
        credentials: CredentialStore,
        *,
        insecure_registries: Iterable[str] = (),
        concurrency: int = 4,
        mask: Callable[[str], None] = ignore,
        log: Callable[[str], None] = ignore,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 120.0),
        read_deadline: float | None = None,
        force_chunked_upload: int | None = None,
    ) -> None:
        if concurrency < 1:
            raise InputError(f"concurrency must be at least 1, got {concurrency}")
        self.credentials = credentials
        self.insecure_registries = tuple(insecure_registries)
        self.concurrency = concurrency
        self.mask = mask
        self.log = log
        self.force_chunked_upload = force_chunked_upload
        self.http = HttpClient(
            retry=retry, timeout=timeout, read_deadline=read_deadline, pool_size=max(16, concurrency * 4), log=log
        )
        self._hosts: dict[str, RegistryHost] = {}
        self._guard = threading.Lock()

    def host(self, ref: ImageReference) -> RegistryHost:
        with self._guard:
            found = self._hosts.get(ref.registry)
            if found is None:
                api_host = ref.api_host
                insecure = self.insecure_registries
                base_url = f"{scheme_for(api_host, insecure)}://{api_host}"
                auth = Authenticator(
                    ref.registry,
                    self.credentials.get(ref.registry),
                    self.http,
                    allow_http=lambda netloc: scheme_for(netloc, insecure) == "http",
                    mask=self.mask,
                    log=self.log,
                )
                found = RegistryHost(
                    ref.registry, api_host, base_url, self.http, auth, threading.BoundedSemaphore(self.concurrency)
                )
                self._hosts[ref.registry] = found
            return found

    def target(self, ref: ImageReference) -> RegistryTarget:
        return RegistryTarget(ref, self.host(ref), log=self.log, force_chunked_upload=self.force_chunked_upload)

    def close(self) -> None:
        self.http.close()


def open_registry_target(
    ref: ImageReference,
    credentials: CredentialStore,
    *,
    insecure_registries: Iterable[str] = (),
    concurrency: int = 4,
    mask: Callable[[str], None] = ignore,
    log: Callable[[str], None] = ignore,
    pool: RegistryPool | None = None,
) -> RegistryTarget:
    """A target for ``ref``'s repository. Pass the same ``pool`` for every target of one run
    (then the other settings are the pool's); without one, a new pool is made."""
    if pool is None:
        pool = RegistryPool(
            credentials, insecure_registries=insecure_registries, concurrency=concurrency, mask=mask, log=log
        )
    return pool.target(ref)
