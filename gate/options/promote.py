"""The options of the promote stage, for ``promote`` and ``pipeline``: the verdict to promote on, the
scan report's format and signing key, the source tag to delete afterwards and the GitHub token that may
delete it. ``PromotionFields`` is the config of a command that scans (or reads a verdict) and promotes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from gate.options.access import ENV_PREFIX, AccessFields, config_secrets
from gate.options.base import Option
from gate.options.scan import ScanFields
from gate.options.signing import REPORT_SIGNING_KEY as REPORT_SIGNING_KEY  # promote and pipeline import it here
from gate.options.signing import signing_key_secrets
from gate.promote.report_format import DEFAULT_REPORT_FORMAT, REPORT_FORMATS

if TYPE_CHECKING:  # the promotion (requests, PyGithub, cryptography) is imported when it runs, not for --help
    from gate.promote.promotion import PromoteOptions
    from gate.promote.referrer import ReportSettings
    from gate.promote.report_format import ReportFormat

VERDICT_FILE = Option(
    "verdict_file",
    "the --json document of an earlier scan or evaluate of the source (it must say pass and name the "
    "same digest); without it the source is scanned and gated now (scan options)",
    {"type": "string"},
    default="",
    flag="--verdict",
    metavar="FILE",
)
DELETE_SOURCE_TAG = Option(
    "delete_source_tag",
    "after a verified promotion, delete the source (quarantine) tag and the image's referrers, "
    "fallback indexes and cosign tags there (not what another tag reaches)",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--delete-source-tag",
)
PIPELINE_DELETE_SOURCE_TAG = replace(
    DELETE_SOURCE_TAG, help="after a verified promotion, delete the quarantine tag and the image's referrers there"
)
GITHUB_TOKEN = Option(
    "github_token",
    "GitHub token: to delete a GHCR tag through the GitHub Packages API when the registry refuses the deletion, "
    "and to write the tracking issue (--blocked-issue) and act on it (override); it needs issues: write there "
    f"(env {ENV_PREFIX}GITHUB_TOKEN, else GITHUB_TOKEN)",
    {"type": "string"},
    default="",
    flag="--github-token",
    metavar="TOKEN",
    env=(f"{ENV_PREFIX}GITHUB_TOKEN", "GITHUB_TOKEN"),
    action_default="${{ github.token }}",
)

REPORT_FORMAT = Option(
    "report_format",
    "the scan report attached to the promoted image: vuln (an in-toto statement with cosign's vulnerability "
    "predicate, artifact type application/vnd.in-toto+json; the default) or cssc-v1 (the "
    "application/vnd.cssc.scan-report.v1+json document of earlier versions)",
    {"enum": list(REPORT_FORMATS)},
    default=DEFAULT_REPORT_FORMAT,
    flag="--report-format",
    choices=REPORT_FORMATS,
)


@dataclass(frozen=True, kw_only=True)
class PromotionFields(ScanFields, AccessFields):
    """The config of a command that scans (or reads a verdict) and promotes: ``promote`` and ``pipeline``."""

    delete_source_tag: bool = False
    github_token: str = ""
    report_format: str = DEFAULT_REPORT_FORMAT
    report_signing_key: str = ""

    def secrets(self) -> tuple[str, ...]:
        """Every credential the config carries (masked before anything is printed), the report signing key
        too: the PEM text given inline, else the file's (each of its lines is masked)."""
        return config_secrets(
            self.source_password,
            self.destination_password,
            self.github_token,
            *signing_key_secrets(self.report_signing_key),
            registry_auth=self.registry_auth,
            urls=[self.osv_db],
        )

    def report_settings(self, environ: Mapping[str, str]) -> ReportSettings:
        """The report's format and signing key (loaded and checked: bad input fails before anything is copied)."""
        from gate.promote.referrer import ReportSettings
        from gate.promote.signing import load_signing_key
        from gate.promote.vuln import Invocation

        key = load_signing_key(self.report_signing_key) if self.report_signing_key.strip() else None
        report_format: ReportFormat = "cssc-v1" if self.report_format == "cssc-v1" else "vuln"
        return ReportSettings(report_format, key, Invocation.from_environ(environ))

    def promote_options(self, environ: Mapping[str, str], verdict_source: str) -> PromoteOptions:
        from gate.github.client import DEFAULT_API_URL
        from gate.promote.promotion import PromoteOptions

        return PromoteOptions(
            delete_source_tag=self.delete_source_tag,
            github_token=self.github_token,
            github_api_url=environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
            concurrency=self.concurrency,
            verdict_source=verdict_source,
            report=self.report_settings(environ),
        )
