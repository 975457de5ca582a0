"""``pin``: write the current digest of each tag into the production Dockerfiles (``--update``: move
pinned digests too; ``--check``: write nothing, exit 1 when something would change); the stage:
``gate.discover.pin_stage``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.commands import SUMMARIES
from gate.options.base import CommandOptions
from gate.options.lookup import DockerfileFields, LookupFields
from gate.options.pin import PIN_GROUPS
from gate.outcome import Context, Outcome

if TYPE_CHECKING:
    from gate.discover.pin_stage import PinRequest

NAME = "pin"
HELP = SUMMARIES[NAME]


@dataclass(frozen=True, kw_only=True)
class PinConfig(DockerfileFields, LookupFields):
    update: bool = False
    check: bool = False

    def request(self) -> PinRequest:
        from gate.discover.pin_stage import PinRequest

        return PinRequest(
            path=self.path,
            selection=self.selection(),
            allow_empty=self.allow_empty,
            access=self.access(),
            update=self.update,
            check=self.check,
        )


OPTIONS = CommandOptions(PinConfig, PIN_GROUPS)
add_arguments = OPTIONS.add_arguments
config_from_args = OPTIONS.config_from_args
config_from_inputs = OPTIONS.config_from_inputs


def run(config: PinConfig, context: Context) -> Outcome:
    # the stage is imported when the command runs, not for its --help
    from gate.discover.pin_outcome import pin_outcome
    from gate.discover.pin_stage import pin

    return pin_outcome(pin(config.request(), log=context.log, mask=context.mask, environ=context.environ))
