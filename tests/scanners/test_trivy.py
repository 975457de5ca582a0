from __future__ import annotations

import json
import os
import signal
import stat
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from gate.errors import InputError, RuntimeFailure
from gate.scanners.base import ScanRequest
from gate.scanners.trivy import NO_DATABASE_HINT, QUIET, TrivyOptions, TrivyScanner, parse_sarif_run
from tests.support.registries import require_tool
from tests.support.trivy_db import REAL_WORLD_FINDINGS, build_trivy_db, pinned_trivy_version

REAL_WORLD = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "real-world"

SARIF = {
    "version": "2.1.0",
    "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
    "runs": [{"tool": {"driver": {"name": "Trivy", "version": "0.58.1", "rules": []}}, "results": []}],
}

# A stand-in for the trivy CLI: it records its arguments and behaves as FAKE_TRIVY_MODE says.
FAKE = r"""#!{python}
import json, os, subprocess, sys, time
here = os.path.dirname(os.path.abspath(__file__))
mode = open(os.path.join(here, "mode")).read().strip()
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\n")
if sys.argv[1:] == ["--version"]:
    if mode == "no-version":
        print("trivy something")
    else:
        print("Version: 0.58.1\nVulnerability DB:\n  Version: 2")
    sys.exit(0)
if mode == "ok":
    sys.stdout.write(open(os.path.join(here, "sarif.json")).read())
elif mode == "env":
    json.dump(dict(os.environ), open(os.path.join(here, "env.json"), "w"))
    sys.stdout.write(open(os.path.join(here, "sarif.json")).read())
elif mode == "flood":
    block = b"x" * 65536
    while True:
        sys.stdout.buffer.write(block)
elif mode == "no-db":
    sys.stderr.write("FATAL\tFatal error\trun error: init error: DB error: failed to download vulnerability DB: "
                     "OCI repository error: dial tcp: lookup mirror.gcr.io: no such host\n")
    sys.exit(1)
elif mode == "no-db-skip":
    sys.stderr.write("FATAL\tFatal error\trun error: init error: DB error: database error: "
                     "--skip-db-update cannot be specified on the first run\n")
    sys.exit(1)
elif mode == "inventory":
    output = sys.argv[sys.argv.index("--output") + 1]
    json.dump({"cwd": os.getcwd()}, open(os.path.join(here, "inventory.json"), "w"))
    open(output, "w").write('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}')
elif mode == "fail":
    sys.stderr.write("\x1b[31m2024-01-01T00:00:00Z\tFATAL\x1b[0m\tsbom scan error: failed to decode\n")
    sys.exit(1)
elif mode == "hang":
    sys.stderr.write("downloading DB\n"); sys.stderr.flush()
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # a child holding the pipes
    time.sleep(600)
else:
    sys.stdout.write(mode)
"""


class FakeTrivy:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "trivy"
        self.path.write_text(FAKE.replace("{python}", sys.executable))
        self.path.chmod(0o755)
        self.mode("ok")
        self.sarif(SARIF)

    def mode(self, mode: str) -> None:
        (self.directory / "mode").write_text(mode)

    def sarif(self, value: Any) -> None:
        (self.directory / "sarif.json").write_text(json.dumps(value))

    def calls(self) -> list[list[str]]:
        log = self.directory / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeTrivy:
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ.get('PATH', '')}")
    return FakeTrivy(directory)


@pytest.fixture
def request_(tmp_path: Path) -> ScanRequest:
    bom = tmp_path / "sbom.cdx.json"
    bom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}))
    return ScanRequest(bom, "cyclonedx", "registry.example/app@sha256:abc", "linux/amd64", "sha256:abc")


def test_command_line_passes_every_option_as_separate_arguments(tmp_path: Path, request_: ScanRequest) -> None:
    options = TrivyOptions(
        vex=(Path("/v/global.json"),),
        db_repositories=("mirror.example/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2"),
        java_db_repositories=("mirror.example/trivy-java-db:1",),
        skip_db_update=True,
        skip_java_db_update=True,
        offline_scan=True,
        cache_dir=Path("/cache dir"),
    )
    request = ScanRequest(request_.bom_path, "cyclonedx", "i", "p", "d", vex_paths=(Path("/v/own.json"),))
    assert TrivyScanner(options).command(request) == [
        "trivy", "sbom", "--format", "sarif", "--quiet", "--skip-version-check", "--disable-telemetry",
        "--vex", "/v/global.json", "--vex", "/v/own.json",
        "--db-repository", "mirror.example/trivy-db:2", "--db-repository", "ghcr.io/aquasecurity/trivy-db:2",
        "--skip-db-update", "--java-db-repository", "mirror.example/trivy-java-db:1",
        "--skip-java-db-update", "--offline-scan", "--cache-dir", "/cache dir",
        "--", str(request_.bom_path),
    ]  # fmt: skip


