"""The workflows a user copies (examples/) and our own (.github/workflows/) are valid, pinned and consistent.

- valid: each validates against SchemaStore's GitHub workflow schema (vendored in tests/data/schemas);
- pinned: every ``uses:`` is a full 40-hex commit SHA with a ``# vX.Y.Z`` comment, a local ``./`` path,
  or ``docker://...@sha256:``; one action is pinned to one commit everywhere;
- consistent with action.yml: every ``with:`` key given to image-gate is a declared input, and every
  output read from an image-gate step (``steps.<id>.outputs.<name>``, directly or through job outputs,
  ``needs.<job>.outputs.<name>`` and reusable-workflow outputs) is a declared output;
- least privilege: a workflow grants nothing at the top (``permissions: {}`` or read-only), jobs ask
  for what they use, and no ``run:`` script expands ``${{ }}`` (secrets and untrusted text go through env).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "data" / "schemas" / "github-workflow.json"
EXAMPLES = ROOT / "examples"
OWN_WORKFLOWS = ROOT / ".github" / "workflows"

# Our action as the examples reference it: a placeholder owner and an all-zero SHA that fails to
# resolve until the user replaces it with a reviewed release (each file explains this at the top).
OUR_PLACEHOLDER = "your-org/image-gate@" + "0" * 40
SHA_PIN = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[^@\s]+)?@[0-9a-f]{40}")
DOCKER_PIN = re.compile(r"docker://[^@\s]+@sha256:[0-9a-f]{64}")
VERSION_COMMENT = re.compile(r"#\s*v\d+\.\d+\.\d+\b")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*[\"']?([^\s\"'#]+)[\"']?\s*(#.*)?$")
STEP_OUTPUT = re.compile(r"\bsteps\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)")
NEEDS_OUTPUT = re.compile(r"\bneeds\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)")
JOBS_OUTPUT = re.compile(r"\bjobs\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)")


class _WorkflowLoader(yaml.SafeLoader):
    """YAML as GitHub reads it: only true/false are booleans, so the key ``on`` stays a string."""


_WorkflowLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_WorkflowLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_workflow(path: Path) -> dict[str, Any]:
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_WorkflowLoader)
    assert isinstance(document, dict), f"{path}: not a mapping"
    return document


def workflow_files() -> list[Path]:
    files = sorted(EXAMPLES.glob("*.yml")) + sorted(OWN_WORKFLOWS.glob("*.yml"))
    return [f for f in files if f.is_file()]


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


WORKFLOWS = workflow_files()
IDS = [rel(p) for p in WORKFLOWS]


def action() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def is_ours(uses: str) -> bool:
    return uses == "./" or uses.startswith("your-org/image-gate@")


@dataclass(frozen=True)
class Step:
    job: str
    index: int
    body: dict[str, Any]

    @property
    def where(self) -> str:
        return f"jobs.{self.job}.steps[{self.index}]" + (f" (id {self.body['id']})" if "id" in self.body else "")


def steps(workflow: dict[str, Any]) -> Iterator[Step]:
    for job_name, job in (workflow.get("jobs") or {}).items():
        for index, body in enumerate(job.get("steps") or []):
            yield Step(job_name, index, body)


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


# --- the files exist -----------------------------------------------------------------------------------

EXPECTED_EXAMPLES = {
    "base-image-scan.yml",
    "mirror-to-quarantine.yml",
    "scan-and-promote.yml",
    "pipeline.yml",
    "reusable-pipeline.yml",
    "refresh-base-images.yml",
    "promotion-override.yml",
    "mirror-all-tags.yml",
}


def test_the_five_examples_and_our_workflows_exist() -> None:
    assert {p.name for p in EXAMPLES.glob("*.yml")} >= EXPECTED_EXAMPLES
    assert (OWN_WORKFLOWS / "ci.yml").is_file()
    assert (OWN_WORKFLOWS / "release.yml").is_file()


def test_examples_readme_lists_every_example() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for path in EXAMPLES.glob("*.yml"):
        assert f"({path.name})" in readme, f"examples/README.md does not link {path.name}"


# --- valid against the workflow schema -----------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_validates_against_the_github_workflow_schema(path: Path, validator: jsonschema.protocols.Validator) -> None:
    errors = sorted(validator.iter_errors(load_workflow(path)), key=lambda e: list(e.absolute_path))
    messages = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}" for e in errors]
    assert not messages, f"{rel(path)} is not a valid workflow:\n" + "\n".join(messages)


def test_the_schema_rejects_what_github_rejects(validator: jsonschema.protocols.Validator) -> None:
    """The validator is not vacuous: typical mistakes are caught."""
    good = {"on": "push", "jobs": {"a": {"runs-on": "ubuntu-latest", "steps": [{"run": "true"}]}}}
    assert not list(validator.iter_errors(good))
    bad_documents = [
        {"on": "push"},  # no jobs
        {"on": "push", "jobs": {"a": {"runs-on": "ubuntu-latest", "steps": [{"uses": "x@y", "run": "z"}]}}},
        {"on": "push", "jobs": {"a": {"runs-on": "ubuntu-latest", "permissions": {"packages": "admin"}, "steps": []}}},
        {"on": "push", "jobs": {"a": {"runs-on": "ubuntu-latest", "stepz": []}}},
        {"on": "push", "jobs": {"a": {"steps": [{"run": "true"}]}}},  # no runs-on
        {"on": "pushed", "jobs": {"a": {"runs-on": "ubuntu-latest", "steps": [{"run": "true"}]}}},
    ]
    for document in bad_documents:
        assert list(validator.iter_errors(document)), document


def test_yaml_is_read_as_github_reads_it() -> None:
    document = yaml.load("on: push\nx: yes\ny: true\n", Loader=_WorkflowLoader)
    assert document == {"on": "push", "x": "yes", "y": True}


# --- pinned --------------------------------------------------------------------------------------------


def uses_lines(path: Path) -> list[tuple[int, str, str]]:
    """(line number, reference, comment) of every ``uses:`` line, read from the text to see the comment."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        match = USES_LINE.match(line)
        if match:
            found.append((number, match.group(1), (match.group(2) or "").strip()))
    return found


