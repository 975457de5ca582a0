"""``promote``: copy a passing image with all referrers to production, attach a scan report, verify, then
(optionally) delete the quarantine tag (and the image's referrers there).

The verdict comes from ``--verdict FILE`` (the ``--json`` document of an earlier ``scan`` or ``evaluate``, which
names the digest it judged), or, without it, from a scan and gate run in the same invocation (the scan options).
With ``--verdict`` and a verification policy (``--attestation-key``, ``--certificate-identity``), the verdict must
say its scan verified the attestations (``attestations_verified: true``), else the promotion is refused.
Exit 0 promoted, 1 refused (the verdict does not vouch for the source: gate.promote.verdict), 2 bad input,
3 runtime failure.
With ``--no-enforce`` (report only, for its own scan: not with ``--verdict``) a failing scan refuses the
promotion with exit 0 and warnings; nothing that blocks is promoted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from gate.commands import SUMMARIES
from gate.errors import InputError
from gate.oci.reference import parse_target_reference
from gate.options.access import access_group
from gate.options.base import CommandOptions, Group
from gate.options.images import PROMOTED_DESTINATION, PROMOTED_SOURCE
from gate.options.promote import (
    DELETE_SOURCE_TAG,
    GITHUB_TOKEN,
    REPORT_FORMAT,
    REPORT_SIGNING_KEY,
    VERDICT_FILE,
    PromotionFields,
)
from gate.options.scan import scan_groups
from gate.outcome import Context, Outcome

NAME = "promote"
HELP = SUMMARIES[NAME]


@dataclass(frozen=True)
class PromoteConfig(PromotionFields):
    """The scan fields are used to scan and gate in the same invocation (no ``verdict_file``)."""

    source: str
    destination: str
    verdict_file: str = ""


def _check(values: dict[str, Any], source: str) -> None:
    """Report only applies to promote's own scan: a verdict file was judged (and enforced or not) earlier."""
    if values["verdict_file"] and not values["enforce"]:
        raise InputError(
            f"invalid {source}: --no-enforce (input enforce: false) applies to the scan promote runs itself; "
            "with --verdict (input verdict_file) the verdict was judged earlier: drop one of them"
        )


OPTIONS = CommandOptions(
    PromoteConfig,
    (
        Group(
            None,
            (
                PROMOTED_SOURCE,
                PROMOTED_DESTINATION,
                VERDICT_FILE,
                REPORT_FORMAT,
                REPORT_SIGNING_KEY,
                DELETE_SOURCE_TAG,
                GITHUB_TOKEN,
            ),
        ),
        access_group(
            {"source": "the source (quarantine) registry", "destination": "the destination (production) registry"}
        ),
        *scan_groups("scan options (without --verdict)"),
    ),
    check=_check,
)
add_arguments = OPTIONS.add_arguments
config_from_args = OPTIONS.config_from_args
config_from_inputs = OPTIONS.config_from_inputs


def run(config: PromoteConfig, context: Context) -> Outcome:
    # the stage is imported when the command runs, not for its --help
    from gate.policy.outcome import enforced_outcome
    from gate.promote.outcome import promotion_outcome, refused_outcome
    from gate.promote.promotion import promote
    from gate.promote.report import load_verdict
    from gate.promote.verdict import NOTHING_PROMOTED, PromotionRefused, check_verdict
    from gate.scan.stage import scan_image

    # bad credentials pairs fail before any scan
    access = config.access(
        parse_target_reference(config.source), parse_target_reference(config.destination, default_tag=None)
    )
    options = config.promote_options(
        context.environ,
        f"verdict file {config.verdict_file}" if config.verdict_file else "the scan of the source",
    )
    scanned_verdict: str | None = None
    verified_mode = config.verdict_file != "" and config.verification_policy().enabled  # bad keys: exit 2 now
    try:
        if config.verdict_file:
            verdict: Mapping[str, Any] = load_verdict(config.verdict_file)
            check_verdict(verdict, None, options.verdict_source)
            if verified_mode and verdict.get("attestations_verified") is not True:
                raise PromotionRefused(
                    f"{options.verdict_source}: its scan did not verify the attestations' signatures "
                    "(attestations_verified is not true) and a verification policy was given "
                    f"(attestation_keys or certificate_identity); {NOTHING_PROMOTED}"
                )
        else:
            context.log(f"promote: no verdict file: scanning {config.source} now")
            request = config.scan_request(config.source, config.source_access(parse_target_reference(config.source)))
            started = dt.datetime.now(dt.UTC)
            scanned = scan_image(request, log=context.log, mask=context.mask, environ=context.environ)
            options = replace(options, scan_started=started, scan_finished=dt.datetime.now(dt.UTC))
            verdict = scanned.to_json()
            scanned_verdict = scanned.verdict
        report = promote(
            config.source,
            config.destination,
            verdict,
            options,
            access,
            environ=context.environ,
            mask=context.mask,
            log=context.log,
        )
    except PromotionRefused as refused:
        refusal = refused_outcome(config.source, config.destination, refused)
        return enforced_outcome(refusal, enforce=config.enforce, blocked=scanned_verdict == "fail")
    return enforced_outcome(promotion_outcome(report), enforce=config.enforce, blocked=False)
