"""Deleting the source (quarantine) tag after a verified promotion, and which way to do it.

The registry API first, on every registry (``Target.delete_tag``; the registry call itself lives in
``gate.oci.tags``). Only when the registry refuses tag deletion (``TagDeletionRefused``: 405 /
``UNSUPPORTED``, nothing pushed, as GHCR answers) on a GHCR host, and a token is given, the GitHub
Packages API deletes the package version carrying the tag (``github_packages.delete_ghcr_tag``).
A deletion that fails is reported, never raised and never undone: the promotion stands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gate.errors import GateError, InputError
from gate.oci.reference import ImageReference, TargetReference
from gate.oci.tags import TagDeletionRefused
from gate.oci.target import Target
from gate.outcome import ignore
from gate.promote.github_packages import DEFAULT_API_URL, GHCR, PackageTagDeletion, delete_ghcr_tag

Log = Callable[[str], None]


@dataclass(frozen=True)
class SourceTagDeletion:
    """Whether the source tag was deleted, why not, and GitHub's answer when its API was asked."""

    deleted: bool
    reason: str | None = None
    github_package: PackageTagDeletion | None = None


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
    github_token: str = "",
    github_api_url: str = DEFAULT_API_URL,
    ghcr_hosts: tuple[str, ...] = (GHCR,),
    log: Log = ignore,
) -> SourceTagDeletion:
    """Delete ``tag`` of ``source`` when it still points to ``digest``; never raises for a refused deletion."""
    on_ghcr = isinstance(source_ref, ImageReference) and source_ref.registry in ghcr_hosts
    try:
        if not points_to(source, tag, digest):
            return SourceTagDeletion(False, f"{source_ref.name}:{tag} no longer points to {digest}")
        try:
            source.delete_tag(tag)
        except TagDeletionRefused as refused:
            if not (on_ghcr and github_token and isinstance(source_ref, ImageReference)):
                raise
            log(f"promote: {refused.message}; deleting {source_ref.name}:{tag} through the GitHub Packages API")
            answer = delete_ghcr_tag(
                source_ref.repository, tag, github_token, expected_digest=digest, api_url=github_api_url, log=log
            )
            return SourceTagDeletion(answer.deleted, answer.reason, answer)
    except GateError as exc:
        reason = exc.message
        if on_ghcr and not github_token and isinstance(exc, TagDeletionRefused):
            reason += " (give github_token to delete it through the GitHub Packages API)"
        log(f"promote: warning: cannot delete {source_ref.name}:{tag}: {reason}")
        return SourceTagDeletion(False, reason)
    log(f"promote: deleted the source tag {source_ref.name}:{tag}")
    return SourceTagDeletion(True)
