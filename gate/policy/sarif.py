"""SARIF 2.1.0 reading (from any scanner) and writing (one run per platform).

Reading validates the log against the vendored OASIS schema (``gate/policy/schemas/sarif-2.1.0.json``),
then turns every result into a ``SarifFinding``: the vulnerability id and its aliases, the CVSS
``security-severity``, the scanner's own label, the package, installed and fixed versions, the
location and the platform of its run. Scanners put these in different places:

- Trivy: one rule per vulnerability id (shared by every package it hits); ``tags`` carry the
  severity (``CRITICAL``...); package, installed and fixed versions only in each result's message
  text (``Package: ...``, ``Installed Version: ...``, ``Fixed Version: ...``).
- Grype: one rule per ``<id>-<package>``; no severity tag, the level follows the severity; the
  package, version and fix in the rule's help text and the result message.

Writing: ``build_sarif_log`` assembles one log with one run per platform, each with
``automationDetails.id`` ``<category>/<repository>/<platform>/`` (``gate.policy.sarif_category``) and
run properties image/platform/digest.
"""

from __future__ import annotations

import codecs
import gc
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from gate.errors import InputError
from gate.files import read_capped, write_atomic
from gate.oci.reference import DIGEST_PATTERN
from gate.policy import sarif_schema
from gate.policy.sarif_category import DEFAULT_SARIF_CATEGORY, automation_id
from gate.policy.sarif_schema import short as _short
from gate.policy.severity import Severity

