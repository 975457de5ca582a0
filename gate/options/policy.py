"""The options of the gate stage, for every command that judges findings (evaluate, scan, promote,
pipeline): the severity threshold and source, the exceptions file, what does not block, and VEX.
``GateFields`` is the config part they fill (a keyword-only dataclass the configs inherit)."""

from __future__ import annotations

from dataclasses import dataclass

from gate.errors import InputError
from gate.options.base import Group, Option
from gate.policy.severity import THRESHOLD_PATTERN, parse_threshold

SEVERITY_SOURCES = ("cvss", "label")


def _threshold(text: str, where: str) -> str:
    """The threshold as the gate keeps it: a band name, or a score in its shortest form."""
    threshold = parse_threshold(text, where)
    return threshold.text if threshold.score is not None else threshold.severity


def _severity_source(text: str, where: str) -> str:
    value = text.strip().lower()
    if value not in SEVERITY_SOURCES:
        raise InputError(f"{where}: expected cvss or label, got {text!r}")
    return value


SEVERITY_THRESHOLD = Option(
    "severity_threshold",
    "block findings at or above: critical, high, medium, low, or a CVSS score 0-10 (default: high)",
    {"type": "string", "pattern": THRESHOLD_PATTERN},
    default="high",
    flag="--severity-threshold",
    metavar="LEVEL",
    strip=False,
    normalise=_threshold,
)
SEVERITY_SOURCE = Option(
    "severity_source",
    "rate findings by CVSS security-severity (default) or by the scanner's label",
    {"enum": list(SEVERITY_SOURCES)},
    default="cvss",
    flag="--severity-source",
    choices=SEVERITY_SOURCES,
    strip=False,
    normalise=_severity_source,
)
EXCEPTIONS_FILE = Option(
    "exceptions_file",
    "exceptions file (YAML or .trivyignore-style text)",
    {"type": ["string", "null"]},
    flag="--exceptions",
    metavar="FILE",
    normalise=lambda value, _: value or None,
)
IGNORE_UNFIXED = Option(
    "ignore_unfixed",
    "findings without a fixed version do not block",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--ignore-unfixed",
)
ALLOW_MISSING_SBOM = Option(
    "allow_missing_sbom",
    "a platform without an SBOM does not block the verdict",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--allow-missing-sbom",
)
VEX_FILES = Option(
    "vex_files",
    "OpenVEX or CycloneDX VEX file(s) (bare or in an in-toto/DSSE attestation); repeatable",
    {"type": "array", "items": {"type": "string", "minLength": 1}},
    kind="list",
    default=(),
    flag="--vex",
    metavar="FILE",
    nargs="+",
)
ENFORCE = Option(
    "enforce",
    "report only: a failing verdict exits 0 and its blocking findings are warnings; the verdict, outputs, "
    "SARIF and summary stay as they are, bad input and runtime failures still fail, nothing that blocks "
    "is promoted",
    {"type": "boolean"},
    kind="bool",
    default=True,
    flag="--no-enforce",
)
USE_VEX = Option(
    "use_vex",
    "apply no VEX statement at all: neither VEX attached to the image nor --vex files (giving both is an error)",
    {"type": "boolean"},
    kind="bool",
    default=True,
    flag="--no-vex",
    input="vex",
)

GATE = Group(
    "gate options",
    (SEVERITY_THRESHOLD, SEVERITY_SOURCE, EXCEPTIONS_FILE, IGNORE_UNFIXED, ALLOW_MISSING_SBOM, ENFORCE),
)
ATTACHED_VEX = Option(
    "attached_vex",
    "apply no VEX document attached to the image (referrers, cosign .att tags, in-index attestations); "
    "the --vex files still apply",
    {"type": "boolean"},
    kind="bool",
    default=True,
    flag="--no-attached-vex",
)

VEX = Group("VEX options", (VEX_FILES, USE_VEX))
SCAN_VEX = Group("VEX options", (VEX_FILES, USE_VEX, ATTACHED_VEX))
"""The VEX options of a command that scans (VEX attached to the image is read only there)."""


@dataclass(frozen=True, kw_only=True)
class GateFields:
    """The gate (``GateOptions.from_config``) and VEX fields of a command config."""

    severity_threshold: str = "high"
    severity_source: str = "cvss"
    exceptions_file: str | None = None
    ignore_unfixed: bool = False
    allow_missing_sbom: bool = False
    enforce: bool = True
    """False (``--no-enforce``): report only (``gate.policy.outcome.enforced_outcome``)."""
    vex_files: tuple[str, ...] = ()
    use_vex: bool = True


def _pinned(text: str, where: str) -> str:
    from gate.policy.stage import pinned_image

    pinned_image(text.strip(), where)
    return text.strip()


# What ``evaluate`` gates: SARIF files, and the image they cover when they do not name it.
SARIF_FILES = Option(
    "sarif_files",
    "SARIF 2.1.0 file(s) to evaluate together",
    {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
    kind="list",
    default=(),
    positional=True,
    metavar="SARIF",
    input="sarif_file",
    required="input sarif_file: give one or more SARIF files (one per line or comma-separated)",
)
EVALUATED_IMAGE = Option(
    "image",
    "the image the SARIF covers, pinned by its root digest, for SARIF that does not name it "
    "(another scanner's); it must not contradict the SARIF. Without it the digest comes from the SARIF "
    "when every run names the same one (promote --verdict needs it)",
    {"type": "string"},
    default="",
    flag="--image",
    metavar="REF@DIGEST",
    normalise=_pinned,
)
ALLOW_EMPTY = Option(
    "allow_empty",
    "let SARIF that evaluates nothing (no runs, or runs that name no image and carry no results) pass; "
    "by default it is bad input (exit 2), since a pass on nothing vouches for nothing",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--allow-empty",
)
