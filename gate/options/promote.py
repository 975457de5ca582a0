"""The options of the promote stage, for ``promote`` and ``pipeline``: the verdict to promote on, the
source tag to delete afterwards and the GitHub token that may delete it. ``PromotionFields`` is the
config of a command that scans (or reads a verdict) and promotes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from gate.options.access import ENV_PREFIX, AccessFields, config_secrets
from gate.options.base import Option
from gate.options.scan import ScanFields
from gate.promote.github_packages import DEFAULT_API_URL
from gate.promote.promotion import PromoteOptions

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
    "after a verified promotion, delete the source (quarantine) tag",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--delete-source-tag",
)
PIPELINE_DELETE_SOURCE_TAG = replace(DELETE_SOURCE_TAG, help="after a verified promotion, delete the quarantine tag")
GITHUB_TOKEN = Option(
    "github_token",
    "GitHub token to delete a GHCR tag through the GitHub Packages API when the registry refuses "
    f"the deletion (env {ENV_PREFIX}GITHUB_TOKEN, else GITHUB_TOKEN)",
    {"type": "string"},
    default="",
    flag="--github-token",
    metavar="TOKEN",
    env=(f"{ENV_PREFIX}GITHUB_TOKEN", "GITHUB_TOKEN"),
    action_default="${{ github.token }}",
)


@dataclass(frozen=True, kw_only=True)
class PromotionFields(ScanFields, AccessFields):
    """The config of a command that scans (or reads a verdict) and promotes: ``promote`` and ``pipeline``."""

    delete_source_tag: bool = False
    github_token: str = ""

    def secrets(self) -> tuple[str, ...]:
        """Every credential the config carries (masked before anything is printed)."""
        return config_secrets(
            self.source_password,
            self.destination_password,
            self.github_token,
            registry_auth=self.registry_auth,
            urls=[self.osv_db],
        )

    def promote_options(self, environ: Mapping[str, str], verdict_source: str) -> PromoteOptions:
        return PromoteOptions(
            delete_source_tag=self.delete_source_tag,
            github_token=self.github_token,
            github_api_url=environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
            concurrency=self.concurrency,
            verdict_source=verdict_source,
        )
