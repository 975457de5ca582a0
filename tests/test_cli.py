"""The CLI edge: exit codes, --json on stdout only, human text on stderr, secrets never printed.

A tiny fake command module is registered only inside these tests (``fake_command``), so
the CLI is tested without depending on any real command's state.
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import gate.commands
from gate import __version__, cli
from gate.commands import available, load
from gate.config import ActionInputs, build_config
from gate.errors import InputError, RuntimeFailure
from gate.outcome import Annotation, Context, Outcome

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cr3t-Pa55"

SCHEMA = {
    "type": "object",
    "properties": {
        "mode": {"enum": ["ok", "policy", "input", "runtime", "bug", "log"]},
        "password": {"type": "string"},
        "items": {"type": "array", "items": {"type": "string"}},
        "flag": {"type": "boolean"},
        "count": {"type": "integer", "minimum": 1},
        "args": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": ["mode"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class FakeConfig:
    mode: str
    password: str = ""
    items: tuple[str, ...] = ()
    flag: bool = False
    count: int = 1
    args: dict[str, str] | None = None

    def secrets(self) -> tuple[str, ...]:
        return (self.password,) if self.password else ()


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mode")
    parser.add_argument("--password", default="")
    parser.add_argument("--item", dest="items", action="append", default=[])


def _from_args(namespace: argparse.Namespace) -> FakeConfig:
    values = {"mode": namespace.mode, "password": namespace.password, "items": namespace.items}
    return build_config(FakeConfig, SCHEMA, values, "command line")


def _from_inputs(inputs: ActionInputs) -> FakeConfig:
    values = {
        "mode": inputs.get("mode"),
        "password": inputs.get("registry_password"),
        "items": inputs.list("items"),
        "flag": inputs.bool("flag"),
        "count": inputs.int("count"),
        "args": inputs.assignments("build_args"),
    }
    return build_config(FakeConfig, SCHEMA, values, "action inputs")


def _run(config: FakeConfig, context: Context) -> Outcome:
    context.log(f"running {config.mode}")
    if config.mode == "input":
        raise InputError(f"bad input file.txt:3 (password {config.password})")
    if config.mode == "runtime":
        raise RuntimeFailure("registry 127.0.0.1:1 unreachable", hint="is it running?")
    if config.mode == "bug":
        raise ZeroDivisionError(f"boom {config.password}")
    if config.mode == "log":
        context.mask("found-at-runtime")
        context.log("token found-at-runtime and ::error::injected")
    document = {"mode": config.mode, "items": list(config.items), "echo": config.password, "args": config.args}
    return Outcome(
        exit_code=1 if config.mode == "policy" else 0,
        document=document,
        outputs={"result": json.dumps(document, separators=(",", ":")), "secret_echo": config.password},
        summary=f"### fake {config.mode}\n",
        messages=("fake done", f"password was {config.password}"),
        annotations=(Annotation("warning", "look here", file="a/Dockerfile", line=2, title="fake"),),
    )


def make_fake_module() -> types.ModuleType:
    module = types.ModuleType("gate.commands.fake")
    module.NAME = "fake"  # type: ignore[attr-defined]
    module.HELP = "a fake command for the tests"  # type: ignore[attr-defined]
    module.add_arguments = _add_arguments  # type: ignore[attr-defined]
    module.config_from_args = _from_args  # type: ignore[attr-defined]
    module.config_from_inputs = _from_inputs  # type: ignore[attr-defined]
    module.run = _run  # type: ignore[attr-defined]
    return module


@pytest.fixture
def fake_command(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """Only the fake command is known while the test runs."""
    module = make_fake_module()
    monkeypatch.setattr(gate.commands, "COMMANDS", ("fake",))
    monkeypatch.setitem(sys.modules, "gate.commands.fake", module)
    yield module


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No runner variables, whether or not the tests themselves run in Actions."""
    for name in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("fake_command", "clean_env")
