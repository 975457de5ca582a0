"""Deleting the source (quarantine) tag after a verified promotion, with the image's referrers, and which way.

First the quarantine cleanup (``gate.promote.cleanup``): the image's referrers (recursively), their
``sha256-<hex>`` fallback indexes and the cosign tags, leaves first, keeping whatever another tag reaches;
then the tag itself, last, so an interrupted run leaves the tag and a re-run completes the cleanup.

The registry API first, on every registry (``delete_manifest`` / ``Target.delete_tag``; the registry calls
live in ``gate.oci.tags``). Only when the registry refuses deletes (``TagDeletionRefused``: 405 /
``UNSUPPORTED``, nothing pushed, as GHCR answers) on a GHCR host, and a token is given, the GitHub Packages
API deletes the package versions instead (``github_packages.run_plan_on_ghcr`` for the referrers,
``github_packages.delete_ghcr_tag`` for the version carrying the tag). A deletion that fails is reported,
never raised and never undone: the promotion stands. An OCI layout source loses the tag only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gate.errors import GateError, InputError
from gate.github.client import DEFAULT_API_URL
from gate.oci.reference import ImageReference, TargetReference
from gate.oci.tags import TagDeletionRefused
from gate.oci.target import Target
from gate.outcome import ignore
from gate.promote.cleanup import CleanupResult, Deleted, Left, cleanable, plan_cleanup, run_plan
from gate.promote.github_packages import (
    GHCR,
    PackageTagDeletion,
    delete_ghcr_tag,
    run_plan_on_ghcr,
)

Log = Callable[[str], None]


@dataclass(frozen=True)
class SourceTagDeletion:
    """Whether the source tag was deleted, why not, GitHub's answer when its API was asked, and the
    cleanup: what was deleted (the tag last) and what stays in quarantine, with why."""

    deleted: bool
    reason: str | None = None
    github_package: PackageTagDeletion | None = None
    removed: tuple[Deleted, ...] = ()
    left: tuple[Left, ...] = ()


def points_to(target: Target, reference: str, digest: str) -> bool:
    """Whether ``reference`` (a tag or digest) resolves to ``digest`` in ``target`` (False when it is absent)."""
    try:
        return target.resolve(reference).digest == digest
    except InputError:
        return False


def delete_source_tag(
    source: Target,
    source_ref: TargetReference,
    tag: str,
    digest: str,
    *,
    destination: Target | None = None,
    github_token: str = "",
    github_api_url: str = DEFAULT_API_URL,
    ghcr_hosts: tuple[str, ...] = (GHCR,),
    log: Log = ignore,
) -> SourceTagDeletion:
    """Delete ``tag`` of ``source`` when it still points to ``digest``, after the image's referrers there
    (when ``destination``, the verified promotion, is given and ``source`` is a registry); never raises for
    a refused deletion."""
    on_ghcr = isinstance(source_ref, ImageReference) and source_ref.registry in ghcr_hosts
    cleanup = CleanupResult()
    try:
        if not points_to(source, tag, digest):
            return SourceTagDeletion(False, f"{source_ref.name}:{tag} no longer points to {digest}")
        cleanup = _clean(source, source_ref, tag, digest, destination, on_ghcr, github_token, github_api_url, log)
        if cleanup.stopped is not None and not cleanup.refused:
            reason = f"the quarantine cleanup stopped at {cleanup.stopped}; the tag stays so that a re-run completes it"
            log(f"promote: warning: {reason}")
            return SourceTagDeletion(
                False, reason, removed=cleanup.deleted, left=_with_tag(cleanup, tag, digest, reason)
            )
        try:
            source.delete_tag(tag)
        except TagDeletionRefused as refused:
            if not (on_ghcr and github_token and isinstance(source_ref, ImageReference)):
                raise
            log(f"promote: {refused.message}; deleting {source_ref.name}:{tag} through the GitHub Packages API")
            answer = delete_ghcr_tag(
                source_ref.repository, tag, github_token, expected_digest=digest, api_url=github_api_url, log=log
            )
            removed = (*cleanup.deleted, Deleted(digest, tag)) if answer.deleted else cleanup.deleted
            left = cleanup.left if answer.deleted else _with_tag(cleanup, tag, digest, answer.reason or "")
            return SourceTagDeletion(answer.deleted, answer.reason, answer, removed, left)
    except GateError as exc:
        reason = exc.message
        if on_ghcr and not github_token and isinstance(exc, TagDeletionRefused):
            reason += " (give github_token to delete it through the GitHub Packages API)"
        log(f"promote: warning: cannot delete {source_ref.name}:{tag}: {reason}")
        return SourceTagDeletion(False, reason, removed=cleanup.deleted, left=_with_tag(cleanup, tag, digest, reason))
    log(f"promote: deleted the source tag {source_ref.name}:{tag}")
    return SourceTagDeletion(True, removed=(*cleanup.deleted, Deleted(digest, tag)), left=cleanup.left)


def _clean(
    source: Target,
    source_ref: TargetReference,
    tag: str,
    digest: str,
    destination: Target | None,
    on_ghcr: bool,
    github_token: str,
    github_api_url: str,
    log: Log,
) -> CleanupResult:
    """The image's referrers in quarantine, through the registry API, else (GHCR, a token) the Packages API.
    A quarantine that cannot be read is a stop: nothing deleted, the tag kept."""
    registry = cleanable(source)
    if registry is None or destination is None or destination.display_name == source.display_name:
        return CleanupResult()  # a layout, or promoted within the repository: its referrers are the destination's
    try:
        plan = plan_cleanup(registry, tag, digest, destination, log=log)
    except GateError as exc:
        return CleanupResult(stopped=f"reading {source.display_name}: {exc.message}")
    for item in plan.left:
        if item.shared:
            log(f"promote: {source.display_name}: {item} stays: {item.reason}")
    result = run_plan(registry, plan, log=log)
    if result.refused and on_ghcr and github_token and isinstance(source_ref, ImageReference):
        log(f"promote: {result.stopped}; cleaning up {source_ref.name} through the GitHub Packages API")
        result = run_plan_on_ghcr(registry, source_ref.repository, plan, github_token, api_url=github_api_url, log=log)
    for item in result.left:
        if not item.shared:
            log(f"promote: warning: {source.display_name}: {item} stays: {item.reason}")
    return result


def _with_tag(cleanup: CleanupResult, tag: str, digest: str, reason: str) -> tuple[Left, ...]:
    return (*cleanup.left, Left(digest, f"not deleted: {reason}", tag))
