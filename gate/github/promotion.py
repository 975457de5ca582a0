"""What an approved override promotes: exactly the digest the tracking issue records, accepting exactly
the CVEs it lists, with the approval recorded in the scan report.

In order, failing closed:

1. the destination ``dest_repo:tag`` already points to the digest: reported as already promoted
   (a re-run of an approval that promoted, then failed to close the issue), nothing written;
2. the quarantine tag ``source_repo:tag`` must still point to the digest: a moved (or deleted) tag is
   refused (``OverrideRefused``); the seed system re-resolves the tag, we do not;
3. the digest is scanned again, by digest, with the issue's ``blocking_cves`` as exceptions whose reason
   names the approver and the comment: findings the issue does not list (a newer vulnerability database,
   a platform without SBOM) still block, and the approval is refused;
4. ``gate.promote.promotion.promote`` promotes that pass; the verdict carries ``override`` (approver,
   permission, issue, comment, accepted CVEs, time), which the report records with the
   ``com.cssc.scan.override*`` annotations.
"""

from __future__ import annotations

from dataclasses import replace

from gate.github.metadata import IssueMetadata
from gate.github.override import Approval, OverrideRefused, Promoter, Promotion
from gate.oci.open import open_target, registry_pool
from gate.oci.reference import parse_target_reference
from gate.options.promote import PromotionFields
from gate.outcome import Context
from gate.policy.waivers import ExceptionEntry
from gate.promote.promotion import PromoteOptions, promote
from gate.promote.tag_deletion import points_to
from gate.scan.stage import scan_image


def accepted_exceptions(approval: Approval) -> tuple[ExceptionEntry, ...]:
    """One exception per accepted CVE, named after the approval."""
    reason = f"accepted by {approval.approver} ({approval.permission}) in {approval.comment_url}"
    return tuple(
        ExceptionEntry(
            id=cve, reason=reason, expires=None, images=(), packages=(), where=f"override {approval.issue_url}"
        )
        for cve in approval.accepted_cves
    )


def override_promoter(config: PromotionFields, options: PromoteOptions, context: Context) -> Promoter:
    """The promoter of the ``override`` command: ``config``'s registry access and scan options, ``options``
    (``config.promote_options``) to promote with."""

    def promoter(metadata: IssueMetadata, approval: Approval) -> Promotion:
        source = parse_target_reference(metadata.source)
        destination = parse_target_reference(f"{metadata.dest_repo}:{metadata.tag}")
        access = config.access(source, destination)
        with registry_pool(access, environ=context.environ, mask=context.mask, log=context.log) as pool:
            if points_to(open_target(destination, pool), metadata.tag, metadata.digest):
                context.log(f"override: {destination} is already {metadata.digest}; nothing to promote")
                return Promotion(True, str(destination), metadata.digest)
            if not points_to(open_target(source, pool), metadata.tag, metadata.digest):
                raise OverrideRefused(
                    f"the tag {metadata.source} no longer points to {metadata.digest}, the digest this issue "
                    "records and the approval was for; nothing was promoted (the next scan of the tag updates the issue)"
                )
        pinned = f"{metadata.source}@{metadata.digest}"
        request = replace(config.scan_request(pinned, access), accepted=accepted_exceptions(approval))
        scanned = scan_image(request, log=context.log, mask=context.mask, environ=context.environ)
        if scanned.verdict != "pass":
            ids = [i for i in scanned.gate.blocking_ids if i not in approval.accepted_cves]
            reasons = [f"{row.platform}: {row.reason}" for row in scanned.gate.platforms if row.reason]
            raise OverrideRefused(
                f"{pinned} still fails with the issue's CVEs accepted: "
                + "; ".join([*(["blocking " + ", ".join(ids[:20])] if ids else []), *reasons[:5]])
                + "; nothing was promoted"
            )
        verdict = {**scanned.to_json(), "override": approval.to_json()}
        report = promote(
            pinned,
            str(destination),
            verdict,
            replace(options, verdict_source=f"the override scan of {pinned}"),
            access,
            environ=context.environ,
            mask=context.mask,
            log=context.log,
        )
        return Promotion(False, report.destination, report.digest, report.report_digest, report.to_json())

    return promoter
