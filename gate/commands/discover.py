"""``discover``: find production Dockerfiles, check that every image they use is pinned by digest,
and emit the unique images as a job matrix (the stage: ``gate.discover.stage``)."""

from __future__ import annotations

from gate.commands import SUMMARIES
from gate.discover.outcome import discovery_outcome
from gate.discover.stage import DiscoverRequest, discover
from gate.options.base import CommandOptions
from gate.options.discover import DISCOVER
from gate.outcome import Context, Outcome

NAME = "discover"
HELP = SUMMARIES[NAME]

OPTIONS = CommandOptions(DiscoverRequest, (DISCOVER,))
add_arguments = OPTIONS.add_arguments
config_from_args = OPTIONS.config_from_args
config_from_inputs = OPTIONS.config_from_inputs


def run(config: DiscoverRequest, context: Context) -> Outcome:
    return discovery_outcome(discover(config, context.log))