def pin_problem(reference: str, comment: str, in_examples: bool) -> str | None:
    if reference.startswith("./"):
        return "a local action in a workflow a user copies (use your-org/image-gate@<sha>)" if in_examples else None
    if reference.startswith("docker://"):
        return None if DOCKER_PIN.fullmatch(reference) else "a docker:// image not pinned by @sha256 digest"
    if not SHA_PIN.fullmatch(reference):
        return "not pinned by a full 40-hex commit SHA"
    if not VERSION_COMMENT.search(comment):
        return "no '# vX.Y.Z' comment naming the pinned release"
    if reference.startswith("your-org/image-gate@") and reference != OUR_PLACEHOLDER:
        return f"our action in an example must be the documented placeholder {OUR_PLACEHOLDER}"
    return None


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_every_uses_is_pinned(path: Path) -> None:
    lines = uses_lines(path)
    parsed = [s.body["uses"] for s in steps(load_workflow(path)) if "uses" in s.body]
    parsed += [job["uses"] for job in load_workflow(path)["jobs"].values() if "uses" in job]
    assert sorted(r for _, r, _ in lines) == sorted(parsed), "the line scan missed a uses: (quoting, flow style?)"
    in_examples = path.parent == EXAMPLES
    problems = [
        f"{rel(path)}:{number}: {reference}: {problem}"
        for number, reference, comment in lines
        if (problem := pin_problem(reference, comment, in_examples))
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("reference", "comment", "ok"),
    [
        ("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1", "# v7.0.1", True),
        ("github/codeql-action/upload-sarif@8aad20d150bbac5944a9f9d289da16a4b0d87c1e", "# v4.36.2", True),
        ("actions/checkout@v7", "# v7.0.1", False),
        ("actions/checkout@3d3c42e5", "# v7.0.1", False),
        ("actions/checkout@main", "", False),
        ("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1", "", False),
        ("actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1", "# v7", False),
        ("actions/checkout@3D3C42E5AAC5BA805825DA76410C181273BA90B1", "# v7.0.1", False),
        ("docker://ghcr.io/o/image-gate@sha256:" + "a" * 64, "", True),
        ("docker://ghcr.io/o/image-gate:v1", "", False),
        (OUR_PLACEHOLDER, "# v0.1.0 placeholder", True),
        ("your-org/image-gate@" + "1" * 40, "# v0.1.0", False),
    ],
)
def test_pin_rule(reference: str, comment: str, ok: bool) -> None:
    assert (pin_problem(reference, comment, in_examples=True) is None) is ok


