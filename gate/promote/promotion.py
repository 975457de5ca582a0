"""The promote stage: a passing image, with every referrer and a scan report, from quarantine to production.

``promote_image(source, source_ref, destination, destination_ref, verdict, options)`` over two open
targets (``promote(...)`` opens them from reference strings). In order, failing closed:

1. the verdict (the ``scan``/``evaluate`` ``--json`` document) must say ``pass``, name the digest the
   source resolves to and vouch for all of it (``gate.promote.verdict``: every platform judged, the
   same repository, a document that agrees with itself); anything else raises ``PromotionRefused``
   (exit 1) before anything is pushed;
2. the image is copied BY DIGEST with all referrers (``gate.oci.copy.copy_image``; blobs mounted on
   the same registry), no tag yet;
3. the scan report (``gate.promote.report``: the decision), in the format asked for
   (``gate.promote.referrer``: the in-toto vuln statement, signed into a sigstore bundle with a report
   signing key, or the cssc-v1 document), is pushed and linked to the root (a re-run with the same
   verdict finds its report and reuses it; a signed one only when it verifies under the same key);
4. the destination tag is pushed, last of the writes;
5. the destination is verified: the tag resolves to the root, every child manifest is there, every
   referrer of the source (recursively) is listed at the destination, cosign tags point where they
   did, and the scan report is among the root's referrers. A failure raises (exit 3) and nothing is
   deleted;
6. only then, with ``delete_source_tag``, the quarantine is cleaned (``gate.promote.cleanup``: the image's
   referrers, recursively, their ``sha256-<hex>`` indexes and cosign tags, leaves first, keeping what
   another tag reaches) and the quarantine tag deleted, last (``gate.promote.tag_deletion``): through the
   registry API first, and only where the registry refuses (GHCR answers 405) and the host is a GHCR host
   and a token is given, through the GitHub Packages API. A failed deletion is a warning naming what was
   left (``source_tag_deleted`` false, ``left``), never an undo.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from gate.attest.lookup import TargetFetcher
from gate.attest.verify.bundle import verify_bundle
from gate.attest.verify.subject import subject_matches
from gate.errors import InputError, RuntimeFailure
from gate.github.client import DEFAULT_API_URL
from gate.oci.copy import DEFAULT_CONCURRENCY, CopyOptions, CopyReport, ReferrerInfo, copy_image
from gate.oci.manifest import parse
from gate.oci.open import Access, mount_from, open_target, registry_pool
from gate.oci.reference import TargetReference, parse_target_reference
from gate.oci.target import BlobSource, Descriptor, Target
from gate.outcome import ignore
from gate.promote.cleanup import Deleted, Left, left_warning
from gate.promote.github_packages import GHCR, PackageTagDeletion
from gate.promote.referrer import ReportPlace, ReportReferrer, ReportSettings, report_referrer
from gate.promote.report import (
    ANNOTATION_VERDICT,
    ANNOTATION_VERDICT_DIGEST,
    REPORT_ARTIFACT_TYPE,
    ScanMethod,
    ScanReport,
    build_scan_report,
)
from gate.promote.signing import BUNDLE_MEDIA_TYPE, SigningKey
from gate.promote.tag_deletion import SourceTagDeletion, delete_source_tag, points_to
from gate.promote.verdict import check_coverage, check_repository, check_verdict
from gate.promote.vuln import VULN_PREDICATE_TYPE

Log = Callable[[str], None]
MAX_INDEX_DEPTH = 8
MAX_REPORT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class PromoteOptions:
    """How to promote. ``ghcr_hosts``: registries whose tags are deleted through the GitHub Packages API."""

    delete_source_tag: bool = False
    github_token: str = ""
    github_api_url: str = DEFAULT_API_URL
    ghcr_hosts: tuple[str, ...] = (GHCR,)
    concurrency: int = DEFAULT_CONCURRENCY
    scan_method: ScanMethod | None = None
    created: dt.datetime | None = None
    verdict_source: str = "verdict document"
    """Names the verdict in messages (``verdict file FILE``)."""
    report: ReportSettings = field(default_factory=ReportSettings)
    """The scan report's format and signing key (``gate.promote.referrer``)."""
    scan_started: dt.datetime | None = None
    scan_finished: dt.datetime | None = None
    """When the scan behind the verdict ran, when promote ran it (a verdict file records no time)."""


