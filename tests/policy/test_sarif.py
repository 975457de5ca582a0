"""SARIF reading (real Trivy/Grype output, schema errors, fuzz) and writing."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.errors import GateError, InputError
from gate.policy import sarif_schema
from gate.policy.sarif import PlatformRun, _lines, build_sarif_log, load_sarif, parse_run, parse_sarif, write_sarif
from tests.policy.sarif_samples import real_world, sarif_log, trivy_result, trivy_rule, write

TRIVY_FILES = ["trivy-0.49-image.sarif", "trivy-0.50-with-secret.sarif", "trivy-0.69-node-alpine.sarif"]
ALL_FILES = [*TRIVY_FILES, "grype-0.114-image.sarif"]


@pytest.mark.parametrize("name", ALL_FILES)
def test_real_files_validate_and_yield_one_finding_per_result(name: str) -> None:
    path = real_world(name)
    document = json.loads(path.read_text(encoding="utf-8"))
    runs = load_sarif(path)
    assert len(runs) == len(document["runs"])
    for run, raw in zip(runs, document["runs"], strict=True):
        assert len(run.findings) == len(raw["results"])
        assert [f.rule_id for f in run.findings] == [r["ruleId"] for r in raw["results"]]
        assert run.tool == raw["tool"]["driver"]["name"]


@pytest.mark.parametrize("name", TRIVY_FILES)
def test_trivy_package_versions_come_from_each_result_message(name: str) -> None:
    document = json.loads(real_world(name).read_text(encoding="utf-8"))
    run = load_sarif(real_world(name))[0]
    for finding, raw in zip(run.findings, document["runs"][0]["results"], strict=True):
        text = raw["message"]["text"]
        fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
        if "Package" not in fields:  # the secret finding
            assert finding.package is None
            continue
        assert finding.package == fields["Package"]
        assert finding.installed == fields["Installed Version"]
        assert finding.fixed == (fields.get("Fixed Version") or None)


def test_trivy_unfixed_findings_have_no_fixed_version() -> None:
    run = load_sarif(real_world("trivy-0.49-image.sarif"))[0]
    assert sum(1 for f in run.findings if f.fixed is None) == 5  # per SOURCES.md


def test_trivy_run_properties_give_image_and_digest() -> None:
    run = load_sarif(real_world("trivy-0.69-node-alpine.sarif"))[0]
    assert run.image == "vulnerable-app:v1"
    assert run.digest == "sha256:ddc713a3a7663d650dd3b935cfcc9d26341e371190d3fcea95e49a62550e58e3"
    assert run.platform is None


def test_trivy_label_and_cvss_disagree_on_four_rules() -> None:
    path = real_world("trivy-0.69-node-alpine.sarif")
    rules = json.loads(path.read_text(encoding="utf-8"))["runs"][0]["tool"]["driver"]["rules"]

    def band(score: float) -> str:
        return (
            "critical"
            if score >= 9
            else "high"
            if score >= 7
            else "medium"
            if score >= 4
            else "low"
            if score > 0
            else "none"
        )

    disagreeing = {
        r["id"]
        for r in rules
        if band(float(r["properties"]["security-severity"])) != r["properties"]["tags"][2].lower()
    }
    assert len(disagreeing) == 4
    run = load_sarif(path)[0]
    seen = {f.id for f in run.findings if f.label != band(f.score or 0.0)}
    assert seen == disagreeing


def test_secret_finding_has_no_cve_and_the_label_severity() -> None:
    run = load_sarif(real_world("trivy-0.50-with-secret.sarif"))[0]
    secrets = [f for f in run.findings if f.kind == "secret"]
    assert len(secrets) == 1
    secret = secrets[0]
    assert secret.id == "private-key"
    assert secret.package is None and secret.fixed is None and secret.aliases == ()
    assert secret.label == "high" and secret.label_origin == "tag"
    assert secret.location == "/etc/ssl/private/ssl-cert-snakeoil.key"
    assert "PRIVATE KEY" not in secret.title


def test_grype_rule_ids_split_into_vulnerability_id_and_package() -> None:
    path = real_world("grype-0.114-image.sarif")
    rules = json.loads(path.read_text(encoding="utf-8"))["runs"][0]["tool"]["driver"]["rules"]
    help_fields = {r["id"]: dict(x.split(": ", 1) for x in r["help"]["text"].splitlines() if ": " in x) for r in rules}
    run = load_sarif(path)[0]
    for finding in run.findings:
        fields = help_fields[finding.rule_id]
        assert re.fullmatch(r"CVE-\d{4}-\d+|GHSA(-[a-z0-9]{4}){3}", finding.id), finding.id
        assert finding.rule_id == f"{finding.id}-{finding.package}"
        assert finding.package == fields["Package"]
        assert finding.installed == fields["Version"]
        assert finding.fixed == (fields.get("Fix Version") or None)
        assert finding.rule_id in finding.aliases
        assert finding.label == fields["Severity"].lower() or fields["Severity"] == "negligible"
        assert finding.label_origin == "text"


# ---------------------------------------------------------------- bad input


def _minimal() -> dict[str, Any]:
    return sarif_log([trivy_rule("CVE-2024-0001", "HIGH", "7.5")], [trivy_result(0, "CVE-2024-0001", "HIGH", "zlib")])


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("version"), r"\$\.version: expected SARIF '2\.1\.0'"),
        (lambda d: d.update(version="2.0.0"), r"\$\.version"),
        (lambda d: d.update(runs={}), r"\$\.runs: not valid SARIF"),
        (lambda d: d["runs"][0]["results"][0].update(level="fatal"), r"\$\.runs\[0\]\.results\[0\]\.level"),
        (lambda d: d["runs"][0]["results"][0].pop("message"), r"\$\.runs\[0\]\.results\[0\]: .*message"),
        (lambda d: d["runs"][0]["results"][0].update(ruleIndex=7), r"results\[0\]\.ruleIndex: 7 is past the end"),
        (lambda d: d["runs"][0]["results"][0].update(ruleIndex=-2), r"results\[0\]\.ruleIndex"),
        (lambda d: d["runs"][0]["results"][0].update(bogus=1), r"results\[0\]: not valid SARIF"),
        (lambda d: d["runs"][0]["tool"]["driver"].pop("name"), r"\$\.runs\[0\]\.tool\.driver"),
        (
            lambda d: d["runs"][0]["tool"]["driver"]["rules"].append(dict(d["runs"][0]["tool"]["driver"]["rules"][0])),
            r"rules: .*duplicate",
        ),
        (
            lambda d: d["runs"][0]["tool"]["driver"]["rules"][0]["properties"].update({"security-severity": "high"}),
            r"security-severity must be a number 0-10",
        ),
        (
            lambda d: d["runs"][0]["tool"]["driver"]["rules"][0]["properties"].update({"security-severity": "11"}),
            r"security-severity must be a number 0-10",
        ),
        (
            lambda d: d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"].update(startLine=0),
            r"startLine",
        ),
        (lambda d: d["runs"][0]["results"][0].update(ruleId="CVE-OTHER"), r"does not match rule 0"),
    ],
)
def test_invalid_sarif_names_file_and_json_path(tmp_path: Path, mutate: Any, expected: str) -> None:
    document = _minimal()
    mutate(document)
    path = write(tmp_path, document)
    with pytest.raises(InputError) as caught:
        load_sarif(path)
    message = caught.value.diagnostics()
    assert str(path) in message
    assert re.search(expected, message), message


def test_unreadable_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the SARIF file"):
        load_sarif(tmp_path / "missing.sarif")
    bad = tmp_path / "bad.sarif"
    bad.write_text('{"version": "2.1.0", "runs": [', encoding="utf-8")
    with pytest.raises(InputError, match=r"line 1 column \d+: not valid JSON"):
        load_sarif(bad)
    binary = tmp_path / "binary.sarif"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not UTF-8"):
        load_sarif(binary)
    listing = write(tmp_path, [1, 2], "list.sarif")
    with pytest.raises(InputError, match="top level is not a JSON object"):
        load_sarif(listing)


def test_result_kinds_that_are_not_problems_are_skipped(tmp_path: Path) -> None:
    document = _minimal()
    passed = dict(document["runs"][0]["results"][0], kind="pass")
    document["runs"][0]["results"].append(passed)
    assert len(load_sarif(write(tmp_path, document))[0].findings) == 1


def test_level_only_scanner_and_sarif_default_level(tmp_path: Path) -> None:
    rules = [{"id": "RULE-1"}, {"id": "RULE-2", "defaultConfiguration": {"level": "error"}}]
    results = [
        {"ruleId": "RULE-1", "message": {"text": "something"}},
        {"ruleId": "RULE-2", "ruleIndex": 1, "message": {"text": "else"}},
        {"ruleId": "RULE-1", "level": "note", "message": {"text": "third"}},
    ]
    findings = load_sarif(write(tmp_path, sarif_log(rules, results)))[0].findings
    assert [(f.label, f.label_origin) for f in findings] == [("medium", "default"), ("high", "level"), ("low", "level")]
    assert all(f.kind == "other" and f.score is None for f in findings)


# ---------------------------------------------------------------- fast validation == jsonschema

_values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 120, allow_nan=False), st.text(max_size=4)
)
_message = st.dictionaries(st.sampled_from(["text", "id", "markdown", "arguments", "extra"]), _values, max_size=3)
_region = st.dictionaries(
    st.sampled_from(["startLine", "endLine", "charOffset", "byteLength", "snippet", "sourceLanguage"]),
    _values,
    max_size=3,
)
_physical = st.fixed_dictionaries(
    {},
    optional={
        "artifactLocation": st.dictionaries(st.sampled_from(["uri", "index", "uriBaseId", "x"]), _values, max_size=2),
        "region": _region,
        "address": st.just({"absoluteAddress": 1}),
    },
)
_location = st.fixed_dictionaries(
    {},
    optional={
        "physicalLocation": _physical,
        "logicalLocations": st.lists(
            st.dictionaries(st.sampled_from(["name", "index"]), _values, max_size=2), max_size=2
        ),
        "id": _values,
        "annotations": st.just([]),
    },
)
_result = st.fixed_dictionaries(
    {},
    optional={
        "ruleId": _values,
        "ruleIndex": _values,
        "level": st.one_of(st.sampled_from(["error", "warning", "note", "none", "fatal"]), _values),
        "kind": st.one_of(st.sampled_from(["fail", "pass", "open"]), _values),
        "message": st.one_of(_message, _values),
        "locations": st.one_of(st.lists(_location, max_size=2), _values),
        "partialFingerprints": st.dictionaries(st.text(max_size=3), _values, max_size=2),
        "properties": st.one_of(
            st.just({"tags": ["a", "a"]}),
            st.just({"tags": ["a", "b"]}),
            st.dictionaries(st.text(max_size=3), _values, max_size=2),
        ),
        "rank": _values,
        "codeFlows": st.just([]),
    },
)
_rule = st.fixed_dictionaries(
    {},
    optional={
        "id": _values,
        "name": _values,
        "shortDescription": st.one_of(_message, _values),
        "help": st.one_of(_message, _values),
        "defaultConfiguration": st.dictionaries(st.sampled_from(["level", "enabled", "rank"]), _values, max_size=2),
        "properties": st.dictionaries(st.sampled_from(["tags", "security-severity"]), _values, max_size=2),
        "deprecatedIds": st.just(["x"]),
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(results=st.lists(_result, max_size=3), rules=st.lists(_rule, max_size=3))
def test_fast_validation_agrees_with_jsonschema(results: list[dict[str, Any]], rules: list[dict[str, Any]]) -> None:
    document = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x", "rules": rules}}, "results": results}]}
    schema = json.loads(sarif_schema.SCHEMA_PATH.read_text(encoding="utf-8"))
    reference_ok = jsonschema.Draft4Validator(schema).is_valid(document)
    try:
        sarif_schema.validate(document)
        fast_ok = True
    except sarif_schema.SchemaViolation:
        fast_ok = False
    assert fast_ok == reference_ok


_KEY_VALUE = re.compile(r"^([^:\n]{1,40}):[ \t]*(.*?)[ \t\r]*$", re.MULTILINE)


def _lines_reference(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, value in _KEY_VALUE.findall(text):
        fields.setdefault(key.strip().lower(), value)
    return fields


@settings(max_examples=500, deadline=None)
@given(
    text=st.lists(
        st.text(st.sampled_from(list("ab:K \t\r\n\x0b\u2028é")), max_size=12) | st.just("x" * 40 + ": y"),
        max_size=6,
    ).map("".join)
)
def test_message_key_value_lines_as_the_reference_expression_reads_them(text: str) -> None:
    assert _lines(text) == _lines_reference(text)


# ---------------------------------------------------------------- fuzz: only our errors escape

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(document=_json)
def test_fuzz_arbitrary_json_raises_only_gate_errors(document: Any) -> None:
    with contextlib.suppress(GateError):
        parse_sarif(document, "fuzz.sarif")


@settings(max_examples=300, deadline=None)
@given(
    results=st.lists(st.one_of(_result, st.builds(lambda: trivy_result(0, "CVE-2024-0001", "HIGH", "z"))), max_size=3),
    rules=st.lists(_rule, max_size=2),
    props=_json,
)
def test_fuzz_sarif_shaped_documents_raise_only_gate_errors(
    results: list[dict[str, Any]], rules: list[dict[str, Any]], props: Any
) -> None:
    document = {
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "x", "rules": rules}}, "results": results, "properties": props}],
    }
    for validate in (True, False):
        with contextlib.suppress(GateError):
            parse_sarif(document, "fuzz.sarif", validate=validate)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_fuzz_bytes_raise_only_gate_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.sarif"
    path.write_bytes(data)
    with contextlib.suppress(GateError):
        load_sarif(path)


@pytest.mark.parametrize("edge", ["big integer", "big integer, NaN, lone surrogate, BOM"])
def test_json_the_fast_parser_refuses_is_read_as_the_standard_library_reads_it(tmp_path: Path, edge: str) -> None:
    document = _minimal()
    document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 10**30
    data = json.dumps(document).encode("utf-8")
    if "NaN" in edge:
        document["runs"][0]["results"][0]["message"]["text"] += "\nNote: \ud800"
        text = json.dumps(document).replace('"properties": {', '"properties": {"score": NaN, ', 1)
        data = b"\xef\xbb\xbf" + text.encode("utf-8")
    path = tmp_path / "edge.sarif"
    path.write_bytes(data)
    (finding,) = load_sarif(path)[0].findings
    assert finding.line == 10**30  # an integer beyond 64 bits stays a (valid) integer
    assert finding.package == "zlib"


def test_deeply_nested_json_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.sarif"
    path.write_text("[" * 100000 + "]" * 100000, encoding="utf-8")
    with pytest.raises(InputError):
        load_sarif(path)


# ---------------------------------------------------------------- writing


def test_writer_makes_one_run_per_platform_readable_back(tmp_path: Path) -> None:
    scanner_run = _minimal()["runs"][0]
    digest_a, digest_b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    log = build_sarif_log(
        [
            PlatformRun(scanner_run, "registry.test/app:1", "linux/amd64", digest_a),
            PlatformRun(scanner_run, "registry.test/app:1", "linux/arm64/v8", digest_b, {"sbom": True}),
        ],
        repository="registry.test/app",
    )
    assert [r["automationDetails"]["id"] for r in log["runs"]] == [
        "image-gate/registry.test/app/linux/amd64/",
        "image-gate/registry.test/app/linux/arm64/v8/",
    ]
    assert log["runs"][1]["properties"] == {
        "sbom": True,
        "image": "registry.test/app:1",
        "platform": "linux/arm64/v8",
        "digest": digest_b,
    }
    assert log["runs"][0]["tool"]["driver"]["rules"] == scanner_run["tool"]["driver"]["rules"]
    assert "automationDetails" not in scanner_run  # the scanner's run is not modified
    path = write_sarif(tmp_path / "out" / "scan.sarif", log)
    runs = load_sarif(path)
    assert [(r.platform, r.digest, r.image) for r in runs] == [
        ("linux/amd64", digest_a, "registry.test/app:1"),
        ("linux/arm64/v8", digest_b, "registry.test/app:1"),
    ]
    assert runs[1].sbom is True and runs[0].sbom is None
    assert all(f.platform == r.platform for r in runs for f in r.findings)


def test_platform_from_automation_details_alone() -> None:
    run = dict(_minimal()["runs"][0], automationDetails={"id": "containers/app/linux/arm/v7/"})
    assert parse_run(run, source="x").platform == "linux/arm/v7"
    run = dict(_minimal()["runs"][0], automationDetails={"id": "just-a-category/"})
    assert parse_run(run, source="x").platform is None


def test_writer_refuses_an_invalid_log(tmp_path: Path) -> None:
    bad = dict(_minimal()["runs"][0])
    bad["results"] = [{"ruleId": "x"}]  # no message
    log = build_sarif_log([PlatformRun(bad, "i", "linux/amd64", "sha256:" + "c" * 64)], repository="i")
    with pytest.raises(InputError, match=r"results\[0\]"):
        write_sarif(tmp_path / "x.sarif", log)


def test_writer_names_the_root_image_and_digest_beside_the_platform_digest(tmp_path: Path) -> None:
    scanner_run = _minimal()["runs"][0]
    root, platform = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    pinned = f"registry.test/app:1@{root}"
    log = build_sarif_log(
        [PlatformRun(scanner_run, pinned, "linux/amd64", platform, image_name=pinned, image_digest=root)],
        repository="registry.test/app",
    )
    properties = log["runs"][0]["properties"]
    assert properties["imageName"] == pinned and properties["imageDigest"] == root and properties["digest"] == platform
    [run] = load_sarif(write_sarif(tmp_path / "scan.sarif", log))
    assert (run.digest, run.image_digest) == (platform, root)
    # without them (an older log, another scanner) the run names no root digest
    assert parse_run(_minimal()["runs"][0], source="x").image_digest is None


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"imageDigest": "sha256:" + "c" * 64, "repoDigests": ["a@sha256:" + "d" * 64]}, "sha256:" + "c" * 64),
        ({"repoDigests": ["a/b@sha256:" + "d" * 64, "c/d@sha256:" + "d" * 64]}, "sha256:" + "d" * 64),
        ({"repoDigests": ["a/b@sha256:" + "d" * 64, "a/b@sha256:" + "e" * 64]}, None),
        ({"repoDigests": []}, None),
        ({"repoDigests": "a@sha256:" + "d" * 64}, None),
        ({"imageDigest": "sha256:short"}, None),
    ],
)
def test_the_root_digest_is_read_only_when_unambiguous(properties: dict[str, Any], expected: str | None) -> None:
    run = dict(_minimal()["runs"][0], properties=properties)
    assert parse_run(run, source="x").image_digest == expected
