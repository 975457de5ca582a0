"""``mirror``: copy an image (every platform) and, optionally, all its referrers into another repository
(the stage: ``gate.mirror.stage``)."""

from __future__ import annotations

from dataclasses import dataclass

from gate.mirror.outcome import mirror_outcome
from gate.mirror.stage import MirrorRequest, mirror, plan
from gate.options.access import AccessFields, access_group, config_secrets
from gate.options.base import CommandOptions, Group
from gate.options.images import DESTINATION, PLATFORMS, SOURCE
from gate.options.mirror import COPY_REFERRERS, REFERRERS_SOURCE
from gate.outcome import Context, Outcome

NAME = "mirror"
HELP = "copy an image with every platform (and optionally all OCI referrers) into another repository"


@dataclass(frozen=True)
class MirrorConfig(AccessFields):
    source: str
    destination: str
    copy_referrers: bool = False
    referrers_source: str = ""
    platforms: tuple[str, ...] = ()

    def secrets(self) -> tuple[str, ...]:
        """Every password the config carries (masked before anything is printed)."""
        return config_secrets(self.source_password, self.destination_password, registry_auth=self.registry_auth)


OPTIONS = CommandOptions(
    MirrorConfig,
    (
        Group(None, (SOURCE, DESTINATION, COPY_REFERRERS, REFERRERS_SOURCE, PLATFORMS)),
        access_group({"source": "the source registry", "destination": "the destination registry"}),
    ),
)
add_arguments = OPTIONS.add_arguments
config_from_args = OPTIONS.config_from_args
config_from_inputs = OPTIONS.config_from_inputs


def run(config: MirrorConfig, context: Context) -> Outcome:
    steps = plan(config.source, config.destination, config.referrers_source)
    request = MirrorRequest(
        steps, config.access(steps.source, steps.destination), config.copy_referrers, config.platforms
    )
    return mirror_outcome(mirror(request, environ=context.environ, mask=context.mask, log=context.log))