def test_scan_runs_trivy_and_returns_its_run(fake: FakeTrivy, request_: ScanRequest, tmp_path: Path) -> None:
    vex = tmp_path / "vex.json"
    vex.write_text("{}")
    scanner = TrivyScanner(TrivyOptions(vex=(vex,), skip_db_update=True))
    result = scanner.scan(request_)
    assert result.run == SARIF["runs"][0]
    assert (result.scanner, result.scanner_version) == ("trivy", "0.58.1")
    assert fake.calls() == [
        ["--version"],
        ["sbom", "--format", "sarif", *QUIET, "--vex", str(vex), "--skip-db-update", "--", str(request_.bom_path)],
    ]
    scanner.scan(request_)
    assert fake.calls().count(["--version"]) == 1  # the version is asked once


def test_non_zero_exit_reports_trivys_stderr_without_colour_codes(fake: FakeTrivy, request_: ScanRequest) -> None:
    fake.mode("fail")
    with pytest.raises(RuntimeFailure) as info:
        TrivyScanner().scan(request_)
    message = info.value.message
    assert "exit status 1" in message and "sbom scan error: failed to decode" in message
    assert "\x1b" not in message and str(request_.bom_path) in message and "linux/amd64" in message


def test_timeout_kills_trivy_and_its_children(fake: FakeTrivy, request_: ScanRequest) -> None:
    fake.mode("hang")
    with pytest.raises(RuntimeFailure) as info:
        TrivyScanner(TrivyOptions(timeout_seconds=1)).scan(request_)
    assert "timed out after 1 s" in info.value.message
    assert "downloading DB" in info.value.message
    assert info.value.hint and "timeout" in info.value.hint


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("not json", "not JSON"),
        ("[]", "no runs list"),
        (json.dumps({"runs": []}), "exactly one SARIF run, got 0"),
        (json.dumps({"runs": [SARIF["runs"][0], SARIF["runs"][0]]}), "exactly one SARIF run, got 2"),
        (json.dumps({"runs": [{"tool": {}}]}), "tool.driver.name"),
        (json.dumps({"runs": [{"tool": {"driver": {"name": "Trivy"}}, "results": {}}]}), "results is not a list"),
    ],
)
def test_bad_sarif_output_is_a_runtime_failure(
    fake: FakeTrivy, request_: ScanRequest, output: str, expected: str
) -> None:
    fake.mode(output)
    with pytest.raises(RuntimeFailure, match=expected):
        TrivyScanner().scan(request_)


def test_missing_trivy_is_a_runtime_failure_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request_: ScanRequest
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RuntimeFailure) as info:
        TrivyScanner().scan(request_)
    assert "not found" in info.value.message
    assert info.value.hint and "install Trivy" in info.value.hint
    with pytest.raises(RuntimeFailure, match="not found"):
        TrivyScanner(TrivyOptions(executable=str(tmp_path / "nope" / "trivy"))).version()


def test_non_executable_trivy(tmp_path: Path, request_: ScanRequest) -> None:
    path = tmp_path / "trivy"
    path.write_text("#!/bin/sh\n")
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    if os.access(path, os.X_OK):
        pytest.skip("running as a user who may execute any file")
    with pytest.raises(RuntimeFailure, match="not executable"):
        TrivyScanner(TrivyOptions(executable=str(path))).scan(request_)


def test_version_without_a_version_line(fake: FakeTrivy) -> None:
    fake.mode("no-version")
    with pytest.raises(RuntimeFailure, match="no 'Version:' line"):
        TrivyScanner().version()


