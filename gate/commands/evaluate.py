"""``python -m gate evaluate SARIF... [gate options] [--json]``: gate SARIF from any scanner.

Reads every SARIF file (Trivy, Grype, ours...), rates each finding by CVSS ``security-severity``
or by the scanner's label, removes excepted findings and judges all runs together. Exit 0 pass,
1 fail, 2 bad input; SARIF that evaluates nothing (no runs, or runs that name no image and carry no
results) is bad input unless ``--allow-empty``.

The document names the image the SARIF covers (``image``, ``digest``: its root digest) when every
run agrees on one (the ``imageDigest`` run property ``scan`` writes, or a Trivy image scan's single
``repoDigests`` digest), or as given by ``--image REF@DIGEST``; ``promote --verdict`` needs it.
The stage: ``gate.policy.stage.gate_sarif_files``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gate.commands import SUMMARIES
from gate.options.base import CommandOptions, Group
from gate.options.policy import ALLOW_EMPTY, EVALUATED_IMAGE, GATE, SARIF_FILES, VEX, GateFields
from gate.outcome import Context, Outcome

NAME = "evaluate"
HELP = SUMMARIES[NAME]


@dataclass(frozen=True)
class EvaluateConfig(GateFields):
    sarif_files: tuple[str, ...] = ()
    image: str = ""
    """``REF@DIGEST``: the image the SARIF covers, for SARIF that does not name it (empty: from the SARIF)."""
    allow_empty: bool = False


OPTIONS = CommandOptions(EvaluateConfig, (Group(None, (SARIF_FILES, EVALUATED_IMAGE, ALLOW_EMPTY)), GATE, VEX))
add_arguments = OPTIONS.add_arguments
config_from_args = OPTIONS.config_from_args
config_from_inputs = OPTIONS.config_from_inputs


def run(config: EvaluateConfig, context: Context) -> Outcome:
    # the stage is imported when the command runs, not for its --help
    from gate.policy.outcome import sarif_verdict_outcome
    from gate.policy.stage import GateRequest, gate_sarif_files
    from gate.policy.verdict import GateOptions

    request = GateRequest(
        sarif_files=tuple(config.sarif_files),
        options=GateOptions.from_config(config),
        vex_files=tuple(config.vex_files),
        use_vex=config.use_vex,
        image=config.image,
        allow_empty=config.allow_empty,
    )
    return sarif_verdict_outcome(gate_sarif_files(request, log=context.log), config.sarif_files, enforce=config.enforce)