@dataclass(frozen=True)
class PromoteReport:
    """What a promotion did; ``to_json()`` is the ``promote --json`` document."""

    source: str
    destination: str
    digest: str
    promoted: bool
    report_digest: str
    report_reused: bool
    referrers_copied: int
    referrers_verified: int
    source_tag_deleted: bool
    source_tag_delete_error: str | None
    copy: CopyReport
    verdict: str
    seconds: float
    scan_report: ScanReport = field(compare=False, repr=False)
    github_package: PackageTagDeletion | None = None
    warnings: tuple[str, ...] = ()
    report_format: str = "vuln"
    report_artifact_type: str = ""
    report_signer: str | None = None
    """The ``sha256:`` fingerprint of the key that signed the report (None: unsigned)."""
    deleted: tuple[Deleted, ...] = ()
    """What the quarantine cleanup deleted, in order (the source tag last)."""
    left: tuple[Left, ...] = ()
    """What of the image stays in quarantine, and why."""

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "destination": self.destination,
            "digest": self.digest,
            "promoted": self.promoted,
            "report_digest": self.report_digest,
            "report_reused": self.report_reused,
            "report_format": self.report_format,
            "report_artifact_type": self.report_artifact_type,
            "report_signer": self.report_signer,
            "referrers_copied": self.referrers_copied,
            "referrers_verified": self.referrers_verified,
            "source_tag_deleted": self.source_tag_deleted,
            "source_tag_delete_error": self.source_tag_delete_error,
            "github_package": self.github_package.to_json() if self.github_package else None,
            "deleted": [item.to_json() for item in self.deleted],
            "left": [item.to_json() for item in self.left],
            "copy": self.copy.to_json(),
            "verdict": self.verdict,
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
        }


def destination_tag(source_ref: TargetReference, destination_ref: TargetReference) -> str | None:
    """The destination's tag, else the source's (unless the destination names a digest), else none."""
    return destination_ref.tag or (source_ref.tag if destination_ref.digest is None else None)


def promote_image(
    source: Target,
    source_ref: TargetReference,
    destination: Target,
    destination_ref: TargetReference,
    verdict: Mapping[str, Any],
    options: PromoteOptions | None = None,
    *,
    log: Log = ignore,
) -> PromoteReport:
    """Promote ``source_ref`` (in ``source``) to ``destination_ref`` (in ``destination``) on a pass ``verdict``.

    Raises ``PromotionRefused`` (exit 1) when the verdict does not allow it, ``InputError`` for bad
    arguments, other ``GateError`` s when a store fails (the source tag then stays in place)."""
    options = options or PromoteOptions()
    started = time.monotonic()
    tag = destination_tag(source_ref, destination_ref)
    _check_arguments(source_ref, destination_ref, tag, options)
    check_verdict(verdict, None, options.verdict_source)
    check_repository(verdict, source_ref, options.verdict_source)

    root = source.resolve(source_ref.reference)
    check_verdict(verdict, root.digest, options.verdict_source)
    check_coverage(verdict, source.fetch_manifest(root.digest), options.verdict_source)
    if destination_ref.digest is not None and destination_ref.digest != root.digest:
        raise InputError(
            f"destination {destination_ref} names digest {destination_ref.digest}, "
            f"but the source {source_ref} is {root.digest}; nothing was promoted"
        )
    report = build_scan_report(
        verdict,
        image=_opt_str(verdict.get("image")) or str(source_ref),
        digest=root.digest,
        method=options.scan_method,
        created=options.created,
        source=options.verdict_source,
    )
    referrer = report_referrer(
        report,
        verdict,
        options.report,
        ReportPlace(
            source_ref.name, destination_ref.name, tag, started=options.scan_started, finished=options.scan_finished
        ),
    )

    log(f"promote: {source_ref} ({root.digest}) -> {destination_ref}")
    copied = copy_image(
        source,
        root.digest,
        destination,
        None,
        CopyOptions(
            copy_referrers=True, concurrency=options.concurrency, mount_from=mount_from(source_ref, destination_ref)
        ),
        log=log,
    )
    root = Descriptor(root.media_type, root.digest, root.size)
    report_digest, reused = _attach_report(destination, root, referrer, options.report.signing_key, log)
    tag_current = _push_tag(destination, root, tag, log)
    destination_text = f"{destination_ref.name}:{tag}" if tag else f"{destination_ref.name}@{root.digest}"
    copied = replace(
        copied,
        source=str(source_ref),
        destination=destination_text,
        tag=tag,
        up_to_date=copied.up_to_date and tag_current,
    )
    verified = verify_destination(source, destination, root, tag, report_digest, copied, referrer.artifact_type)
    log(f"promote: verified {destination_text}: root, children, {verified} referrer(s) and the scan report")

    deletion, warnings = SourceTagDeletion(False), []
    if options.delete_source_tag and source_ref.tag:
        deletion = delete_source_tag(
            source, source_ref, source_ref.tag, root.digest, destination=destination,
            github_token=options.github_token, github_api_url=options.github_api_url,
            ghcr_hosts=options.ghcr_hosts, log=log,
        )  # fmt: skip
        left = left_warning([item for item in deletion.left if item.tag != source_ref.tag])
        if deletion.reason:  # one warning for one refusal: the tag, and what the cleanup left
            warnings.append(
                f"the source tag {source_ref.tag} was not deleted: {deletion.reason}" + (f"; {left}" if left else "")
            )
        elif left:
            warnings.append(left)
    return PromoteReport(
        source=str(source_ref),
        destination=destination_text,
        digest=root.digest,
        promoted=True,
        report_digest=report_digest,
        report_reused=reused,
        referrers_copied=copied.referrers_copied,
        referrers_verified=verified,
        source_tag_deleted=deletion.deleted,
        source_tag_delete_error=deletion.reason,
        copy=copied,
        verdict=report.verdict,
        seconds=time.monotonic() - started,
        scan_report=report,
        github_package=deletion.github_package,
        warnings=tuple(warnings),
        report_format=options.report.report_format,
        report_artifact_type=referrer.artifact_type,
        report_signer=referrer.signer,
        deleted=deletion.removed,
        left=deletion.left,
    )