def test_missing_bom_and_vex_files_are_input_errors(fake: FakeTrivy, request_: ScanRequest, tmp_path: Path) -> None:
    missing = ScanRequest(tmp_path / "absent.json", "cyclonedx", "i", "p", "d")
    with pytest.raises(InputError, match=r"absent\.json"):
        TrivyScanner().scan(missing)
    with pytest.raises(InputError, match="VEX file"):
        TrivyScanner(TrivyOptions(vex=(tmp_path / "no-vex.json",))).scan(request_)
    assert fake.calls() == []


def test_parse_sarif_run_accepts_real_trivy_output() -> None:
    path = REAL_WORLD / "trivy-0.69-node-alpine.sarif"
    if not path.is_file():
        pytest.skip(f"real-world fixture {path} is absent")
    data = path.read_bytes()
    run = parse_sarif_run(data, str(path))
    assert run == json.loads(data)["runs"][0]
    assert run["tool"]["driver"]["name"] == "Trivy"


def test_options_from_mapping() -> None:
    options = TrivyOptions.from_mapping(
        {"vex": ["a.json"], "db_repositories": [" mirror/db:2 "], "offline_scan": True, "cache_dir": "/c",
         "timeout_seconds": 30, "executable": None}
    )  # fmt: skip
    assert options == TrivyOptions(
        vex=(Path("a.json"),), db_repositories=("mirror/db:2",), offline_scan=True, cache_dir=Path("/c"),
        timeout_seconds=30,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"colour": True}, "unknown trivy option"),
        ({"offline_scan": "yes"}, "offline_scan"),
        ({"timeout_seconds": 0}, "positive"),
        ({"timeout_seconds": True}, "timeout_seconds"),
        ({"db_repositories": [""]}, "non-empty"),
        ({"db_repositories": "mirror/db"}, "db_repositories"),
        ({"vex": [1]}, "file path"),
    ],
)
def test_bad_options_are_input_errors(options: dict[str, Any], expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        TrivyOptions.from_mapping(options)


@pytest.mark.slow
def test_real_trivy_scans_a_real_sbom(tmp_path: Path) -> None:
    """The real Trivy (installed by `make install`; missing is a failure), offline on the test database."""
    source = REAL_WORLD / "node-alpine-image.cdx.json"
    if not source.is_file():
        pytest.skip(f"real-world fixture {source} is absent")
    bom = tmp_path / "sbom.cdx.json"
    bom.write_bytes(source.read_bytes())
    options = TrivyOptions(
        executable=require_tool("trivy"),
        skip_db_update=True,
        skip_java_db_update=True,
        offline_scan=True,
        cache_dir=build_trivy_db(tmp_path / "trivy"),
    )
    result = TrivyScanner(options).scan(ScanRequest(bom, "cyclonedx", "node-alpine", "linux/amd64", "sha256:0"))
    assert result.run["tool"]["driver"]["name"] == "Trivy"
    assert result.scanner_version == pinned_trivy_version()
    assert {r["ruleId"] for r in result.run["results"]} == {vuln_id for _, _, vuln_id in REAL_WORLD_FINDINGS}
    assert len(result.run["results"]) == len(REAL_WORLD_FINDINGS)


def test_output_over_the_cap_stops_trivy(
    fake: FakeTrivy, request_: ScanRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.mode("flood")  # writes forever: without the cap this fills memory
    scanner = TrivyScanner(TrivyOptions(timeout_seconds=120), max_output=4 * 1024 * 1024)
    with pytest.raises(RuntimeFailure, match=f"output exceeds {4 * 1024 * 1024} bytes; trivy was stopped"):
        scanner.scan(request_)


def test_trivy_runs_without_inputs_or_credentials_in_its_environment(
    fake: FakeTrivy, request_: ScanRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "INPUT_DESTINATION_PASSWORD": "hunter2",
        "INPUT_REGISTRY_AUTH": "{}",
        "GITHUB_TOKEN": "ghs_x",
        "ACTIONS_RUNTIME_TOKEN": "rt",
        "AWS_SECRET_ACCESS_KEY": "aws",
    }
    kept = {
        "HOME": "/home/runner",
        "TRIVY_USERNAME": "reader",
        "TRIVY_DB_REPOSITORY": "mirror.example/db",
        "HTTPS_PROXY": "http://proxy:3128",
        "no_proxy": "localhost",
        "SSL_CERT_FILE": "/etc/ssl/ca.pem",
    }
    for name, value in {**secrets, **kept}.items():
        monkeypatch.setenv(name, value)
    fake.mode("env")
    TrivyScanner().scan(request_)
    environment = json.loads((fake.directory / "env.json").read_text())
    assert not set(secrets) & set(environment)
    assert not any(name.startswith("INPUT_") for name in environment)
    assert {name: environment.get(name) for name in kept} == kept
    assert environment["PATH"] == os.environ["PATH"]


@pytest.mark.parametrize("mode", ["no-db", "no-db-skip"])
def test_no_database_fails_with_a_hint(fake: FakeTrivy, request_: ScanRequest, mode: str) -> None:
    """Without a database Trivy downloads one (or refuses --skip-db-update on the first run): the
    failure says what to pass and how to cache the database, not only Trivy's text."""
    fake.mode(mode)
    with pytest.raises(RuntimeFailure) as info:
        TrivyScanner().scan(request_)
    assert info.value.hint == NO_DATABASE_HINT
    diagnostics = info.value.diagnostics()
    assert "DB error" in diagnostics  # Trivy's own words stay
    for advice in ("--trivy-db-repository", "--download-db-only", "--trivy-cache-dir", "--trivy-skip-db-update",
                   "skip_db_update: true", "--osv-db"):  # fmt: skip
        assert advice in diagnostics


def test_other_failures_have_no_database_hint(fake: FakeTrivy, request_: ScanRequest) -> None:
    fake.mode("fail")
    with pytest.raises(RuntimeFailure) as info:
        TrivyScanner().scan(request_)
    assert info.value.hint is None


def test_inventory_command_needs_no_database_and_keeps_nothing_on_disk(tmp_path: Path) -> None:
    options = TrivyOptions(
        db_repositories=("mirror.example/trivy-db:2",),
        java_db_repositories=("mirror.example/trivy-java-db:1",),
        skip_db_update=True,
        skip_java_db_update=True,
        offline_scan=True,
        cache_dir=Path("/cache dir"),
    )
    assert TrivyScanner(options).inventory_command(Path("/t/image"), Path("/t/sbom.cdx.json")) == [
        "trivy", "image", "--input", "/t/image", "--format", "cyclonedx", "--output", "/t/sbom.cdx.json",
        *QUIET, "--cache-backend", "memory",
        "--java-db-repository", "mirror.example/trivy-java-db:1", "--skip-java-db-update", "--offline-scan",
        "--cache-dir", "/cache dir",
    ]  # fmt: skip


def test_inventory_runs_beside_the_layout_and_needs_its_output(fake: FakeTrivy, tmp_path: Path) -> None:
    """Trivy runs in the layout's parent (a trivy.yaml where image-gate was started is not read)."""
    layout = tmp_path / "private" / "image"
    layout.mkdir(parents=True)
    fake.mode("inventory")
    TrivyScanner().inventory(layout, tmp_path / "private" / "sbom.cdx.json", "inventory")
    assert (tmp_path / "private" / "sbom.cdx.json").is_file()
    assert json.loads((fake.directory / "inventory.json").read_text())["cwd"] == str(layout.parent)
    assert fake.calls()[-1][:3] == ["image", "--input", str(layout)]
    fake.mode("ok")  # exits 0 but writes no SBOM
    with pytest.raises(RuntimeFailure, match="trivy wrote no SBOM"):
        TrivyScanner().inventory(layout, tmp_path / "private" / "other.cdx.json", "inventory")


def test_an_interrupt_stops_trivy_and_its_children(fake: FakeTrivy, request_: ScanRequest) -> None:
    """Ctrl-C while Trivy runs: Trivy (in a session of its own, so the terminal's SIGINT misses it) is killed."""
    fake.mode("hang")
    timer = threading.Timer(1.0, lambda: signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            TrivyScanner(TrivyOptions(timeout_seconds=120)).scan(request_)
    finally:
        timer.cancel()
    for pid in _fake_trivy_processes(fake):
        pytest.fail(f"process {pid} of the fake trivy still runs")


def _fake_trivy_processes(fake: FakeTrivy) -> list[int]:
    """Processes started from the fake's directory that are still alive (zombies aside)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if (str(fake.path).encode() in command or b"time.sleep(600)" in command) and state != "Z":
            alive.append(int(entry.name))
    return alive
