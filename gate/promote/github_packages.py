"""Deleting a tag on GHCR through the GitHub Packages API (PyGithub).

GHCR answers ``DELETE /v2/<name>/manifests/<tag>`` with 405: a tag there goes away only with the
package version (the manifest) that carries it. So ``delete_ghcr_tag`` finds the container package
version carrying the tag (an organisation's or a user's package; the package name is the
repository path after the owner, URL-encoded: ``ghcr.io/acme/team/app`` is package ``team/app``
of ``acme``) and deletes the version only when that tag is its only tag and it is the digest we
expect. Anything else is reported, never forced: deleting a version with other tags would remove
those tags too.

PyGithub has no packages API of its own; the calls go through its ``Requester`` (the documented
way to reach endpoints it does not wrap), so auth, retries and errors are PyGithub's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from gate.errors import GateError, InputError, RuntimeFailure
from gate.github.client import DEFAULT_API_URL, check_api_url
from gate.outcome import ignore
from gate.promote.cleanup import CleanableTarget, CleanupPlan, CleanupResult, Deleted, Left

if TYPE_CHECKING:  # requests and PyGithub are imported when a tag is deleted: every other start is spared them
    from github import Github, GithubException

GHCR = "ghcr.io"
PER_PAGE = 100
MAX_PAGES = 100  # 10,000 versions: beyond that the quarantine package needs pruning, not a scan
TIMEOUT = 30

OwnerKind = Literal["org", "user"]


@dataclass(frozen=True)
class PackageTagDeletion:
    """What happened to a tag on GHCR: ``deleted``, or ``reason`` why not."""

    package: str
    """``owner/name`` of the container package."""
    tag: str
    deleted: bool
    owner_kind: OwnerKind | None = None
    version_id: int | None = None
    version_digest: str | None = None
    version_tags: tuple[str, ...] = ()
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "tag": self.tag,
            "deleted": self.deleted,
            "owner_kind": self.owner_kind,
            "version_id": self.version_id,
            "version_digest": self.version_digest,
            "version_tags": list(self.version_tags),
            "reason": self.reason,
        }


def split_package(repository: str) -> tuple[str, str]:
    """``owner/path/to/image`` -> (``owner``, ``path/to/image``)."""
    owner, _, name = repository.strip("/").partition("/")
    if not owner or not name:
        raise InputError(f"GHCR repository {repository!r}: expected OWNER/PACKAGE")
    return owner, name


def delete_ghcr_tag(
    repository: str,
    tag: str,
    token: str,
    *,
    expected_digest: str | None = None,
    api_url: str = DEFAULT_API_URL,
    log: Callable[[str], None] = ignore,
) -> PackageTagDeletion:
    """Delete the package version carrying ``tag`` in ``ghcr.io/<repository>`` when ``tag`` is its only tag
    (and its digest is ``expected_digest`` when given). Raises ``RuntimeFailure`` when the API fails."""
    client, owner, name = _connect(token, repository, api_url, "deleting a GHCR tag")
    package = f"{owner}/{name}"
    try:
        kind, base = _package_path(client, owner, name)
        version = _find_version(client, base, tag, package)
        if version is None:
            return PackageTagDeletion(
                package, tag, False, kind, reason=f"no version of package {package} carries tag {tag}"
            )
        version_id, digest, tags = version
        found = PackageTagDeletion(package, tag, False, kind, version_id, digest, tags)
        if expected_digest is not None and digest != expected_digest:
            return _not(
                found, f"tag {tag} is on version {version_id} ({digest}), not on {expected_digest}; not deleted"
            )
        others = [t for t in tags if t != tag]
        if others:
            return _not(
                found,
                f"version {version_id} ({digest}) of package {package} also carries tag(s) {', '.join(others)}; "
                "deleting it would remove them too, so it was not deleted",
            )
        log(f"promote: deleting version {version_id} ({digest}) of GHCR package {package} (its only tag: {tag})")
        _call(client, "DELETE", f"{base}/versions/{version_id}", f"delete version {version_id} of package {package}")
        return PackageTagDeletion(package, tag, True, kind, version_id, digest, tags)
    finally:
        client.close()


def _connect(token: str, repository: str, api_url: str, what: str) -> tuple[Github, str, str]:
    """A client of the GitHub API for the package of ``repository``: (client, owner, package name)."""
    if not token:
        raise InputError(f"{what} needs a GitHub token (github_token)")
    check_api_url(api_url)
    owner, name = split_package(repository)
    from github import Auth, Github  # here, not at start-up (the speed issue imports PyGithub lazily)

    return Github(auth=Auth.Token(token), base_url=api_url.rstrip("/"), timeout=TIMEOUT), owner, name


def _package_path(client: Github, owner: str, name: str) -> tuple[OwnerKind, str]:
    """The owner's kind (``org`` or ``user``) and the API path of the container package ``name``."""
    kind = _owner_kind(client, owner)
    scope = "orgs" if kind == "org" else "users"
    return kind, f"/{scope}/{quote(owner, safe='')}/packages/container/{quote(name, safe='')}"


