"""The gate stage's entry: SARIF files in, a frozen verdict on the image they cover out, nothing printed."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from gate.errors import InputError
from gate.policy.stage import GateRequest, SarifVerdict, gate_sarif_files
from gate.policy.verdict import GateOptions
from tests.policy.sarif_samples import sarif_log, trivy_result, trivy_rule, write

DIGEST = "sha256:" + "d" * 64
OTHER = "sha256:" + "e" * 64


def _sarif(tmp_path: Path, name: str, severity: str = "CRITICAL", score: str = "9.8", **properties: Any) -> str:
    log = sarif_log(
        [trivy_rule("CVE-2024-0001", severity, score)],
        [trivy_result(0, "CVE-2024-0001", severity, "openssl")],
        properties={"platform": "linux/amd64", **properties},
    )
    return str(write(tmp_path, log, name))


def test_the_verdict_names_the_image_every_run_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = (
        _sarif(tmp_path, "a.sarif", imageName=f"registry.test/app:1@{DIGEST}", imageDigest=DIGEST),
        _sarif(tmp_path, "b.sarif", "LOW", "2.0", imageName=f"registry.test/app:1@{DIGEST}", imageDigest=DIGEST),
    )
    lines: list[str] = []
    verdict = gate_sarif_files(GateRequest(files, GateOptions(severity_threshold="high")), log=lines.append)
    assert isinstance(verdict, SarifVerdict) and dataclasses.is_dataclass(verdict)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.digest = OTHER  # type: ignore[misc]
    assert (verdict.image, verdict.digest, verdict.scanner) == ("registry.test/app:1", DIGEST, ("Trivy", "0.50.0"))
    assert verdict.result.verdict == "fail" and len(verdict.runs) == 2
    document = verdict.to_json()
    assert list(document)[-4:] == ["image", "digest", "method", "scanner"]
    assert document["method"] == "sarif" and document["scanner"] == {"name": "Trivy", "version": "0.50.0"}
    assert document["verdict"] == "fail" and document["counts"]["critical"] == 1 and document["counts"]["low"] == 1
    assert lines == [f"evaluate: {files[0]}: 1 run(s), 1 finding(s)", f"evaluate: {files[1]}: 1 run(s), 1 finding(s)"]
    assert capsys.readouterr() == ("", "")


def test_without_one_root_digest_the_verdict_names_no_image(tmp_path: Path) -> None:
    files = (_sarif(tmp_path, "a.sarif", imageDigest=DIGEST), _sarif(tmp_path, "b.sarif", imageDigest=OTHER))
    verdict = gate_sarif_files(GateRequest(files))
    assert (verdict.image, verdict.digest) == (None, None)


def test_a_given_image_names_it_and_must_agree_with_the_sarif(tmp_path: Path) -> None:
    plain = _sarif(tmp_path, "plain.sarif")
    given = gate_sarif_files(GateRequest((plain,), image=f"registry.test/app:2@{DIGEST}"))
    assert (given.image, given.digest) == ("registry.test/app:2", DIGEST)
    named = _sarif(tmp_path, "named.sarif", imageDigest=OTHER)
    with pytest.raises(InputError, match="contradict"):
        gate_sarif_files(GateRequest((named,), image=f"registry.test/app:2@{DIGEST}"))
    with pytest.raises(InputError, match="not pinned"):
        gate_sarif_files(GateRequest((plain,), image="registry.test/app:2"))


def test_vex_files_are_read_unless_vex_is_off(tmp_path: Path) -> None:
    missing = str(tmp_path / "absent.vex.json")
    with pytest.raises(InputError):
        gate_sarif_files(GateRequest((_sarif(tmp_path, "a.sarif"),), vex_files=(missing,)))
    # --no-vex with --vex files contradict each other: neither is dropped silently.
    with pytest.raises(InputError, match=r"--no-vex \(input vex: false\) and --vex \(input vex_files: .*absent"):
        gate_sarif_files(GateRequest((_sarif(tmp_path, "a.sarif"),), vex_files=(missing,), use_vex=False))
    verdict = gate_sarif_files(GateRequest((_sarif(tmp_path, "a.sarif"),), use_vex=False))
    assert verdict.result.verdict == "fail"


def _empty_run(tmp_path: Path, name: str, **properties: Any) -> str:
    log = sarif_log([], [], **({"properties": properties} if properties else {}))
    return str(write(tmp_path, log, name))


@pytest.mark.parametrize(
    "case", ["no-runs", "a-run-naming-nothing", "two-runs-naming-nothing", "no-runs-with-image"]
)
def test_sarif_that_evaluates_nothing_is_bad_input_unless_allowed(tmp_path: Path, case: str) -> None:
    if case.startswith("no-runs"):
        files: tuple[str, ...] = (str(write(tmp_path, {"version": "2.1.0", "runs": []}, "empty.sarif")),)
    elif case == "a-run-naming-nothing":
        files = (_empty_run(tmp_path, "grype.sarif"),)
    else:
        files = (_empty_run(tmp_path, "a.sarif"), _empty_run(tmp_path, "b.sarif", platform="linux/amd64"))
    image = f"registry.test/app:1@{DIGEST}" if case.endswith("with-image") else ""
    with pytest.raises(InputError, match="nothing was evaluated") as refused:
        gate_sarif_files(GateRequest(files, image=image))
    assert refused.value.exit_code == 2
    assert files[0] in refused.value.message and "--allow-empty" in (refused.value.hint or "")
    allowed = gate_sarif_files(GateRequest(files, image=image, allow_empty=True))
    assert allowed.result.verdict == "pass"


@pytest.mark.parametrize(
    "properties",
    [{"imageName": f"registry.test/app:1@{DIGEST}"}, {"imageDigest": DIGEST}, {"digest": OTHER}],
)
def test_a_clean_run_that_names_its_image_was_evaluated(tmp_path: Path, properties: dict[str, str]) -> None:
    verdict = gate_sarif_files(GateRequest((_empty_run(tmp_path, "clean.sarif", **properties),)))
    assert verdict.result.verdict == "pass" and len(verdict.runs) == 1


def test_a_run_with_results_was_evaluated_even_naming_no_image(tmp_path: Path) -> None:
    files = (_sarif(tmp_path, "a.sarif", "LOW", "2.0"), _empty_run(tmp_path, "b.sarif"))
    assert gate_sarif_files(GateRequest(files)).result.verdict == "pass"