def promote(
    source: str,
    destination: str,
    verdict: Mapping[str, Any],
    options: PromoteOptions | None = None,
    access: Access | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    mask: Log = ignore,
    log: Log = ignore,
) -> PromoteReport:
    """``promote_image`` over references (``host/repo[:tag][@digest]`` or ``oci:PATH[:tag]``), opened through
    one registry pool with ``access`` (credentials, insecure registries, concurrency)."""
    source_ref = parse_target_reference(source)
    destination_ref = parse_target_reference(destination, default_tag=None)
    access = access or Access()
    with registry_pool(access, environ=environ or {}, mask=mask, log=log) as pool:
        source_target = open_target(source_ref, pool)
        destination_target = open_target(destination_ref, pool, create=True)
        return promote_image(source_target, source_ref, destination_target, destination_ref, verdict, options, log=log)


# --- steps ----------------------------------------------------------------------------------------


def _check_arguments(
    source_ref: TargetReference, destination_ref: TargetReference, tag: str | None, options: PromoteOptions
) -> None:
    if options.concurrency < 1:
        raise InputError(f"concurrency must be at least 1, got {options.concurrency}")
    if not options.delete_source_tag:
        return
    if not source_ref.tag:
        raise InputError(f"delete_source_tag: the source {source_ref} has no tag to delete")
    if source_ref.name == destination_ref.name and source_ref.tag == tag:
        raise InputError(
            f"delete_source_tag: the source and the destination are the same tag ({source_ref.name}:{tag}); "
            "deleting it would delete the promotion"
        )


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _bytes(data: bytes) -> BlobSource:
    @contextmanager
    def opener() -> Iterator[Iterator[bytes]]:
        yield iter([data])

    return opener


def _attach_report(
    destination: Target, root: Descriptor, referrer: ReportReferrer, key: SigningKey | None, log: Log
) -> tuple[str, bool]:
    """Push and link the scan report; reuse one a previous run of the same promotion attached (a signed one
    only when it verifies under ``key`` and is about ``root``: annotations alone are anyone's to write)."""
    report = referrer.report
    for existing in destination.referrers(root.digest, referrer.artifact_type):
        annotations = existing.annotations
        if (
            annotations.get(ANNOTATION_VERDICT_DIGEST) == report.verdict_digest
            and annotations.get(ANNOTATION_VERDICT) == report.verdict
            and destination.has_manifest(existing.digest)
            and (key is None or _signed_report_of(destination, existing, root, key))
        ):
            log(f"promote: the scan report {existing.digest} of this verdict is already attached")
            return existing.digest, True
    artifact = referrer.artifact(root)
    for descriptor, data in artifact.blobs:
        if not destination.has_blob(descriptor.digest):
            destination.push_blob(descriptor, _bytes(data))
    destination.push_manifest(artifact.manifest)
    destination.add_referrer(root, artifact.manifest)
    signed = f", signed by {referrer.signer}" if referrer.signer else ""
    log(
        f"promote: attached scan report {artifact.manifest.descriptor.digest} "
        f"({report.verdict}, {report.method}, {referrer.artifact_type}{signed})"
    )
    return artifact.manifest.descriptor.digest, False