def _not(found: PackageTagDeletion, reason: str) -> PackageTagDeletion:
    return PackageTagDeletion(
        found.package, found.tag, False, found.owner_kind, found.version_id, found.version_digest, found.version_tags,
        reason,
    )  # fmt: skip


def _owner_kind(client: Github, owner: str) -> OwnerKind:
    import requests
    from github import GithubException

    try:
        kind = client.get_user(owner).type
    except GithubException as exc:
        raise RuntimeFailure(f"GitHub API: cannot look up owner {owner!r}: {_describe(exc)}") from None
    except (requests.RequestException, RuntimeError) as exc:
        raise RuntimeFailure(f"GitHub API: cannot look up owner {owner!r}: {_network(exc)}") from exc
    return "org" if kind == "Organization" else "user"


def _find_version(client: Github, base: str, tag: str, package: str) -> tuple[int, str, tuple[str, ...]] | None:
    for page in _version_pages(client, base, package, "tag not found"):
        for found in page:
            if tag in found[2]:
                return found
    return None


def _version_pages(
    client: Github, base: str, package: str, beyond: str
) -> Iterator[list[tuple[int, str, tuple[str, ...]]]]:
    """The package's active versions, a page at a time (``beyond``: what the error adds past ``MAX_PAGES``)."""
    for page in range(1, MAX_PAGES + 1):
        data = _call(
            client,
            "GET",
            f"{base}/versions",
            f"list versions of package {package}",
            {"per_page": PER_PAGE, "page": page, "state": "active"},
        )
        if not isinstance(data, list):
            raise RuntimeFailure(f"GitHub API: list versions of package {package}: the answer is not a list")
        yield [v for v in map(_version, data) if v is not None]
        if len(data) < PER_PAGE:
            return
    raise RuntimeFailure(f"GitHub API: package {package} has more than {MAX_PAGES * PER_PAGE} versions; {beyond}")


def _version(item: Any) -> tuple[int, str, tuple[str, ...]] | None:
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), int):
        return None
    metadata = item.get("metadata")
    container = metadata.get("container") if isinstance(metadata, Mapping) else None
    tags = container.get("tags") if isinstance(container, Mapping) else None
    if not isinstance(tags, list):
        return None
    return int(item["id"]), str(item.get("name") or ""), tuple(t for t in tags if isinstance(t, str))


def _call(client: Github, verb: str, url: str, what: str, parameters: dict[str, Any] | None = None) -> Any:
    import requests
    from github import GithubException

    try:
        _, data = client.requester.requestJsonAndCheck(verb, url, parameters=parameters)
    except GithubException as exc:
        hint = None
        if exc.status in (401, 403):
            hint = "the token needs read:packages and delete:packages (or packages: write for the workflow's token)"
        raise RuntimeFailure(f"GitHub API: cannot {what}: {_describe(exc)}", hint=hint) from None
    except (requests.RequestException, RuntimeError) as exc:
        raise RuntimeFailure(f"GitHub API: cannot {what}: {_network(exc)}") from exc
    return data


def _network(exc: Exception) -> str:
    """A network failure (or PyGithub refusing a redirect to another host) in words, without URLs.
    Any other ``RuntimeError`` is a bug and is raised again."""
    import requests

    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "the API is unreachable"
    if isinstance(exc, requests.RequestException):
        return type(exc).__name__
    if "redirected" in str(exc):
        return "the server redirected to another host or scheme; refused"
    raise exc