def test_one_commit_per_action_everywhere() -> None:
    pins: dict[str, set[tuple[str, str]]] = {}
    for path in WORKFLOWS:
        for _, reference, comment in uses_lines(path):
            if SHA_PIN.fullmatch(reference):
                name, sha = reference.split("@")
                repo = "/".join(name.split("/")[:2])
                version = VERSION_COMMENT.search(comment)
                pins.setdefault(repo, set()).add((sha, version.group(0).lstrip("# ").strip() if version else ""))
    drift = {repo: found for repo, found in pins.items() if len({sha for sha, _ in found}) > 1}
    assert not drift, f"one action pinned to several commits: {drift}"
    mislabelled = {repo: found for repo, found in pins.items() if len({v for _, v in found}) > 1}
    assert not mislabelled, f"one commit labelled with several versions: {mislabelled}"


# --- consistent with action.yml ------------------------------------------------------------------------


def our_steps(workflow: dict[str, Any]) -> list[Step]:
    return [s for s in steps(workflow) if is_ours(str(s.body.get("uses", "")))]


def referenced_outputs(workflow: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, output name) of every output of an image-gate step read anywhere in the workflow."""
    jobs: dict[str, Any] = workflow.get("jobs") or {}
    ours_by_job = {job: {s.body["id"] for s in our_steps(workflow) if s.job == job and "id" in s.body} for job in jobs}
    found: list[tuple[str, str]] = []
    job_output_source: dict[tuple[str, str], str | None] = {}
    for job_name, job in jobs.items():
        for output, expression in (job.get("outputs") or {}).items():
            match = STEP_OUTPUT.search(str(expression))
            job_output_source[(job_name, output)] = None
            if match and match.group(1) in ours_by_job[job_name]:
                job_output_source[(job_name, output)] = match.group(2)
        for text in strings({k: v for k, v in job.items() if k != "outputs"}):
            for step_id, name in STEP_OUTPUT.findall(text):
                if step_id in ours_by_job[job_name]:
                    found.append((f"jobs.{job_name}: steps.{step_id}", name))
    for job_name, job in jobs.items():
        for text in strings(job):
            for needed, output in NEEDS_OUTPUT.findall(text):
                assert (needed, output) in job_output_source, (
                    f"jobs.{job_name} reads needs.{needed}.outputs.{output}, not declared"
                )
                source = job_output_source[(needed, output)]
                if source:
                    found.append((f"jobs.{job_name}: needs.{needed}", source))
    for (job_name, output), source in job_output_source.items():
        if source:
            found.append((f"jobs.{job_name}.outputs.{output}", source))
    call = (workflow.get("on") or {}).get("workflow_call") if isinstance(workflow.get("on"), dict) else None
    for output, spec in ((call or {}).get("outputs") or {}).items():
        for job_name, name in JOBS_OUTPUT.findall(str(spec.get("value", ""))):
            assert (job_name, name) in job_output_source, (
                f"on.workflow_call.outputs.{output} reads an undeclared job output"
            )
    return found


def missing_names(path: Path, declared: dict[str, Any] | None = None) -> tuple[list[str], set[str]]:
    """Problems with names unknown to action.yml (or ``declared``), and the set of those names."""
    declared = declared or action()
    inputs, outputs = set(declared["inputs"]), set(declared["outputs"])
    workflow = load_workflow(path)
    problems: list[str] = []
    names: set[str] = set()
    for step in our_steps(workflow):
        for key in step.body.get("with") or {}:
            if key not in inputs:
                problems.append(f"{step.where}: with.{key} is not an input of action.yml")
                names.add(key)
    for where, name in referenced_outputs(workflow):
        if name not in outputs:
            problems.append(f"{where}: outputs.{name} is not an output of action.yml")
            names.add(name)
    return problems, names


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_inputs_and_outputs_are_declared_in_action_yml(path: Path) -> None:
    problems, _ = missing_names(path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_our_action_has_a_command(path: Path) -> None:
    commands = set(action()["inputs"]["command"]["description"].replace(",", " ").replace(".", " ").split())
    for step in our_steps(load_workflow(path)):
        command = (step.body.get("with") or {}).get("command")
        assert command, f"{rel(path)} {step.where}: no command (the default, discover, is not spelled out)"
        assert command in commands, f"{rel(path)} {step.where}: unknown command {command!r}"


def test_the_checks_catch_undeclared_names(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    outputs:\n"
        "      x: ${{ steps.g.outputs.no_such_output }}\n    steps:\n"
        f"      - id: g\n        uses: {OUR_PLACEHOLDER} # v0.1.0\n        with:\n"
        "          command: scan\n          no_such_input: 1\n"
        "      - run: echo\n        env:\n          V: ${{ steps.g.outputs.verdict }}\n"
        "  b:\n    needs: a\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n        env:\n"
        "          X: ${{ needs.a.outputs.x }}\n",
        encoding="utf-8",
    )
    problems, names = missing_names(bad)
    assert names == {"no_such_input", "no_such_output"}
    assert sum("no_such_output" in p for p in problems) == 2  # the job output and the needs.a.outputs.x read


# --- the matrix example ----------------------------------------------------------------------------------


def test_the_matrix_example_fans_out_over_discover() -> None:
    workflow = load_workflow(EXAMPLES / "base-image-scan.yml")
    jobs = workflow["jobs"]
    discover = jobs["discover"]
    assert discover["outputs"]["matrix"] == "${{ steps.discover.outputs.matrix }}"
    assert [s.body["with"]["command"] for s in our_steps(workflow) if s.job == "discover"] == ["discover"]
    scan = jobs["scan"]
    assert scan["needs"] == "discover"
    assert scan["strategy"]["matrix"] == "${{ fromJSON(needs.discover.outputs.matrix) }}"
    gating = [s.body["with"] for s in our_steps(workflow) if s.job == "scan"]
    assert [w["command"] for w in gating] == ["scan"], "the scan gates; a second gate would report it twice"
    # Every run names its category (<sarif_category>/<repository>/<platform>/); the matrix's prefix keeps two
    # tags of one repository apart.
    assert gating[0]["sarif_category"] == "${{ matrix.sarif_category }}", "one SARIF category per matrix entry"
    upload = [s.body for s in steps(workflow) if s.job == "scan" and "upload-sarif@" in str(s.body.get("uses"))]
    assert len(upload) == 1 and upload[0]["with"]["sarif_file"] == "${{ steps.scan.outputs.sarif_file }}"
    # upload-sarif applies its category only to runs without automationDetails.id: a category there misleads.
    assert "category" not in upload[0]["with"]
    assert "always()" in upload[0]["if"] or "!cancelled()" in upload[0]["if"], "SARIF uploaded even when blocked"
    # Base images: the SBOM chosen automatically (auto: Docker Official Images carry SPDX), and an image without
    # any SBOM inventoried from its layers rather than blocked unscanned.
    assert gating[0].get("sbom_predicate_type", "auto") == "auto"
    assert gating[0]["sbom_fallback"] == "layers"


def test_no_example_gives_upload_sarif_a_category() -> None:
    """upload-sarif applies its category only to runs without automationDetails.id, and every run of ours has one:
    the category is ours to set (sarif_category)."""
    for path in sorted(EXAMPLES.glob("*.yml")):
        for step in steps(load_workflow(path)):
            if "upload-sarif@" in str(step.body.get("uses")):
                assert "category" not in (step.body.get("with") or {}), f"{rel(path)} {step.where}"


def test_the_tags_example_fans_out_one_mirror_per_tag() -> None:
    """tags -> matrix -> one mirror job per tag, skipped when no tag matches (GitHub refuses an empty
    matrix), each mirror keeping the history (concurrent updates of one history) and provenance."""
    workflow = load_workflow(EXAMPLES / "mirror-all-tags.yml")
    jobs = workflow["jobs"]
    assert [s.body["with"]["command"] for s in our_steps(workflow) if s.job == "tags"] == ["tags"]
    assert jobs["tags"]["outputs"]["matrix"] == "${{ steps.tags.outputs.matrix }}"
    assert jobs["tags"]["outputs"]["tag_count"] == "${{ steps.tags.outputs.tag_count }}"
    mirror = jobs["mirror"]
    assert mirror["needs"] == "tags" and "needs.tags.outputs.tag_count != '0'" in mirror["if"]
    assert mirror["strategy"]["matrix"] == "${{ fromJSON(needs.tags.outputs.matrix) }}"
    assert mirror["strategy"]["fail-fast"] is False
    [step] = [s.body["with"] for s in our_steps(workflow) if s.job == "mirror"]
    assert step["command"] == "mirror"
    assert (step["source"], step["destination"]) == ("${{ matrix.source }}", "${{ matrix.destination }}")
    assert step["history"] == "true" and step["provenance"] == "true"
    assert "tags" not in step, "the matrix spreads the tags over jobs: each job mirrors one reference"


# --- least privilege and no secrets in scripts -----------------------------------------------------------


def writes(permissions: Any) -> bool:
    if permissions == "write-all":
        return True
    return isinstance(permissions, dict) and "write" in permissions.values()


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_least_privilege(path: Path) -> None:
    workflow = load_workflow(path)
    assert "permissions" in workflow, f"{rel(path)}: no top-level permissions (the default token may write)"
    assert not writes(workflow["permissions"]), f"{rel(path)}: write permissions at the top; grant them per job"
    for job_name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{rel(path)}: jobs.{job_name} does not say which permissions it needs"
        granted = job["permissions"] if isinstance(job["permissions"], dict) else {}
        uploads_sarif = any("upload-sarif@" in str(s.get("uses")) for s in job.get("steps") or [])
        assert not uploads_sarif or granted.get("security-events") == "write", f"jobs.{job_name} uploads SARIF"
        if granted.get("security-events") == "write":
            assert uploads_sarif, f"{rel(path)}: jobs.{job_name} may write security events but uploads no SARIF"


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_no_expression_expands_inside_a_script(path: Path) -> None:
    """``${{ }}`` in ``run:`` is pasted into the script before it runs: an injection and a secret leak."""
    for step in steps(load_workflow(path)):
        script = step.body.get("run")
        if script is not None:
            assert "${{" not in script, f"{rel(path)} {step.where}: pass values through env:, not ${{{{ }}}} in run:"


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_secrets_only_reach_with_and_env(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    workflow = load_workflow(path)
    for step in steps(workflow):
        for key, value in step.body.items():
            if key not in {"with", "env"}:
                assert "secrets." not in json.dumps(value), f"{rel(path)} {step.where}: a secret in {key}"
    assert not re.search(r"echo[^\n]*secrets\.", text), f"{rel(path)}: a secret is echoed"


@pytest.mark.parametrize("path", WORKFLOWS, ids=IDS)
def test_checkout_does_not_persist_credentials(path: Path) -> None:
    for step in steps(load_workflow(path)):
        if str(step.body.get("uses", "")).startswith("actions/checkout@"):
            assert (step.body.get("with") or {}).get("persist-credentials") is False, f"{rel(path)} {step.where}"


def test_the_readme_snippet_is_a_valid_matrix_flow(validator: jsonschema.protocols.Validator) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Examples\n", 1)[1].split("\n## ", 1)[0]
    snippet = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    workflow = yaml.load("on: push\n" + snippet, Loader=_WorkflowLoader)
    assert not list(validator.iter_errors(workflow))
    assert workflow["jobs"]["scan"]["strategy"]["matrix"] == "${{ fromJSON(needs.discover.outputs.matrix) }}"
    inputs = set(action()["inputs"])
    assert [s.body["with"]["command"] for s in our_steps(workflow)] == ["discover", "scan"]
    for step in our_steps(workflow):
        assert set(step.body["with"]) <= inputs
    assert {name for _, name in referenced_outputs(workflow)} <= set(action()["outputs"])


# --- the refresh example ---------------------------------------------------------------------------------


def test_the_refresh_example_reports_pins_and_opens_one_pull_request() -> None:
    workflow = load_workflow(EXAMPLES / "refresh-base-images.yml")
    assert "workflow_dispatch" in workflow["on"]
    (schedule,) = workflow["on"]["schedule"]
    _minute, _hour, day, month, weekday = schedule["cron"].split()
    assert (day, month) == ("*", "*") and weekday.isdigit(), "weekly"
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    ours = {s.body["id"]: s.body["with"] for s in our_steps(workflow)}
    assert ours["outdated"]["command"] == "outdated"
    assert (ours["outdated"]["scan"], ours["outdated"]["scanner"]) == (True, "osv") and ours["outdated"]["osv_db"]
    assert (ours["pin"]["command"], ours["pin"]["update"]) == ("pin", True)
    names = [str(s.get("id") or s.get("uses") or s.get("name")) for s in job["steps"]]
    assert names.index("outdated") < names.index("pin")
    (pull,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("peter-evans/create-pull-request@")]
    assert SHA_PIN.fullmatch(pull["uses"]) and names.index("pin") < job["steps"].index(pull)
    assert pull["with"]["branch"] and pull["with"]["body-path"], "one branch: the pull request is updated"
    assert "steps.pin.outputs.changed_files" in pull["with"]["add-paths"], "only what pin changed is committed"
    (body,) = [s for s in job["steps"] if "pull-request-body.md" in str(s.get("run", ""))]
    assert body["env"]["OUTDATED"] == "${{ steps.outdated.outputs.outdated }}", "the table comes from the outputs"
    assert "fixes" in body["run"] and "introduces" in body["run"]


# --- the override example --------------------------------------------------------------------------------


def test_the_override_example_runs_on_new_comments_of_pending_issues_with_least_privilege() -> None:
    workflow = load_workflow(EXAMPLES / "promotion-override.yml")
    assert workflow["on"] == {"issue_comment": {"types": ["created"]}}, "new comments only (an edit is no approval)"
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "issues": "write", "packages": "write"}
    condition = job["if"]
    assert "github.event.issue.pull_request == null" in condition and "'promotion-pending'" in condition
    assert "'/approve'" in condition and "'/deny'" in condition
    (ours,) = [s.body["with"] for s in our_steps(workflow)]
    assert ours["command"] == "override" and ours["min_permission"] in ("maintain", "admin")
    assert ours["github_token"] == "${{ secrets.GITHUB_TOKEN }}"
    assert "event" not in ours, "the event is the run's GITHUB_EVENT_PATH, not an input"
