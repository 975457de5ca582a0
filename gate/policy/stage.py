"""The gate stage's entry: SARIF files from any scanner in, the verdict on the image they cover out.

``gate_sarif_files(request)`` reads the VEX files and every SARIF file, judges all their runs
together (``verdict.evaluate``) and names the image the SARIF covers: the ``REF@DIGEST`` given
(checked against every run that names a root digest), else the one root digest every run names.
SARIF that evaluates nothing (``nothing_evaluated``) is an ``InputError`` unless ``allow_empty``.
It prints nothing and exits nothing; bad input raises ``InputError``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gate.errors import InputError
from gate.oci.reference import parse_target_reference
from gate.outcome import ignore
from gate.policy.sarif import SarifRun, load_sarif
from gate.policy.verdict import GateOptions, GateResult, evaluate
from gate.policy.vex_match import load_given_vex

Log = Callable[[str], None]


@dataclass(frozen=True)
class GateRequest:
    """What the gate stage judges: SARIF files, with the gate options and VEX files."""

    sarif_files: tuple[str, ...]
    options: GateOptions = field(default_factory=GateOptions)
    vex_files: tuple[str, ...] = ()
    use_vex: bool = True
    image: str = ""
    """``REF@DIGEST``: the image the SARIF covers, for SARIF that does not name it (empty: from the SARIF)."""
    allow_empty: bool = False
    """Let SARIF that evaluates nothing pass (``nothing_evaluated``); by default it is an ``InputError``."""


@dataclass(frozen=True)
class SarifVerdict:
    """The verdict on SARIF files and the image they cover; ``to_json()`` is the ``evaluate --json`` document."""

    result: GateResult
    runs: tuple[SarifRun, ...]
    image: str | None
    digest: str | None
    """The root digest of the image the SARIF covers (None: it names none, or several)."""
    scanner: tuple[str | None, str | None]
    """(name, version) of the tool that wrote every run, or (None, None) when they differ."""

    def to_json(self) -> dict[str, Any]:
        name, version = self.scanner
        return {
            **self.result.to_json(),
            "image": self.image,
            "digest": self.digest,
            "method": "sarif",
            "scanner": {"name": name, "version": version},
        }


def gate_sarif_files(request: GateRequest, *, log: Log = ignore) -> SarifVerdict:
    """Judge every run of every SARIF file together; name the image they cover."""
    vex = load_given_vex(request.vex_files, request.use_vex)
    runs: list[SarifRun] = []
    for path in request.sarif_files:
        loaded = load_sarif(path)
        log(f"evaluate: {path}: {len(loaded)} run(s), {sum(len(r.findings) for r in loaded)} finding(s)")
        runs += loaded
    if not request.allow_empty and nothing_evaluated(runs):
        raise InputError(
            f"evaluate: nothing was evaluated: {', '.join(request.sarif_files)}: "
            + (f"{len(runs)} run(s), none names an image or carries a result" if runs else "no runs")
            + "; a pass on nothing vouches for nothing",
            hint="give the SARIF of a scan of the image; --allow-empty (input allow_empty) lets it pass anyway",
        )
    result = evaluate(runs, request.options, vex=vex)
    image, digest = image_of(runs, request.image)
    return SarifVerdict(result, tuple(runs), image, digest, scanner_of(runs))


def nothing_evaluated(runs: Sequence[SarifRun]) -> bool:
    """No runs, or only runs that name no image (no image, root or platform digest) and carry no results."""
    return all(not run.findings and not (run.image or run.image_digest or run.digest) for run in runs)


def pinned_image(text: str, where: str) -> tuple[str, str] | None:
    """``(name[:tag], digest)`` of a pinned reference (``host/repo[:tag]@sha256:...`` or
    ``oci:PATH[:tag]@sha256:...``); None for empty text; ``InputError`` when it names no digest."""
    if not text:
        return None
    reference = parse_target_reference(text, default_tag=None)
    if reference.digest is None:
        raise InputError(
            f"{where} {text}: not pinned: give the image with its root digest, REF@sha256:<64 hex> "
            "(the digest promote will check the source against)"
        )
    return str(replace(reference, digest=None)), reference.digest


def image_of(runs: Sequence[SarifRun], given: str = "") -> tuple[str | None, str | None]:
    """The image (name, root digest) the runs cover: ``given`` (checked against every run that names a
    root digest), else the one root digest every run names, else (None, None)."""
    pinned = pinned_image(given, "--image")
    if pinned is not None:
        name, digest = pinned
        for run in runs:
            if run.image_digest and run.image_digest != digest:
                raise InputError(
                    f"--image {given}: {run.source} run {run.index} ({run.label}) is of image {run.image_digest}, "
                    f"not {digest}; the SARIF and --image contradict each other"
                )
        return name, digest
    digests = {run.image_digest for run in runs}
    if len(digests) != 1 or None in digests:
        return None, None
    names = {run.image.rpartition("@")[0] if "@" in run.image else run.image for run in runs if run.image}
    return (names.pop() if len(names) == 1 else None), digests.pop()


def scanner_of(runs: Sequence[SarifRun]) -> tuple[str | None, str | None]:
    """(name, version) of the tool that wrote the runs, when they all name the same one."""
    tools = {(run.tool, run.tool_version) for run in runs}
    if len(tools) == 1:
        return tools.pop()
    return None, None
