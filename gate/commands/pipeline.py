"""``python -m gate pipeline``: mirror -> scan -> gate -> promote in one step, failing closed.

    python -m gate pipeline --source S --quarantine Q --production P [mirror, scan and gate options]
        [--delete-source-tag] [--github-token T] --json

The source is mirrored into quarantine (with every referrer), the quarantine copy is scanned and gated
BY DIGEST, and only a ``pass`` for that digest is promoted to production, with the verdict produced in
this same run. The stages and their chaining live in ``gate.pipeline``. Exit 0 promoted, 1 blocked,
2 bad input, 3 runtime failure. Bad input that can be seen before anything is copied (references,
exceptions and VEX files, the scanner's options) fails before the mirror starts.
"""

from __future__ import annotations

from gate.commands import SUMMARIES
from gate.options.access import access_group
from gate.options.base import CommandOptions, Group
from gate.options.github import BLOCKED_ISSUE, GITHUB_REPOSITORY
from gate.options.images import PIPELINE_PLATFORMS, PIPELINE_SOURCE, PRODUCTION, QUARANTINE
from gate.options.mirror import PIPELINE_COPY_REFERRERS, PIPELINE_REFERRERS_SOURCE
from gate.options.promote import GITHUB_TOKEN, PIPELINE_DELETE_SOURCE_TAG, REPORT_FORMAT, REPORT_SIGNING_KEY
from gate.options.scan import check_scan_values, scan_groups
from gate.outcome import Context, Outcome
from gate.pipeline.stages import PipelineConfig, run_stages

NAME = "pipeline"
HELP = SUMMARIES[NAME]

OPTIONS = CommandOptions(
    PipelineConfig,
    (
        Group("images", (PIPELINE_SOURCE, QUARANTINE, PRODUCTION)),
        Group("mirror options", (PIPELINE_COPY_REFERRERS, PIPELINE_REFERRERS_SOURCE, PIPELINE_PLATFORMS)),
        Group("promote options", (PIPELINE_DELETE_SOURCE_TAG, GITHUB_TOKEN, REPORT_FORMAT, REPORT_SIGNING_KEY)),
        access_group({"source": "the source registry", "destination": "the quarantine and production registries"}),
        *scan_groups("scan options"),
        Group("tracking issue", (BLOCKED_ISSUE, GITHUB_REPOSITORY)),
    ),
    check=check_scan_values,
)
add_arguments = OPTIONS.add_arguments
config_from_args = OPTIONS.config_from_args
config_from_inputs = OPTIONS.config_from_inputs


def run(config: PipelineConfig, context: Context) -> Outcome:
    return run_stages(config, context)