def _signed_report_of(destination: Target, existing: Descriptor, root: Descriptor, key: SigningKey) -> bool:
    """Whether ``existing`` holds a vuln statement about ``root`` in a bundle that verifies under ``key``."""
    layers = parse(destination.fetch_manifest(existing.digest)).layers
    if len(layers) != 1 or layers[0].media_type != BUNDLE_MEDIA_TYPE:
        return False
    checked = verify_bundle(TargetFetcher(destination).blob(layers[0], MAX_REPORT_BYTES), key.policy())
    statement = checked.statement
    return (
        checked.verified
        and statement is not None
        and statement.get("predicateType") == VULN_PREDICATE_TYPE
        and subject_matches(statement, root.digest)
    )


def _push_tag(destination: Target, root: Descriptor, tag: str | None, log: Log) -> bool:
    """Tag the root last of all; True when the tag already pointed at it."""
    if tag is None or points_to(destination, tag, root.digest):
        return True
    destination.push_manifest(destination.fetch_manifest(root.digest), tag)
    log(f"promote: {destination.display_name}: tagged {tag} -> {root.digest}")
    return False


def verify_destination(
    source: Target,
    destination: Target,
    root: Descriptor,
    tag: str | None,
    report_digest: str,
    copied: CopyReport | None = None,
    report_artifact_type: str = REPORT_ARTIFACT_TYPE,
) -> int:
    """Check the destination holds the promotion; return how many referrers were verified.

    Raises ``RuntimeFailure`` naming what is missing."""
    where = destination.display_name
    missing: list[str] = []
    reference = tag or root.digest
    found = destination.resolve(reference).digest
    if found != root.digest:
        missing.append(f"{reference} resolves to {found}, not {root.digest}")
    subjects = [root.digest, *_children(source, root.digest)]
    missing += [f"manifest {d}" for d in subjects[1:] if not destination.has_manifest(d)]
    verified = 0
    seen = set(subjects)
    queue = list(subjects)
    while queue:
        subject = queue.pop(0)
        listed = {d.digest for d in destination.referrers(subject)}
        for referrer in source.referrers(subject):
            if referrer.digest in seen:
                continue
            seen.add(referrer.digest)
            if referrer.digest not in listed or not destination.has_manifest(referrer.digest):
                missing.append(f"referrer {referrer.digest} of {subject}")
                continue
            verified += 1
            queue.append(referrer.digest)
            for child in _children(source, referrer.digest):
                if child not in seen:
                    seen.add(child)
                    if not destination.has_manifest(child):
                        missing.append(f"manifest {child} (in referrer {referrer.digest})")
    for info in _cosign_tags(copied):
        if info.tag and not points_to(destination, info.tag, info.digest):
            missing.append(f"tag {info.tag} -> {info.digest}")
        else:
            verified += 1
    if report_digest not in {d.digest for d in destination.referrers(root.digest, report_artifact_type)}:
        missing.append(f"the scan report {report_digest} among the referrers of {root.digest}")
    if missing:
        shown = "; ".join(missing[:5]) + (f"; and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise RuntimeFailure(f"promote: {where} failed verification, the source tag was left in place: {shown}")
    return verified


def _children(target: Target, digest: str) -> list[str]:
    """Every manifest below ``digest`` (index children, level by level), each fetched once.

    An index may list a child twice and nest indexes: without the ``seen`` set a hostile index
    tree costs exponentially many fetches; nesting deeper than ``MAX_INDEX_DEPTH`` is refused."""
    found: list[str] = []
    seen = {digest}
    level = [digest]
    for _ in range(MAX_INDEX_DEPTH + 1):
        following: list[str] = []
        for parent in level:
            parsed = parse(target.fetch_manifest(parent), f"{target.display_name}@{parent}")
            for child in parsed.manifests:
                if child.digest not in seen:
                    seen.add(child.digest)
                    found.append(child.digest)
                    following.append(child.digest)
        if not following:
            return found
        level = following
    raise RuntimeFailure(
        f"{target.display_name}@{digest}: indexes nested more than {MAX_INDEX_DEPTH} levels deep; refusing to walk them"
    )


def _cosign_tags(copied: CopyReport | None) -> list[ReferrerInfo]:
    if copied is None:
        return []
    infos = [*copied.root_referrers, *(r for entry in copied.graph for r in entry.referrers)]
    unique = {(i.tag, i.digest): i for i in infos if i.kind == "cosign" and i.tag}
    return list(unique.values())
