"""``tags``: list a repository's tags, keep those to mirror and emit them as a job matrix, one ``mirror``
per entry (the stage: ``gate.mirror.tags``)."""

from __future__ import annotations

from dataclasses import dataclass

from gate.commands import SUMMARIES
from gate.discover.matrix import MATRIX_CAP
from gate.options.access import SourceAccessFields, access_group, config_secrets
from gate.options.base import CommandOptions, Group
from gate.options.discover import MAX_MATRIX
from gate.options.tags import DESTINATION_REPO, EXCLUDE, INCLUDE, TAGS_SOURCE
from gate.outcome import Context, Outcome

NAME = "tags"
HELP = SUMMARIES[NAME]


@dataclass(frozen=True)
class TagsConfig(SourceAccessFields):
    source: str
    include: str = ""
    exclude: str = ""
    destination: str = ""
    max_matrix: int = MATRIX_CAP

    def secrets(self) -> tuple[str, ...]:
        """Every password the config carries (masked before anything is printed)."""
        return config_secrets(self.source_password, registry_auth=self.registry_auth)


OPTIONS = CommandOptions(
    TagsConfig,
    (
        Group(None, (TAGS_SOURCE, INCLUDE, EXCLUDE, DESTINATION_REPO, MAX_MATRIX)),
        access_group({"source": "the source registry"}, concurrency=False),
    ),
)
add_arguments = OPTIONS.add_arguments
config_from_args = OPTIONS.config_from_args
config_from_inputs = OPTIONS.config_from_inputs


def run(config: TagsConfig, context: Context) -> Outcome:
    # the stage is imported when the command runs, not for its --help
    from gate.mirror.tags import TagsRequest, list_tags, repository
    from gate.mirror.tags_outcome import tags_outcome

    source = repository(config.source, "source")
    destination = repository(config.destination, "destination") if config.destination else None
    request = TagsRequest(
        source, destination, config.source_access(source), config.include, config.exclude, config.max_matrix
    )
    return tags_outcome(list_tags(request, environ=context.environ, mask=context.mask, log=context.log))