class TestExitCodes:
    def test_ok_json_on_stdout_only(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run_cli(capsys, "fake", "ok", "--item", "a", "--item", "b", "--json")
        assert code == 0
        assert json.loads(out) == {"mode": "ok", "items": ["a", "b"], "echo": "", "args": None}
        assert "fake done" in err and "running ok" in err
        assert "warning: a/Dockerfile:2: fake: look here" in err
        assert '"mode"' not in err

    def test_no_json_means_empty_stdout(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run_cli(capsys, "fake", "ok")
        assert (code, out) == (0, "")
        assert "fake done" in err

    def test_policy_failure_is_1(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, _ = run_cli(capsys, "fake", "policy", "--json")
        assert code == 1
        assert json.loads(out)["mode"] == "policy"

    def test_input_error_is_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run_cli(capsys, "fake", "input", "--json")
        assert code == 2
        assert "error: image-gate fake: bad input file.txt:3" in err
        assert json.loads(out) == {
            "error": {"command": "fake", "exit_code": 2, "message": "bad input file.txt:3 (password )"}
        }

    def test_schema_violation_is_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run_cli(capsys, "fake", "nonsense")
        assert code == 2 and out == ""
        assert "invalid command line: mode:" in err

    def test_runtime_failure_is_3_with_hint(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run_cli(capsys, "fake", "runtime")
        assert code == 3 and out == ""
        assert "registry 127.0.0.1:1 unreachable" in err and "hint: is it running?" in err

    def test_internal_error_is_3_and_never_prints_the_secret(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run_cli(capsys, "fake", "bug", "--password", SECRET, "--json")
        assert code == 3
        assert "internal error in image-gate fake" in err
        assert "ZeroDivisionError: boom ***" in err
        assert SECRET not in err and SECRET not in out
        assert json.loads(out)["error"]["exit_code"] == 3

    def test_the_secret_is_redacted_everywhere(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run_cli(capsys, "fake", "ok", "--password", SECRET, "--json")
        assert code == 0
        assert SECRET not in out and SECRET not in err
        assert json.loads(out)["echo"] == "***"
        assert "password was ***" in err

    def test_usage_errors_are_2(self, capsys: pytest.CaptureFixture[str]) -> None:
        for argv in ([], ["nope"], ["fake"], ["fake", "ok", "--unknown"]):
            with pytest.raises(SystemExit) as info:
                cli.main(argv)
            assert info.value.code == 2, argv
        assert "usage:" in capsys.readouterr().err

    def test_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as info:
            cli.main(["--version"])
        assert info.value.code == 0
        assert __version__ in capsys.readouterr().out


@pytest.mark.usefixtures("fake_command")
def test_in_actions_masks_first_and_writes_runner_files(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    output, summary = tmp_path / "output", tmp_path / "summary"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = run_cli(capsys, "fake", "log", "--password", SECRET)
    assert code == 0 and out == ""
    lines = err.splitlines()
    assert lines[0] == f"::add-mask::{SECRET}"
    assert "::add-mask::found-at-runtime" in lines
    assert "token *** and ::error::injected" in lines
    assert "::warning title=fake,file=a/Dockerfile,line=2::look here" in lines
    assert SECRET not in "\n".join(lines[1:])
    written = output.read_text(encoding="utf-8")
    assert "result<<ghadelimiter_" in written and SECRET not in written
    assert summary.read_text(encoding="utf-8") == "### fake log\n\n"


@pytest.mark.usefixtures("fake_command", "clean_env")
def test_keyboard_interrupt(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(config: FakeConfig, context: Context) -> Outcome:
        raise KeyboardInterrupt

    monkeypatch.setattr(sys.modules["gate.commands.fake"], "run", interrupted)
    code, _, err = run_cli(capsys, "fake", "ok")
    assert code == 130 and "interrupted" in err


@pytest.mark.usefixtures("clean_env")
def test_a_broken_command_module_is_an_internal_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = types.ModuleType("gate.commands.broken")  # no add_arguments: a bug in the module
    broken.NAME = "broken"  # type: ignore[attr-defined]
    broken.HELP = "broken"  # type: ignore[attr-defined]
    monkeypatch.setattr(gate.commands, "COMMANDS", ("broken",))
    monkeypatch.setitem(sys.modules, "gate.commands.broken", broken)
    code, _, err = run_cli(capsys, "broken")
    assert code == 3 and "internal error" in err


def test_load_and_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate.commands, "COMMANDS", ("fake", "absent"))
    monkeypatch.setitem(sys.modules, "gate.commands.fake", make_fake_module())
    assert available() == ["fake"]
    assert load("fake").NAME == "fake"
    with pytest.raises(InputError, match="not available"):
        load("absent")
    with pytest.raises(InputError, match="unknown command 'other'"):
        load("other")


def test_python_dash_m_gate_as_a_process() -> None:
    version = subprocess.run([sys.executable, "-m", "gate", "--version"], cwd=ROOT, capture_output=True, text=True)
    assert version.returncode == 0 and __version__ in version.stdout
    usage = subprocess.run([sys.executable, "-m", "gate"], cwd=ROOT, capture_output=True, text=True)
    assert usage.returncode == 2 and "usage:" in usage.stderr and usage.stdout == ""


def _command_modules_imported(argv: list[str]) -> list[str]:
    """The ``gate.commands.*`` modules a fresh interpreter has imported after ``main(argv)`` (output hidden)."""
    script = (
        "import contextlib, io, sys\nfrom gate.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main({argv!r})\n"
        "    except SystemExit:\n        pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('gate.commands.')))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return list(ast.literal_eval(done.stdout.splitlines()[-1]))


def test_a_named_command_imports_only_its_own_module() -> None:
    """Start-up time: ``python -m gate mirror ...`` must not import the other commands' modules."""
    assert _command_modules_imported(["discover", "--help"]) == ["gate.commands.discover"]


def test_the_top_level_help_imports_no_command_module() -> None:
    """``python -m gate --help`` lists every command by its summary, without importing any command module."""
    assert _command_modules_imported(["--help"]) == []


def test_the_summaries_parser_says_what_the_full_one_says() -> None:
    """Help and usage of the parser without the commands' options are those of the full parser, and each
    command's summary is its module's ``HELP``."""
    full, summaries = cli.build_parser(), cli.build_parser(summaries_only=True)
    assert summaries.format_help() == full.format_help()
    assert summaries.format_usage() == full.format_usage()
    for name in available():
        assert gate.commands.summary(name) == load(name).HELP, name


# What ``--help`` must not import: the network and crypto libraries, the schema validator and YAML, and the
# stages that pull them in. The options read their defaults and choices from dependency-free modules
# (gate.scan.defaults, gate.policy.severity, gate.promote.report_format); the stages are imported when they run.
HEAVY = (
    "cryptography", "jsonschema", "yaml", "github", "requests", "urllib3", "sigstore", "orjson", "packageurl",
    "univers", "cvss", "ssl", "http.client", "gate.config", "gate.attest", "gate.github", "gate.oci.http",
    "gate.policy.verdict", "gate.policy.sarif", "gate.promote.referrer", "gate.scan.stage", "gate.scan.layers",
    "gate.scanners.trivy",
)  # fmt: skip


@pytest.mark.parametrize("name", [*available(), None], ids=lambda name: name or "top-level")
def test_help_imports_no_heavy_module(name: str | None) -> None:
    """Start-up: ``python -m gate [COMMAND] --help`` loads none of ``HEAVY`` (or any of their submodules)."""
    arguments = [name, "--help"] if name else ["--help"]
    script = (
        "import contextlib, io, sys\nfrom gate.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main({arguments!r})\n"
        "    except SystemExit:\n        pass\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted(m for m in sys.modules if any(m == h or m.startswith(h + '.') for h in heavy)))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"


@pytest.mark.usefixtures("fake_command", "clean_env")
class TestJsonOutput:
    def test_the_document_goes_to_the_file_as_well_as_stdout(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        target = tmp_path / "reports" / "deep" / "fake.json"  # parent directories are created
        code, out, _ = run_cli(
            capsys, "fake", "ok", "--item", "a", "--password", SECRET, "--json", "--json-output", str(target)
        )
        assert code == 0
        written = target.read_text(encoding="utf-8")
        assert written == out  # the same redacted document
        assert json.loads(written) == {"mode": "ok", "items": ["a"], "echo": "***", "args": None}
        assert SECRET not in written
        assert target.stat().st_mode & 0o777 == 0o644  # later steps (another user) can read it
        assert [p.name for p in target.parent.iterdir()] == ["fake.json"]  # no temporary file left

    def test_without_json_only_the_file(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        target = tmp_path / "fake.json"
        target.write_text("stale")
        code, out, _ = run_cli(capsys, "fake", "policy", "--json-output", str(target))
        assert (code, out) == (1, "")
        assert json.loads(target.read_text())["mode"] == "policy"

    def test_a_failure_writes_the_error_document(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        target = tmp_path / "fake.json"
        target.write_text('{"verdict": "pass", "digest": "sha256:stale"}')  # a stale verdict must not survive
        code, _, _ = run_cli(capsys, "fake", "runtime", "--json-output", str(target))
        assert code == 3
        assert json.loads(target.read_text())["error"]["exit_code"] == 3

    def test_a_symlink_is_replaced_not_followed(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        elsewhere = tmp_path / "elsewhere.txt"
        elsewhere.write_text("keep me")
        link = tmp_path / "fake.json"
        link.symlink_to(elsewhere)
        code, _, _ = run_cli(capsys, "fake", "ok", "--json-output", str(link))
        assert code == 0
        assert not link.is_symlink() and json.loads(link.read_text())["mode"] == "ok"
        assert elsewhere.read_text() == "keep me"

    def test_a_directory_is_bad_input_before_the_command_runs(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        code, out, err = run_cli(capsys, "fake", "log", "--json", "--json-output", str(tmp_path))
        assert code == 2 and "is a directory; name a file" in err
        assert "running log" not in err  # nothing ran
        assert json.loads(out)["error"]["exit_code"] == 2

    def test_an_unwritable_file_fails_a_successful_command(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        blocker = tmp_path / "file"
        blocker.write_text("")
        code, out, err = run_cli(capsys, "fake", "ok", "--json", "--json-output", str(blocker / "x.json"))
        assert code == 2 and "cannot write the JSON document" in err
        assert json.loads(out)["mode"] == "ok"  # stdout still has the document
        code, _, _ = run_cli(capsys, "fake", "policy", "--json-output", str(blocker / "x.json"))
        assert code == 1  # a failed verdict keeps its exit code

    def test_in_actions_the_json_file_output_names_it(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        output = tmp_path / "output"
        monkeypatch.setenv("GITHUB_OUTPUT", str(output))
        monkeypatch.chdir(tmp_path)
        code, _, _ = run_cli(capsys, "fake", "ok", "--json-output", "out/fake.json")
        assert code == 0 and json.loads((tmp_path / "out" / "fake.json").read_text())["mode"] == "ok"
        assert "json_file<<" in output.read_text() and "\nout/fake.json\n" in output.read_text()


def test_every_command_has_json_output() -> None:
    for name in available():
        help_text = subprocess.run(
            [sys.executable, "-m", "gate", name, "--help"], cwd=ROOT, capture_output=True, text=True
        ).stdout
        assert "--json-output FILE" in help_text, name
