"""One repository on a registry host: its URLs and authenticated requests.

What the manifests, blobs, referrers and tags clients build on. A reference becomes part of a
URL only once it is checked as a digest or a tag; a ``Link`` to a next page must stay on the
host and under the repository's path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote, urljoin, urlsplit

from gate.errors import InputError
from gate.oci.auth import repository_scope
from gate.oci.connections import Answer
from gate.oci.http import RegistryFailure, raise_for_answer, read_capped
from gate.oci.reference import ImageReference, is_valid_tag, split_digest
from gate.outcome import ignore

if TYPE_CHECKING:
    from gate.oci.pool import RegistryHost

MAX_LIST_PAGE = 4 * 1024 * 1024
MAX_PAGES = 1000


class RepositoryClient:
    """Requests to one repository of a registry, authenticated through its host's token cache."""

    def __init__(self, ref: ImageReference, host: RegistryHost, *, log: Callable[[str], None] = ignore) -> None:
        self.ref = ref
        self.repository = ref.repository
        self.host = host
        self.log = log
        self.retry = host.http.retry

    @property
    def display_name(self) -> str:
        return f"{self.ref.registry}/{self.repository}"

    def url(self, kind: str, reference: str = "") -> str:
        path = f"/v2/{self.repository}/{kind}"
        if reference:
            path += "/" + quote(checked_reference(reference), safe=":")
        return self.host.base_url + path

    def absolute(self, location: str) -> str:
        """A ``Location`` the registry answered, as a URL on its host."""
        return urljoin(self.host.base_url + "/", location)

    def where(self, reference: str) -> str:
        sep = "@" if ":" in reference else ":"
        return f"{self.display_name}{sep}{reference}"

    def push_scopes(self, *extra: str) -> list[str]:
        return [repository_scope(self.repository, "pull", "push"), *extra]

    def send(
        self,
        method: str,
        url: str,
        *,
        scopes: Iterable[str] | None = None,
        what: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | list[str]] | None = None,
        data: bytes | Iterable[bytes] | None = None,
        stream: bool = False,
        transient_not_found: bool = False,
    ) -> Answer:
        """One request, with the token for ``scopes`` (pull by default); a 401 whose challenge
        teaches us a token is sent again when the body can be replayed."""
        scope_list = list(scopes) if scopes is not None else [repository_scope(self.repository, "pull")]
        same_host = urlsplit(url).netloc == urlsplit(self.host.base_url).netloc

        def once() -> tuple[Answer, str | None]:
            authorization = self.host.auth.header(scope_list) if same_host else None
            answer = self.host.http.request(
                method,
                url,
                headers=headers,
                params=params,
                data=data,
                stream=stream,
                authorization=authorization,
                transient_not_found=transient_not_found,
                what=what,
            )
            return answer, authorization

        response, sent = once()
        replayable = data is None or isinstance(data, bytes)
        # A streamed body is spent: learn the challenge anyway so the caller's retry has a token.
        learned = (
            response.status_code == 401
            and same_host
            and self.host.auth.on_unauthorized(response, scope_list, sent=sent)
        )
        if learned and replayable:
            response.close()
            response, _ = once()
        return response

    def fail(self, response: Answer, what: str) -> NoReturn:
        """Raise the error for an unexpected answer (``gate.oci.http.raise_for_answer``)."""
        raise_for_answer(response, what, self.ref.registry)

    def read_capped(self, response: Answer, limit: int, what: str) -> bytes:
        return read_capped(response, limit, what, deadline=self.host.http.read_deadline)

    def exists(
        self, kind: str, digest: str, headers: Mapping[str, str] | None, scopes: list[str] | None = None
    ) -> bool:
        """HEAD ``kind`` (``manifests`` or ``blobs``) ``digest``: 200 present, 404 absent."""
        what = f"check {kind[:-1]} {self.where(digest)}"
        response = self.send("HEAD", self.url(kind, digest), headers=headers, scopes=scopes, what=what)
        response.close()
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        if response.status_code in (401, 403) and kind == "blobs":
            # Some registries answer a HEAD on a missing blob in a repository we may
            # only push to with a denial; a push will tell the truth.
            return False
        self.fail(response, what)

    def check_next(self, next_url: str | None, kind: str, what: str) -> None:
        """A ``Link`` to the next page stays on this host and under this repository's ``kind`` path."""
        if next_url is None:
            return
        parts, base = urlsplit(next_url), urlsplit(self.host.base_url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            raise RegistryFailure(f"cannot {what}: the registry's next page is on another host")
        if not parts.path.startswith(f"/v2/{self.repository}/{kind}") or "/../" in f"{parts.path}/":
            raise RegistryFailure(f"cannot {what}: the registry's next page is outside /v2/{self.repository}/{kind}")


def checked_reference(reference: str) -> str:
    """``reference`` when it is a valid digest or tag: checked before it becomes part of a URL."""
    if ":" in reference:
        split_digest(reference)
    elif not is_valid_tag(reference):
        raise InputError(f"invalid tag {reference[:200]!r}: expected [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}")
    return reference


def json_object(data: bytes, what: str) -> dict[str, Any] | None:
    """The JSON object in ``data``; None for other JSON or none. Nesting too deep for the parser
    (a hostile document) is a ``RegistryFailure`` naming ``what``, not an internal error."""
    try:
        document = json.loads(data)
    except ValueError:
        return None
    except RecursionError:
        raise RegistryFailure(f"{what}: the JSON document is nested too deeply to read") from None
    return document if isinstance(document, dict) else None


def next_link(response: Answer, current: str) -> str | None:
    """The ``Link: <...>; rel="next"`` of a page, as an absolute URL."""
    link = response.links.get("next")
    if not link or not link.get("url"):
        return None
    return urljoin(current, link["url"])


def bare_media_type(content_type: str) -> str:
    """A ``Content-Type`` without its parameters, lower case."""
    return content_type.split(";", 1)[0].strip().lower()