def _describe(exc: GithubException) -> str:
    message = exc.data.get("message") if isinstance(exc.data, Mapping) else None
    text = f"HTTP {exc.status}" + (f": {message}" if isinstance(message, str) and message else "")
    return text[:300]


# --- the quarantine cleanup on GHCR -------------------------------------------------------------------


def run_plan_on_ghcr(
    source: CleanableTarget,
    repository: str,
    plan: CleanupPlan,
    token: str,
    *,
    api_url: str = DEFAULT_API_URL,
    log: Callable[[str], None] = ignore,
) -> CleanupResult:
    """Carry a quarantine cleanup plan (``gate.promote.cleanup``) out on GHCR, where the registry API refuses
    deletes: every referrer, cosign artifact and emptied ``sha256-<hex>`` index is a package version (named
    by its digest), deleted through the Packages API in the plan's order, leaves first. A version is deleted
    only when every tag it carries is one the plan deletes; a fallback index that keeps entries is rewritten
    through the registry API (GHCR accepts pushes). A tag alone cannot be deleted on GHCR (only with its
    version): such a step is left, named. Stops at the first API failure, naming what was not done."""
    client, owner, name = _connect(token, repository, api_url, "deleting GHCR package versions")
    package = f"{owner}/{name}"
    deleted: list[Deleted] = []
    left: list[Left] = list(plan.left)
    number = 0
    try:
        _, base = _package_path(client, owner, name)
        versions = {digest: (version_id, tags) for version_id, digest, tags in _all_versions(client, base, package)}
        blocked = _blocked(plan, versions)
        for number in range(len(plan.actions)):
            action = plan.actions[number]
            if action.kind == "tag":
                left.append(
                    Left(
                        action.digest,
                        "GHCR deletes a tag only with its version, which another tag still needs",
                        action.tag,
                    )
                )
                continue
            digest = action.digest
            if action.kind == "index":
                drop = [d for d in action.drop if d not in blocked]  # what stays, stays listed
                index, remaining = source.remove_referrers(action.subject or "", drop) if drop else (None, 1)
                if index is None or remaining:
                    continue
                digest = index
            elif digest in blocked:
                left.append(Left(digest, blocked[digest], action.tag))
                continue
            found = versions.get(digest)
            if found is None:
                continue  # gone already
            version_id, tags = found
            foreign = [t for t in tags if t not in plan.tags]
            if foreign:  # an emptied index that another tag also names
                left.append(Left(digest, f"version {version_id} also carries tag(s) {', '.join(foreign)}", action.tag))
                continue
            log(f"promote: deleting version {version_id} ({digest}) of GHCR package {package}")
            _call(
                client, "DELETE", f"{base}/versions/{version_id}", f"delete version {version_id} of package {package}"
            )
            versions.pop(digest)
            deleted.append(Deleted(digest, action.tag))
    except GateError as exc:
        rest = plan.actions[number:]
        left += [Left(a.digest, f"not deleted: {exc.message}", a.tag) for a in rest]
        return CleanupResult(tuple(deleted), tuple(left), exc.message)
    finally:
        client.close()
    return CleanupResult(tuple(deleted), tuple(left))


def _blocked(plan: CleanupPlan, versions: dict[str, tuple[int, tuple[str, ...]]]) -> dict[str, str]:
    """The manifests of the plan whose version carries a tag the plan does not delete (deleting the version
    would delete that tag), and the referrers they hang from (or they would dangle): digest -> why."""
    blocked: dict[str, str] = {}
    subjects = {a.digest: a.subject for a in plan.actions if a.kind == "manifest" and a.subject}
    for action in plan.actions:
        found = versions.get(action.digest)
        if action.kind != "manifest" or found is None:
            continue
        foreign = [t for t in found[1] if t not in plan.tags]
        if foreign:
            blocked[action.digest] = f"version {found[0]} also carries tag(s) {', '.join(foreign)}"
            subject = subjects.get(action.digest)
            while subject in subjects and subject not in blocked:
                blocked[subject] = f"its referrer {action.digest} stays"
                subject = subjects.get(subject)
    return blocked


def _all_versions(client: Github, base: str, package: str) -> list[tuple[int, str, tuple[str, ...]]]:
    return [found for page in _version_pages(client, base, package, "not all listed") for found in page]
