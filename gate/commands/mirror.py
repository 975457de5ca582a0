"""``mirror``: copy an image (every platform) and, optionally, all its referrers into another repository,
or every matching tag of a repository (``--tags``); optionally keeping the mirror history and attaching
acquisition provenance (the stage: ``gate.mirror.acquire`` over ``gate.mirror.stage``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.commands import SUMMARIES
from gate.errors import InputError
from gate.options.access import AccessFields, access_group, config_secrets
from gate.options.base import CommandOptions, Group
from gate.options.images import DESTINATION, PLATFORMS, SOURCE
from gate.options.mirror import (
    COPY_REFERRERS,
    FORCE,
    HISTORY,
    MIRROR_EXCLUDE,
    PROVENANCE,
    PROVENANCE_SIGNING_KEY,
    REFERRERS_SOURCE,
    TAGS,
)
from gate.options.signing import signing_key_secrets
from gate.outcome import Context, Outcome

PROVENANCE_OPTIONS = (PROVENANCE, PROVENANCE_SIGNING_KEY)
if TYPE_CHECKING:  # the stage is imported when the command runs, not for its --help
    from gate.mirror.acquire import TagPatterns

NAME = "mirror"
HELP = SUMMARIES[NAME]


@dataclass(frozen=True)
class MirrorConfig(AccessFields):
    source: str
    destination: str
    copy_referrers: bool = False
    referrers_source: str = ""
    platforms: tuple[str, ...] = ()
    tags: str = ""
    exclude: str = ""
    provenance: bool = False
    history: bool = False
    force: bool = False
    report_signing_key: str = ""

    def secrets(self) -> tuple[str, ...]:
        """Every password the config carries (masked before anything is printed), and the signing key's
        text (the PEM given inline, else the file's)."""
        return config_secrets(
            self.source_password,
            self.destination_password,
            *signing_key_secrets(self.report_signing_key),
            registry_auth=self.registry_auth,
        )


OPTIONS = CommandOptions(
    MirrorConfig,
    (
        Group(None, (SOURCE, DESTINATION, COPY_REFERRERS, REFERRERS_SOURCE, PLATFORMS)),
        Group("several tags, history and provenance", (TAGS, MIRROR_EXCLUDE, HISTORY, FORCE, *PROVENANCE_OPTIONS)),
        access_group({"source": "the source registry", "destination": "the destination registry"}),
    ),
)
add_arguments = OPTIONS.add_arguments
config_from_args = OPTIONS.config_from_args
config_from_inputs = OPTIONS.config_from_inputs


def run(config: MirrorConfig, context: Context) -> Outcome:
    from gate.mirror.acquire import AcquireRequest, Keeping, TagPatterns, acquire
    from gate.mirror.acquire_outcome import mirror_run_outcome
    from gate.mirror.stage import MirrorRequest, plan, plan_repositories

    if config.exclude and not config.tags:
        raise InputError("--exclude / input exclude only applies with --tags / input tags")
    if config.force and not config.history:
        raise InputError("--force / input force only applies with --history / input history")
    signing_key = None
    if config.report_signing_key.strip():
        if not config.provenance:
            raise InputError(
                "--report-signing-key / input report_signing_key signs the acquisition provenance in mirror: "
                "it only applies with --provenance / input provenance"
            )
        from gate.promote.signing import load_signing_key  # cryptography: only when a key is given

        signing_key = load_signing_key(config.report_signing_key)
    if config.tags:
        steps = plan_repositories(config.source, config.destination, config.referrers_source)
        patterns: TagPatterns | None = TagPatterns(config.tags, config.exclude)
    else:
        steps = plan(config.source, config.destination, config.referrers_source)
        patterns = None
    request = MirrorRequest(
        steps, config.access(steps.source, steps.destination), config.copy_referrers, config.platforms
    )
    keeping = Keeping(config.provenance, config.history, config.force, signing_key)
    found = acquire(
        AcquireRequest(request, keeping, patterns), environ=context.environ, mask=context.mask, log=context.log
    )
    return mirror_run_outcome(found)