FindingKind = Literal["vulnerability", "secret", "misconfiguration", "other"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# A SARIF file larger than this is refused before it is parsed.
MAX_SARIF_BYTES = 512 * 1024 * 1024

LEVEL_SEVERITY: Mapping[str, Severity] = {"error": "high", "warning": "medium", "note": "low", "none": "none"}
LABELS: Mapping[str, Severity] = {
    "critical": "critical",
    "high": "high",
    "important": "high",
    "medium": "medium",
    "moderate": "medium",
    "low": "low",
    "negligible": "low",
    "unknown": "none",
    "none": "none",
    "info": "none",
}
# Result kinds that are not problems (SARIF 3.27.9).
_NOT_FAILURES = {"pass", "notApplicable", "informational"}

# Vulnerability identifiers a rule id may start with (Grype appends "-<package>").
_VULN_ID = re.compile(
    r"^(?:CVE-\d{4}-\d{4,}"
    r"|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}"
    r"|(?:PYSEC|RUSTSEC|GO|GSD|OSV|MAL|ALSA|ALBA|RLSA|CGA|BIT|DSA|DLA|DTSA|USN|ELSA|RHSA|SUSE-SU|openSUSE-SU)-[0-9A-Za-z:.-]*?\d[0-9A-Za-z:.]*"
    r"|ALAS(?:2|2022|2023)?-\d{4}-\d+)",
    re.IGNORECASE,
)
_ANY_ALIAS = re.compile(r"\b(CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})\b", re.IGNORECASE)
_PLATFORM_TAIL = re.compile(
    r"(?:^|/)((?:linux|windows|darwin|freebsd|netbsd|openbsd|illumos|solaris|aix|android|ios|plan9|wasip1|js|unknown)"
    r"/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)?)/?$"
)


@dataclass(frozen=True, slots=True)  # slots: 100,000s of them are cheaper to build and to keep
class SarifFinding:
    """One result of a SARIF run, with what the gate needs to judge it.

    ``id`` is the vulnerability id (``CVE-...``, ``GHSA-...``) when the rule id names one, else
    the rule id; ``aliases`` are the other ids it is known by (the full rule id included).
    ``score`` is the CVSS ``security-severity`` (None when absent). ``label`` is the scanner's
    own severity (Trivy's tag, a ``Severity:`` line, else the SARIF level) and ``label_origin``
    says which (``tag``, ``text``, ``level``, or ``default`` for SARIF's implied ``warning``).
    ``path`` is the JSON path of the result in its file, for messages.
    """

    id: str
    rule_id: str
    aliases: tuple[str, ...]
    kind: FindingKind
    score: float | None
    label: Severity
    label_origin: Literal["tag", "text", "level", "default"]
    level: str
    title: str
    package: str | None
    installed: str | None
    fixed: str | None
    location: str | None
    line: int | None
    platform: str | None
    image: str | None
    suppressed: bool
    source: str
    path: str
    purl: str | None = None
    """The package's purl, when the result's properties carry one (``purl``)."""

    def ids(self) -> frozenset[str]:
        """Every id this finding answers to, upper-cased (for exception matching)."""
        return frozenset(i.upper() for i in (self.id, self.rule_id, *self.aliases))


@dataclass(frozen=True)
class SarifRun:
    """One run of a SARIF log: its tool, the image/platform/digest it covers, its findings."""

    source: str
    index: int
    tool: str
    tool_version: str | None
    image: str | None
    platform: str | None
    digest: str | None
    category: str | None
    sbom: bool | None
    findings: tuple[SarifFinding, ...]
    image_digest: str | None = None
    """The root digest of the image the run covers (an index's, not the platform's): the run property
    ``imageDigest``, else the one digest a Trivy image scan's ``repoDigests`` name."""

    @property
    def label(self) -> str:
        """A human name for the run: its platform, else ``file#index``."""
        return self.platform or f"{self.source}#{self.index}"


@dataclass(frozen=True)
class PlatformRun:
    """What the writer needs for one platform: the scanner's run plus where it came from."""

    run: Mapping[str, Any]
    image: str
    platform: str
    digest: str
    extra_properties: Mapping[str, Any] = field(default_factory=dict)
    image_name: str | None = None
    """The image reference as scanned, pinned to its root digest (run property ``imageName``)."""
    image_digest: str | None = None
    """The image's root digest (run property ``imageDigest``; ``digest`` is the platform's)."""


# ---------------------------------------------------------------- validation


def json_path(parts: Iterable[Any]) -> str:
    """``$.runs[0].results[3].message`` from a path of keys and indexes."""
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", str(part)):
            text += f".{part}"
        else:
            text += f"[{json.dumps(str(part))}]"
    return text


def validate_sarif(document: Any, source: str) -> None:
    """Raise ``InputError`` naming the file and JSON path of the first schema violation."""
    if not isinstance(document, dict):
        raise InputError(f"{source}: not a SARIF log: the top level is not a JSON object")
    version = document.get("version")
    if version != SARIF_VERSION:
        raise InputError(f"{source}: $.version: expected SARIF {SARIF_VERSION!r}, got {_short(version)}")
    try:
        sarif_schema.validate(document)
    except sarif_schema.SchemaViolation as exc:
        raise InputError(
            f"{source}: {json_path(exc.path)}: not valid SARIF 2.1.0: {_truncate(exc.message, 300)}"
        ) from None
    except (OSError, ValueError) as exc:  # a broken installation, not bad input
        raise InputError(f"{sarif_schema.SCHEMA_PATH}: cannot read the vendored SARIF schema: {exc}") from None


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------- reading


def load_sarif(path: str | Path, *, validate: bool = True) -> tuple[SarifRun, ...]:
    """Read a SARIF file: every run with its findings. Bad input raises ``InputError``."""
    source = str(path)
    data = read_capped(path, MAX_SARIF_BYTES, "the SARIF file", regular_only=False)
    with gc_paused():
        try:
            document = orjson.loads(data[3:] if data.startswith(codecs.BOM_UTF8) else data)
        except orjson.JSONDecodeError:
            # The standard library's reading is the reference: it accepts what orjson refuses (NaN, lone
            # surrogates) or refuses it with its own line/column message.
            return parse_sarif(_stdlib_json(data, source), source, validate=validate)
        try:
            return parse_sarif(document, source, validate=validate)
        except InputError:
            # orjson reads integers beyond 64 bits as floats, which only ever makes a log less valid:
            # a log it finds invalid is judged again on the standard library's reading.
            return parse_sarif(_stdlib_json(data, source), source, validate=validate)
        finally:
            del document  # freed before the collector resumes, or its first pass would walk all of it


def _stdlib_json(data: bytes, source: str) -> Any:
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{source}: JSON nested too deeply") from None


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cycle collector while building large acyclic data (a SARIF log, an OSV index).

    Every few hundred allocations it would scan the young objects, and the whole heap ever more
    often as it grows: about a third of the time spent reading a large log.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_sarif(document: Any, source: str, *, validate: bool = True) -> tuple[SarifRun, ...]:
    """The runs of an already-parsed SARIF log (``source`` names it in errors)."""
    if validate:
        try:
            validate_sarif(document, source)
        except RecursionError:
            raise InputError(f"{source}: JSON nested too deeply") from None
    elif not isinstance(document, dict):
        raise InputError(f"{source}: not a SARIF log: the top level is not a JSON object")
    runs = document.get("runs") or []
    if not isinstance(runs, list):
        raise InputError(f"{source}: $.runs: expected an array")
    return tuple(parse_run(run, source=source, index=i) for i, run in enumerate(runs))


def parse_run(run: Mapping[str, Any], *, source: str, index: int = 0) -> SarifRun:
    """One run (a dict shaped as SARIF's ``run``) into a ``SarifRun``.

    The scan stage calls this on the runs its scanners produced, before writing them.
    """
    base = f"$.runs[{index}]"
    if not isinstance(run, dict):
        raise InputError(f"{source}: {base}: expected an object")
    tool = _obj(run.get("tool"), source, f"{base}.tool")
    driver = _obj(tool.get("driver"), source, f"{base}.tool.driver")
    rules = _rules(driver, source, f"{base}.tool.driver.rules")
    by_id: dict[str, Mapping[str, Any]] = {}
    for rule in rules:
        by_id.setdefault(str(rule.get("id")), rule)
    for e, extension in enumerate(_list(tool.get("extensions"), source, f"{base}.tool.extensions")):
        for rule in _rules(
            _obj(extension, source, f"{base}.tool.extensions[{e}]"), source, f"{base}.tool.extensions[{e}].rules"
        ):
            by_id.setdefault(str(rule.get("id")), rule)

    properties = _props(run.get("properties"))
    automation = run.get("automationDetails") if isinstance(run.get("automationDetails"), Mapping) else {}
    category = _str(automation.get("id")) if isinstance(automation, dict) else None
    platform = _str(properties.get("platform")) or _platform_from_category(category)
    image = _str(properties.get("image")) or _str(properties.get("imageName"))
    digest = _str(properties.get("digest")) or _digest_from(properties.get("repoDigests"))
    sbom = properties.get("sbom") if isinstance(properties.get("sbom"), bool) else None
    image_digest = _str(properties.get("imageDigest")) or _single_digest(properties.get("repoDigests"))

    findings: list[SarifFinding] = []
    facts_cache: dict[tuple[int, str], _RuleFacts] = {}
    results = _list(run.get("results"), source, f"{base}.results")
    for r, result in enumerate(results):
        path = f"{base}.results[{r}]"
        if not isinstance(result, dict):
            raise InputError(f"{source}: {path}: expected an object")
        if result.get("kind") in _NOT_FAILURES:
            continue
        rule = _rule_for(result, rules, by_id, source, path)
        rule_id = _str(result.get("ruleId")) or str(rule.get("id"))
        facts = facts_cache.get((id(rule), rule_id))
        if facts is None:
            facts = facts_cache[(id(rule), rule_id)] = _rule_facts(rule, rule_id, source, path)
        findings.append(_finding(result, facts, source, path, platform, image))
    return SarifRun(
        source=source,
        index=index,
        tool=_str(driver.get("name")) or "unknown",
        tool_version=_str(driver.get("version")) or _str(driver.get("semanticVersion")),
        image=image,
        platform=platform,
        digest=digest,
        category=category,
        sbom=sbom,
        findings=tuple(findings),
        image_digest=image_digest if image_digest and DIGEST_PATTERN.fullmatch(image_digest) else None,
    )


def _obj(value: Any, source: str, path: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{source}: {path}: expected an object")
    return value


def _list(value: Any, source: str, path: str) -> Sequence[Any]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InputError(f"{source}: {path}: expected an array")
    return value


def _rules(component: Mapping[str, Any], source: str, path: str) -> list[Mapping[str, Any]]:
    rules = _list(component.get("rules"), source, path)
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not isinstance(rule.get("id"), str):
            raise InputError(f"{source}: {path}[{i}]: expected a rule object with a string id")
    return list(rules)


def _props(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _text(value: Any) -> str:
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return str(value["text"])
    return ""


def _platform_from_category(category: str | None) -> str | None:
    if not category:
        return None
    match = _PLATFORM_TAIL.search(category)
    return match.group(1) if match else None


def _digest_from(repo_digests: Any) -> str | None:
    if isinstance(repo_digests, list):
        for item in repo_digests:
            if isinstance(item, str):
                match = DIGEST_PATTERN.search(item)
                if match:
                    return match.group(0)
    return None


def _single_digest(repo_digests: Any) -> str | None:
    """The digest ``repoDigests`` name when they name exactly one (several repositories, one image)."""
    if not isinstance(repo_digests, list):
        return None
    found = {m.group(0) for item in repo_digests if isinstance(item, str) for m in [DIGEST_PATTERN.search(item)] if m}
    return found.pop() if len(found) == 1 else None


def _rule_for(
    result: Mapping[str, Any],
    rules: Sequence[Mapping[str, Any]],
    by_id: Mapping[str, Mapping[str, Any]],
    source: str,
    path: str,
) -> Mapping[str, Any]:
    reference = result.get("rule") if isinstance(result.get("rule"), dict) else {}
    assert isinstance(reference, dict)
    index = result.get("ruleIndex", reference.get("index", -1))
    rule_id = _str(result.get("ruleId")) or _str(reference.get("id"))
    if isinstance(index, int) and not isinstance(index, bool) and index >= 0 and "toolComponent" not in reference:
        if index >= len(rules):
            raise InputError(f"{source}: {path}.ruleIndex: {index} is past the end of the run's {len(rules)} rules")
        rule = rules[index]
        if rule_id and rule.get("id") != rule_id and rule_id.split("/")[0] != rule.get("id"):
            raise InputError(
                f"{source}: {path}: ruleId {_short(rule_id)} does not match rule {index} ({_short(rule.get('id'))})"
            )
        return rule
    if rule_id:
        return by_id.get(rule_id) or by_id.get(rule_id.split("/")[0]) or {"id": rule_id}
    raise InputError(f"{source}: {path}: the result names no rule (ruleId, ruleIndex or rule)")


def _score(value: Any, source: str, path: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InputError(f"{source}: {path}: security-severity must be a number 0-10, got {_short(value)}")
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{source}: {path}: security-severity must be a number 0-10, got {_short(value)}") from None
    if not 0.0 <= score <= 10.0:  # also refuses NaN
        raise InputError(f"{source}: {path}: security-severity must be a number 0-10, got {_short(value)}")
    return score


def _lines(text: str) -> dict[str, str]:
    """``Key: value`` lines of a message (first occurrence of each key, lower-cased).

    A key is 1-40 characters before the line's first colon; the value loses the blanks around it.
    (String methods, not a regular expression: this runs on every result.)
    """
    fields: dict[str, str] = {}
    for line in text.split("\n"):
        key, colon, value = line.partition(":")
        if colon and 0 < len(key) <= 40:
            key = key.strip().lower()
            if key not in fields:
                fields[key] = value.lstrip(" \t").rstrip(" \t\r")
    return fields


_GRYPE_MESSAGE = re.compile(r"package: (?P<package>[^,\s]+), version (?P<version>\S+)")
_FIX_KEYS = ("fixedVersion", "fixed-version", "fixed_version", "fixVersion", "fix-version", "fixedIn")


def _fixed_from_props(props: Mapping[str, Any]) -> tuple[bool, str | None]:
    for key in _FIX_KEYS:
        if key in props:
            value = props[key]
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value if isinstance(v, str | int | float))
            return True, _str(value if isinstance(value, str) else None)
    return False, None


def _label_from_tags(tags: Any) -> Severity | None:
    if isinstance(tags, list | tuple):
        for tag in tags:
            if isinstance(tag, str) and tag.strip().lower() in LABELS and tag.strip().lower() != "none":
                return LABELS[tag.strip().lower()]
    return None


def _rule_kind(tags: Sequence[str], is_vuln_id: bool) -> FindingKind | None:
    lowered = {t.lower() for t in tags}
    if "secret" in lowered:
        return "secret"
    if "misconfiguration" in lowered:
        return "misconfiguration"
    if is_vuln_id or "vulnerability" in lowered:
        return "vulnerability"
    return None  # depends on whether a result names a package


def _kind(facts: _RuleFacts, tags: Sequence[str], package: str | None) -> FindingKind:
    lowered = {t.lower() for t in tags}
    if "secret" in lowered:
        return "secret"
    if "misconfiguration" in lowered:
        return "misconfiguration"
    if facts.is_vuln_id or package or "vulnerability" in lowered:
        return "vulnerability"
    return "other"


@dataclass(frozen=True)
class _RuleFacts:
    """What a rule says, computed once per rule (Trivy shares one rule between many results)."""

    rule_id: str
    vuln_id: str
    is_vuln_id: bool
    aliases: tuple[str, ...]
    props: Mapping[str, Any]
    tags: tuple[str, ...]
    tag_label: Severity | None
    help: Mapping[str, str]
    default_level: str | None
    title: str
    kind: FindingKind | None  # when the rule alone decides it
    score: float | None
    help_package: str | None
    help_installed: str | None
    help_fixed: tuple[bool, str | None]  # (known, version) from the help text
    props_fixed: tuple[bool, str | None]  # (known, version) from the rule's properties


def _rule_facts(rule: Mapping[str, Any], rule_id: str, source: str, path: str) -> _RuleFacts:
    props = _props(rule.get("properties"))
    match = _VULN_ID.match(rule_id)
    vuln_id = match.group(0) if match else rule_id
    helped = _lines(_text(rule.get("help")))
    aliases = [a for c in (rule_id, helped.get("vulnerability") or "") for a in _ANY_ALIAS.findall(c)]
    for key in ("aliases", "cve", "cves", "ghsa", "related"):
        value = props.get(key)
        aliases += [
            v.strip() for v in (value if isinstance(value, list) else [value]) if isinstance(v, str) and v.strip()
        ]
    if rule_id != vuln_id:
        aliases.append(rule_id)
    tags = tuple(_list_of_str(props.get("tags")))
    config = rule.get("defaultConfiguration")
    level = config.get("level") if isinstance(config, dict) else None
    return _RuleFacts(
        rule_id=rule_id,
        vuln_id=vuln_id,
        is_vuln_id=match is not None,
        aliases=tuple(a for a in dict.fromkeys(aliases) if a.upper() != vuln_id.upper()),
        props=props,
        tags=tags,
        tag_label=_label_from_tags(tags),
        help=helped,
        default_level=level if level in LEVEL_SEVERITY else None,
        title=_text(rule.get("shortDescription")),
        kind=_rule_kind(tags, match is not None),
        score=_score(props.get("security-severity"), source, f"{path} (rule {rule_id}).properties.security-severity"),
        help_package=helped.get("package"),
        help_installed=helped.get("installed version") or helped.get("version"),
        help_fixed=next(
            ((True, helped[k] or None) for k in ("fixed version", "fix version") if k in helped), (False, None)
        ),
        props_fixed=_fixed_from_props(props),
    )


def _finding(
    result: Mapping[str, Any],
    facts: _RuleFacts,
    source: str,
    path: str,
    platform: str | None,
    image: str | None,
) -> SarifFinding:
    result_props = _props(result.get("properties"))
    message = _text(result.get("message"))
    msg = _lines(message) if message else {}
    helped = facts.help

    aliases = facts.aliases
    extra: list[str] = []
    if msg.get("vulnerability"):
        extra += [a for a in _ANY_ALIAS.findall(msg["vulnerability"]) if a.upper() != facts.vuln_id.upper()]
    if result_props:
        for key in ("aliases", "cve", "cves", "ghsa", "related"):
            value = result_props.get(key)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item.strip() and item.strip().upper() != facts.vuln_id.upper():
                    extra.append(item.strip())
    if extra:
        aliases = tuple(dict.fromkeys((*aliases, *extra)))

    score = facts.score
    if result_props and "security-severity" in result_props:
        own = _score(result_props["security-severity"], source, f"{path}.properties.security-severity")
        score = own if own is not None else score

    result_tags = tuple(_list_of_str(result_props.get("tags"))) if result_props else ()
    label: Severity | None = (_label_from_tags(result_tags) if result_tags else None) or facts.tag_label
    origin: Literal["tag", "text", "level", "default"] = "tag"
    if label is None:
        text_label = msg.get("severity") or helped.get("severity")
        if text_label and text_label.lower() in LABELS:
            label, origin = LABELS[text_label.lower()], "text"
    level = result.get("level")
    explicit_level = level in LEVEL_SEVERITY or facts.default_level is not None
    if level not in LEVEL_SEVERITY:
        level = facts.default_level or "warning"
    assert isinstance(level, str)
    if label is None:
        label, origin = LEVEL_SEVERITY[level], ("level" if explicit_level else "default")

    grype = _GRYPE_MESSAGE.search(message) if "package: " in message else None
    package = msg.get("package") or (grype.group("package") if grype else None)
    installed = msg.get("installed version") or (grype.group("version") if grype else None)
    fixed_known, fixed = False, None
    if "fixed version" in msg:
        fixed_known, fixed = True, msg["fixed version"] or None
    if not fixed_known and result_props:
        fixed_known, fixed = _fixed_from_props(result_props)
    help_package = facts.help_package
    # Trivy shares one rule between every package a CVE hits: its help text names only the first.
    help_applies = help_package is None or package is None or help_package == package
    if not package and help_package:
        package = help_package
    if help_applies:
        installed = installed or facts.help_installed
        if not fixed_known:
            fixed_known, fixed = facts.help_fixed
    if not fixed_known:
        fixed_known, fixed = facts.props_fixed
    if fixed and fixed.lower() in {"none", "n/a", "not fixed", "unknown", "-"}:
        fixed = None

    location, line = _location(result)
    suppressions = result.get("suppressions")
    suppressed = isinstance(suppressions, list) and any(
        isinstance(s, dict) and s.get("status", "accepted") == "accepted" for s in suppressions
    )
    return SarifFinding(
        id=facts.vuln_id,
        rule_id=facts.rule_id,
        aliases=aliases,
        kind=_kind(facts, facts.tags + result_tags, package) if result_tags or not facts.kind else facts.kind,
        score=score,
        label=label,
        label_origin=origin,
        level=level,
        title=facts.title or (message.splitlines()[0] if message else facts.rule_id),
        package=package or None,
        installed=installed or None,
        fixed=fixed,
        location=location,
        line=line,
        platform=platform,
        image=image,
        suppressed=suppressed,
        source=source,
        path=path,
        purl=_str(result_props.get("purl")) if result_props else None,
    )


def _list_of_str(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _location(result: Mapping[str, Any]) -> tuple[str | None, int | None]:
    locations = result.get("locations")
    if not isinstance(locations, list) or not locations or not isinstance(locations[0], dict):
        return None, None
    first = locations[0]
    physical = first.get("physicalLocation")
    if isinstance(physical, dict):
        artifact = physical.get("artifactLocation")
        uri = _str(artifact.get("uri")) if isinstance(artifact, dict) else None
        region = physical.get("region")
        line = region.get("startLine") if isinstance(region, dict) else None
        return uri, line if isinstance(line, int) and not isinstance(line, bool) else None
    logical = first.get("logicalLocations")
    if isinstance(logical, list) and logical and isinstance(logical[0], dict):
        return _str(logical[0].get("fullyQualifiedName")) or _str(logical[0].get("name")), None
    return None, None


# ---------------------------------------------------------------- writing


def build_sarif_log(
    runs: Sequence[PlatformRun], *, repository: str, category: str = DEFAULT_SARIF_CATEGORY
) -> dict[str, Any]:
    """One SARIF 2.1.0 log with one run per platform of the image in ``repository`` (``sarif_category.analysis_path``).

    Each run is the scanner's run (rules kept) with ``automationDetails.id`` set to
    ``<category>/<repository>/<platform>/`` and ``properties`` image, platform and digest (merged over the
    scanner's own properties and ``extra_properties``), plus imageName and imageDigest (the root
    reference and digest) when given.
    """
    out: list[dict[str, Any]] = []
    for item in runs:
        run = json.loads(json.dumps(item.run))  # a deep copy that is plain JSON
        if not isinstance(run, dict):
            raise InputError(f"{item.platform}: the scanner's run is not a JSON object")
        details = dict(run.get("automationDetails") or {})
        details["id"] = automation_id(category, repository, item.platform)
        run["automationDetails"] = details
        properties = dict(run.get("properties") or {})
        properties.update(dict(item.extra_properties))
        properties.update({"image": item.image, "platform": item.platform, "digest": item.digest})
        if item.image_name:
            properties["imageName"] = item.image_name
        if item.image_digest:
            properties["imageDigest"] = item.image_digest
        run["properties"] = properties
        run.setdefault("results", [])
        out.append(run)
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": out}


def write_sarif(path: str | Path, log: Mapping[str, Any], *, validate: bool = True) -> Path:
    """Validate and write a SARIF log (UTF-8, compact) to ``path``; return the path."""
    target = Path(path)
    if validate:
        validate_sarif(log, str(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, (json.dumps(log, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
    except OSError as exc:
        raise InputError(f"{target}: cannot write the SARIF file: {exc.strerror or exc}") from None
    return target
