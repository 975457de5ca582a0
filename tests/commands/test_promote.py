"""``promote`` end to end on real loopback registries: distribution 2.8 (referrers tag fallback, deletes enabled)
and the referrers-API registry, with regctl and crane reading back what we wrote."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import entrypoint
from gate import cli
from gate.attest.unwrap import STATEMENT_V1
from gate.attest.verify.bundle import verify_bundle
from gate.attest.verify.keys import parse_public_keys
from gate.attest.verify.policy import VerificationPolicy
from gate.attest.verify.subject import subject_matches
from gate.commands.promote import PromoteConfig, config_from_inputs, run
from gate.config import ActionInputs
from gate.errors import GateError, InputError
from gate.outcome import Context
from gate.policy.sarif import parse_sarif
from gate.policy.verdict import GateOptions, evaluate
from gate.policy.waivers import parse_exceptions
from gate.promote.promotion import PromoteOptions, promote
from gate.promote.referrer import SIGNED_ARTIFACT_TYPE, VULN_ARTIFACT_TYPE
from gate.promote.report import (
    ANNOTATION_CREATED,
    ANNOTATION_METHOD,
    ANNOTATION_PREDICATE_TYPE,
    ANNOTATION_VERDICT,
    REPORT_ARTIFACT_TYPE,
    load_verdict,
    validate_scan_report,
    verdict_digest,
)
from gate.promote.signing import parse_signing_key, sign_statement
from gate.promote.vuln import VULN_PREDICATE_TYPE, validate_vuln_statement
from tests.attest.verify.cosign_tool import REGISTRY_FLAGS, cosign
from tests.attest.verify.signing import private_key, private_pem, public_pem
from tests.policy.sarif_samples import sarif_log, trivy_result, trivy_rule
from tests.promote.test_github_packages import TOKEN, FakeGitHub, fake_github  # noqa: F401 - the fixture
from tests.support.client import RegistryClient
from tests.support.faults import Fault, FaultProxy, status_fault
from tests.support.images import (
    CYCLONEDX,
    AttestedImage,
    attach_referrer,
    attach_sbom,
    build_attested_image,
    build_image,
    crane,
    cyclonedx_sbom,
    read_graph,
    regctl,
)
from tests.support.registries import Registry

TAG = "v1"
EXCEPTIONS = "exceptions:\n  - id: CVE-2024-1111\n    reason: fixed upstream, not reachable here\n"


def verdict_document(image: AttestedImage, *, excepted: bool = True, at: Registry | None = None) -> dict[str, Any]:
    """A ``scan --json``-shaped verdict for the image: one HIGH finding per platform, excepted (pass) or not (fail);
    ``at``: the image as scanned through another address of its registry (a proxy in front of it)."""
    built = image.image
    runs = []
    for platform, digest in built.children.items():
        log = sarif_log(
            [trivy_rule("CVE-2024-1111", "HIGH", "7.5", "openssl")],
            [trivy_result(0, "CVE-2024-1111", "HIGH", "openssl")],
            properties={"image": f"{built.ref}@{built.digest}", "platform": platform, "digest": digest},
        )
        runs += parse_sarif(log, f"{platform}.sarif")
    exceptions = parse_exceptions(EXCEPTIONS, "exceptions.yml") if excepted else ()
    document = evaluate(runs, GateOptions(), exceptions=exceptions, today=dt.date(2025, 6, 1)).to_json()
    for row in document["platforms"]:
        sbom = image.sboms[row["platform"]]
        row.update(
            sbom_attestation=sbom.digest,
            sbom_layer=sbom.layers[0],
            sbom_source="referrer",
            sbom_predicate_type=CYCLONEDX,
        )
    document.update(
        image=at.ref(built.repo, built.tag) if at else built.ref,
        digest=built.digest,
        scanner={"name": "osv", "version": "test"},
        predicate_type=CYCLONEDX,
    )
    return document


def is_report(descriptor: dict[str, Any], artifact_type: str = VULN_ARTIFACT_TYPE) -> bool:
    """A scan report among a root's referrers: its artifact type, and for an in-toto one (provenance is one
    too) the vuln predicate type."""
    annotations = descriptor.get("annotations") or {}
    return descriptor.get("artifactType") == artifact_type and (
        artifact_type != VULN_ARTIFACT_TYPE or annotations.get("in-toto.io/predicate-type") == VULN_PREDICATE_TYPE
    )


def write_verdict(tmp_path: Path, document: dict[str, Any], name: str = "verdict.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def run_promote(source: str, destination: str, **options: Any) -> tuple[int, dict[str, Any], dict[str, str], list[str]]:
    logs: list[str] = []
    outcome = run(
        PromoteConfig(source=source, destination=destination, **options), Context(log=logs.append, environ={})
    )
    return outcome.exit_code, dict(outcome.document), dict(outcome.outputs), logs


@pytest.fixture
def quarantined(any_registry: Registry, unique_repo: str) -> AttestedImage:
    return build_attested_image(any_registry, f"{unique_repo}/quarantine", TAG)


@pytest.mark.parametrize("report_format", ["vuln", "cssc-v1"])
def test_a_passing_image_is_promoted_with_every_referrer_and_the_scan_report(
    any_registry: Registry, unique_repo: str, quarantined: AttestedImage, tmp_path: Path, report_format: str
) -> None:
    registry = any_registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    before = read_graph(registry, quarantine, TAG)
    verdict = write_verdict(tmp_path, verdict_document(quarantined))

    code, document, outputs, logs = run_promote(
        registry.ref(quarantine, TAG), registry.ref(production), verdict_file=verdict, delete_source_tag=True,
        report_format=report_format,
    )  # fmt: skip
    assert code == 0, logs
    digest = quarantined.image.digest
    assert document["promoted"] is True and document["verdict"] == "pass" and document["digest"] == digest
    assert document["destination"] == registry.ref(production, TAG)
    assert document["source_tag_deleted"] is True and document["source_tag_delete_error"] is None
    assert document["referrers_copied"] == len(quarantined.all_referrers) + len(quarantined.cosign_tags)
    assert document["referrers_verified"] == document["referrers_copied"]
    assert document["copy"]["blobs_copied"] == 0  # all mounted or already there
    artifact_type = VULN_ARTIFACT_TYPE if report_format == "vuln" else REPORT_ARTIFACT_TYPE
    assert (document["report_format"], document["report_artifact_type"]) == (report_format, artifact_type)
    assert document["report_signer"] is None
    assert outputs == {
        "promoted": "true",
        "digest": digest,
        "report_digest": document["report_digest"],
        "source_tag_deleted": "true",
    }

    # regctl reads production independently: every referrer of quarantine, plus the scan report on the root
    after = read_graph(registry, production, TAG)
    assert after.root == digest
    assert before.referrer_digests <= after.referrer_digests
    assert after.referrer_digests - before.referrer_digests == {document["report_digest"]}
    listed = json.loads(
        regctl(registry, "artifact", "list", "--format", "body", registry.ref(production, digest=digest))
    )
    reports = [m for m in listed["manifests"] if is_report(m, artifact_type)]
    assert [m["digest"] for m in reports] == [document["report_digest"]]

    # crane fetches the report manifest; its layer is the report
    manifest = json.loads(crane(registry, "manifest", registry.ref(production, digest=document["report_digest"])))
    assert manifest["artifactType"] == artifact_type
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json" and manifest["config"]["size"] == 2
    assert manifest["subject"]["digest"] == digest
    annotations = manifest["annotations"]
    assert annotations[ANNOTATION_METHOD] == "sbom"
    assert annotations[ANNOTATION_VERDICT] == "pass"
    dt.datetime.strptime(annotations[ANNOTATION_CREATED], "%Y-%m-%dT%H:%M:%SZ")
    [layer] = manifest["layers"]
    assert layer["mediaType"] == artifact_type
    content = json.loads(RegistryClient(registry).get_blob(production, layer["digest"]))
    if report_format == "vuln":
        assert annotations["in-toto.io/predicate-type"] == VULN_PREDICATE_TYPE
        assert annotations["com.cssc.scan.sbom-predicate-type"] == CYCLONEDX
        assert annotations["com.cssc.scan.source"] == registry.ref(quarantine)
        assert annotations["com.cssc.scan.tag"] == TAG and annotations["com.cssc.scan.threshold"] == "high"
        assert annotations["com.cssc.scan.exceptions"] == "CVE-2024-1111"
        assert (annotations["com.cssc.scan.scanner"], annotations["com.cssc.scan.scanner-version"]) == ("osv", "test")
        validate_vuln_statement(content)
        assert content["predicateType"] == VULN_PREDICATE_TYPE
        assert content["subject"] == [{"name": registry.ref(production), "digest": {"sha256": digest[7:]}}]
        result = content["predicate"]["scanner"]["result"]["platforms"]
        assert {p["platform"]: [f["status"] for f in p["findings"]] for p in result} == {
            p: ["excepted"] for p in quarantined.sboms
        }
        report = content["predicate"]["decision"]
    else:
        assert annotations[ANNOTATION_PREDICATE_TYPE] == CYCLONEDX
        report = content
    validate_scan_report(report)
    assert report["digest"] == digest and report["verdict"] == "pass"
    assert [e["id"] for e in report["exceptions"]["applied"]] == ["CVE-2024-1111"]
    assert {p["platform"]: p["sbom"]["attestation"] for p in report["platforms"]} == {
        p: s.digest for p, s in quarantined.sboms.items()
    }

    # the quarantine tag is gone, the image and its referrers stay reachable by digest there
    client = RegistryClient(registry)
    assert TAG not in client.tags(quarantine)
    assert client.manifest_exists(quarantine, digest)
    assert TAG in client.tags(production)

    # a second run with the same verdict changes nothing and reuses the report
    code, again, _, _ = run_promote(
        registry.ref(quarantine, digest=digest), registry.ref(production, TAG), verdict_file=verdict,
        report_format=report_format,
    )  # fmt: skip
    assert code == 0 and again["report_reused"] is True and again["report_digest"] == document["report_digest"]
    assert again["copy"]["up_to_date"] is True


@pytest.mark.parametrize("case", ["fail", "other-digest", "no-digest"])
def test_a_verdict_that_does_not_vouch_for_the_image_refuses_and_pushes_nothing(
    any_registry: Registry, unique_repo: str, quarantined: AttestedImage, tmp_path: Path, case: str
) -> None:
    document = verdict_document(quarantined, excepted=case != "fail")
    if case == "other-digest":
        document["digest"] = "sha256:" + "0" * 64
    if case == "no-digest":
        del document["digest"]
    verdict = write_verdict(tmp_path, document)
    production = f"{unique_repo}/production"
    code, result, outputs, _ = run_promote(
        any_registry.ref(f"{unique_repo}/quarantine", TAG), any_registry.ref(production), verdict_file=verdict,
        delete_source_tag=True,
    )  # fmt: skip
    assert code == 1
    assert result["promoted"] is False and outputs["promoted"] == "false"
    expected = {
        "fail": "the verdict is 'fail'",
        "other-digest": "is for sha256:000",
        "no-digest": "names no image digest",
    }
    assert expected[case] in result["refused"]
    client = RegistryClient(any_registry)
    assert client.tags(production) == []
    assert TAG in client.tags(f"{unique_repo}/quarantine")


def test_the_cli_refusal_is_exit_1_with_a_json_document(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = build_attested_image(distribution_registry, f"{unique_repo}/quarantine", TAG, cosign_tags=False)
    verdict = write_verdict(tmp_path, verdict_document(image, excepted=False))
    code = cli.main(
        ["promote", distribution_registry.ref(f"{unique_repo}/quarantine", TAG),
         distribution_registry.ref(f"{unique_repo}/production"), "--verdict", verdict, "--json"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["promoted"] is False
    assert "REFUSED" in captured.err


@pytest.mark.parametrize(
    ("where", "fault"),
    [
        # the copy: the second manifest PUT (a child manifest) fails
        ("copy", status_fault(400, method="PUT", path="/manifests/sha256:", nth=2, times=None)),
        # the scan report: its layer is the only blob uploaded (the image's blobs are mounted)
        ("report", status_fault(400, method="PUT", path="/blobs/uploads/", times=None)),
    ],
)
def test_an_interrupted_promotion_keeps_the_quarantine_tag_and_a_rerun_completes_it(
    distribution_registry: Registry,
    fault_proxy: Callable[[Registry], FaultProxy],
    unique_repo: str,
    tmp_path: Path,
    where: str,
    fault: Any,
) -> None:
    proxy = fault_proxy(distribution_registry)
    registry = proxy.registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    image = build_attested_image(distribution_registry, quarantine, TAG)
    verdict = write_verdict(tmp_path, verdict_document(image, at=registry))
    source, destination = registry.ref(quarantine, TAG), registry.ref(production)

    proxy.inject(fault)
    with pytest.raises(GateError):
        run_promote(source, destination, verdict_file=verdict, delete_source_tag=True)
    assert proxy.fired(), f"the {where} fault never fired"
    client = RegistryClient(distribution_registry)
    assert TAG in client.tags(quarantine)
    assert TAG not in client.tags(production)  # the destination tag is pushed last

    proxy.clear()
    code, document, _, _ = run_promote(source, destination, verdict_file=verdict, delete_source_tag=True)
    assert code == 0 and document["source_tag_deleted"] is True
    assert TAG not in client.tags(quarantine)
    graph = read_graph(distribution_registry, production, TAG)
    reports = [d for d in graph.referrers[image.image.digest] if is_report(d)]
    assert [d["digest"] for d in reports] == [document["report_digest"]]


def test_a_registry_that_refuses_the_deletion_leaves_a_warning_not_an_undo(
    distribution_registry: Registry, fault_proxy: Callable[[Registry], FaultProxy], unique_repo: str, tmp_path: Path
) -> None:
    proxy = fault_proxy(distribution_registry)
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    image = build_attested_image(distribution_registry, quarantine, TAG, cosign_tags=False)
    verdict = write_verdict(tmp_path, verdict_document(image, at=proxy.registry))
    # as distribution with storage.delete.enabled false answers
    proxy.inject(status_fault(405, method="DELETE", path="/manifests/", times=None))
    logs: list[str] = []
    outcome = run(
        PromoteConfig(
            source=proxy.registry.ref(quarantine, TAG), destination=proxy.registry.ref(production),
            verdict_file=verdict, delete_source_tag=True,
        ),
        Context(log=logs.append, environ={}),
    )  # fmt: skip
    assert outcome.exit_code == 0
    assert outcome.document["promoted"] is True and outcome.document["source_tag_deleted"] is False
    assert "does not allow deletes" in outcome.document["source_tag_delete_error"]
    assert outcome.outputs["source_tag_deleted"] == "false"
    assert [a.level for a in outcome.annotations] == ["warning"]
    client = RegistryClient(distribution_registry)
    assert TAG in client.tags(quarantine) and TAG in client.tags(production)
    assert client.get_manifest(quarantine, TAG)[0] == client.get_manifest(production, TAG)[0]


# GHCR's answer to a tag DELETE through the registry API.
GHCR_REFUSAL = Fault(
    "status", path="/manifests/", method="DELETE", times=None, status=405,
    body=b'{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}',
)  # fmt: skip


@pytest.fixture
def ghcr_like(
    distribution_registry: Registry,
    fault_proxy: Callable[[Registry], FaultProxy],
    unique_repo: str,
    fake_github: FakeGitHub,  # noqa: F811
) -> Iterator[tuple[FaultProxy, str, AttestedImage]]:
    """A real registry behind a proxy that can answer tag DELETEs as GHCR does; promote is told the proxy's
    host is a GHCR host (``ghcr_hosts``), the fake GitHub API knows the owner."""
    owner = unique_repo.split("/")[0]
    image = build_attested_image(distribution_registry, f"{unique_repo}/quarantine", TAG, cosign_tags=False)
    fake_github.owners[owner] = "Organization"
    yield fault_proxy(distribution_registry), owner, image


def _ghcr_options(proxy: FaultProxy, fake_github: FakeGitHub, token: str = TOKEN) -> PromoteOptions:  # noqa: F811
    return PromoteOptions(
        delete_source_tag=True, github_token=token, github_api_url=fake_github.url, ghcr_hosts=(proxy.registry.host,)
    )


@pytest.mark.parametrize("other_tags", [[], ["keep-me"]])
def test_on_ghcr_the_registry_refuses_then_the_github_packages_api_deletes(
    ghcr_like: tuple[FaultProxy, str, AttestedImage],
    fake_github: FakeGitHub,  # noqa: F811
    unique_repo: str,
    other_tags: list[str],
) -> None:
    proxy, owner, image = ghcr_like
    package = f"{unique_repo}/quarantine".split("/", 1)[1]
    fake_github.add_version(owner, package, 41, image.image.digest, [TAG, *other_tags])
    proxy.inject(GHCR_REFUSAL)
    # when GitHub is first asked, how many registry DELETEs had been answered
    deletes_seen: list[int] = []
    handle = fake_github.handle

    def recording(method: str, raw_path: str, authorization: str | None) -> tuple[int, Any]:
        deletes_seen.append(len(proxy.received(method="DELETE")))
        return handle(method, raw_path, authorization)

    fake_github.handle = recording  # type: ignore[method-assign]
    logs: list[str] = []
    report = promote(
        proxy.registry.ref(f"{unique_repo}/quarantine", TAG),
        proxy.registry.ref(f"{unique_repo}/production"),
        verdict_document(image, at=proxy.registry),
        _ghcr_options(proxy, fake_github),
        log=logs.append,
    )
    assert report.promoted and report.github_package is not None
    # the registry API first: the cleanup's first DELETE, then the tag's, both refused, and nothing pushed after
    deletes = proxy.received(method="DELETE")
    assert all(d.status == 405 and d.fault for d in deletes)
    assert deletes[-1].path.endswith(f"/quarantine/manifests/{TAG}")
    after = proxy.requests[proxy.requests.index(deletes[0]) + 1 :]
    assert [r for r in after if r.method in ("PUT", "POST", "PATCH")] == []
    assert deletes_seen and deletes_seen[0] == 1  # GitHub only after the refusal
    assert any("does not allow deletes of tags" in line and "GitHub Packages API" in line for line in logs)
    if other_tags:
        assert not report.source_tag_deleted and fake_github.deletes() == []
        assert report.source_tag_delete_error is not None and "keep-me" in report.source_tag_delete_error
        assert report.warnings and "keep-me" in report.warnings[0]
    else:
        assert report.source_tag_deleted and report.source_tag_delete_error is None
        assert fake_github.deletes() == [f"/orgs/{owner}/packages/container/{package.replace('/', '%2F')}/versions/41"]
    # the (real) registry behind the proxy still has the tag: only the fake GitHub deleted the version
    assert TAG in RegistryClient(proxy.registry).tags(f"{unique_repo}/quarantine")


def test_on_ghcr_a_registry_that_deletes_the_tag_needs_no_github_api(
    ghcr_like: tuple[FaultProxy, str, AttestedImage],
    fake_github: FakeGitHub,  # noqa: F811
    unique_repo: str,
) -> None:
    proxy, owner, image = ghcr_like
    fake_github.add_version(owner, f"{unique_repo}/quarantine".split("/", 1)[1], 41, image.image.digest, [TAG])
    report = promote(
        proxy.registry.ref(f"{unique_repo}/quarantine", TAG),
        proxy.registry.ref(f"{unique_repo}/production"),
        verdict_document(image, at=proxy.registry),
        _ghcr_options(proxy, fake_github),
    )
    assert report.source_tag_deleted and report.github_package is None
    assert fake_github.requests == []
    assert TAG not in RegistryClient(proxy.registry).tags(f"{unique_repo}/quarantine")


@pytest.mark.parametrize("case", ["no-token", "not-ghcr"])
def test_a_refusal_without_token_or_off_ghcr_is_a_warning_and_github_is_not_asked(
    ghcr_like: tuple[FaultProxy, str, AttestedImage],
    fake_github: FakeGitHub,  # noqa: F811
    unique_repo: str,
    case: str,
) -> None:
    proxy, _, image = ghcr_like
    proxy.inject(GHCR_REFUSAL)
    options = _ghcr_options(proxy, fake_github, token="" if case == "no-token" else TOKEN)
    if case == "not-ghcr":
        options = PromoteOptions(
            delete_source_tag=True, github_token=TOKEN, github_api_url=fake_github.url, ghcr_hosts=("ghcr.io",)
        )
    report = promote(
        proxy.registry.ref(f"{unique_repo}/quarantine", TAG),
        proxy.registry.ref(f"{unique_repo}/production"),
        verdict_document(image, at=proxy.registry),
        options,
    )
    assert report.promoted and not report.source_tag_deleted and report.github_package is None
    assert (
        report.source_tag_delete_error is not None
        and "does not allow deletes of tags" in report.source_tag_delete_error
    )
    assert ("give github_token" in report.source_tag_delete_error) is (case == "no-token")
    assert fake_github.requests == []
    assert [r.method for r in proxy.requests if r.method in ("PUT", "POST", "PATCH", "DELETE")][-1] == "DELETE"
    assert TAG in RegistryClient(proxy.registry).tags(f"{unique_repo}/quarantine")


def test_inputs_build_the_same_config(tmp_path: Path) -> None:
    environ = {
        "INPUT_SOURCE": "ghcr.io/acme/quarantine/app:1.0",
        "INPUT_DESTINATION": "ghcr.io/acme/app",
        "INPUT_VERDICT_FILE": "verdict.json",
        "INPUT_DELETE_SOURCE_TAG": "true",
        "INPUT_GITHUB_TOKEN": "t0ken",
    }
    config = config_from_inputs(ActionInputs(environ))
    assert (config.source, config.destination, config.verdict_file) == (
        "ghcr.io/acme/quarantine/app:1.0",
        "ghcr.io/acme/app",
        "verdict.json",
    )
    assert config.delete_source_tag is True and config.github_token == "t0ken"
    assert "t0ken" in config.secrets()
    default = config_from_inputs(ActionInputs({"INPUT_SOURCE": "a/b:1", "INPUT_DESTINATION": "c/d"}))
    assert default.delete_source_tag is False and default.verdict_file == ""
    with pytest.raises(InputError, match="input destination is required"):
        config_from_inputs(ActionInputs({"INPUT_SOURCE": "a/b:1"}))


def test_bad_input_is_exit_2_before_anything_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "absent.json")
    assert cli.main(["promote", "127.0.0.1:9/a/b:1", "127.0.0.1:9/c/d", "--verdict", missing]) == 2
    assert "absent.json" in capsys.readouterr().err
    with pytest.raises(InputError, match="no tag to delete"):
        promote("127.0.0.1:9/a/b@sha256:" + "1" * 64, "127.0.0.1:9/c/d:1", {"verdict": "pass"},
                PromoteOptions(delete_source_tag=True))  # fmt: skip
    with pytest.raises(InputError, match="same tag"):
        promote("127.0.0.1:9/a/b:1", "127.0.0.1:9/a/b", {"verdict": "pass"}, PromoteOptions(delete_source_tag=True))


OSV_DB = str(Path(__file__).resolve().parents[2] / "tests" / "data" / "osv" / "records")


@pytest.mark.parametrize("excepted", [True, False])
def test_without_a_verdict_file_the_source_is_scanned_and_gated_first(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path, excepted: bool
) -> None:
    registry = distribution_registry
    built = build_image(registry, f"{unique_repo}/quarantine", TAG)
    for digest in built.children.values():
        attach_sbom(registry, f"{unique_repo}/quarantine", digest)  # lodash 4.17.20: CVE-2021-23337 (high)
    exceptions = tmp_path / "exceptions.yml"
    exceptions.write_text("exceptions:\n  - id: CVE-2021-23337\n    reason: not reachable\n")
    code, document, outputs, _ = run_promote(
        registry.ref(f"{unique_repo}/quarantine", TAG),
        registry.ref(f"{unique_repo}/production"),
        scanner="osv",
        osv_db=OSV_DB,
        sarif_output=str(tmp_path / "scan.sarif"),
        exceptions_file=str(exceptions) if excepted else None,
    )
    assert (tmp_path / "scan.sarif").is_file()
    if not excepted:
        assert code == 1 and document["promoted"] is False and "'fail'" in document["refused"]
        assert RegistryClient(registry).tags(f"{unique_repo}/production") == []
        return
    assert code == 0 and outputs["promoted"] == "true"
    manifest = json.loads(
        crane(registry, "manifest", registry.ref(f"{unique_repo}/production", digest=outputs["report_digest"]))
    )
    assert manifest["annotations"][ANNOTATION_METHOD] == "sbom"
    assert manifest["annotations"]["com.cssc.scan.sbom-predicate-type"] == CYCLONEDX
    statement = json.loads(
        RegistryClient(registry).get_blob(f"{unique_repo}/production", manifest["layers"][0]["digest"])
    )
    metadata = statement["predicate"]["metadata"]  # promote ran the scan: its own start and end
    assert metadata["scanStartedOn"] <= metadata["scanFinishedOn"] <= statement["predicate"]["decision"]["created"]


def _evaluate_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(["evaluate", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_an_evaluate_verdict_of_the_scan_sarif_promotes_with_method_sarif(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = distribution_registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    built = build_image(registry, quarantine, TAG)
    for digest in built.children.values():
        attach_sbom(registry, quarantine, digest)  # lodash 4.17.20: CVE-2021-23337 (high)
    sarif = tmp_path / "scan.sarif"
    code = cli.main(["scan", registry.ref(quarantine, TAG), "--scanner", "osv", "--osv-db", OSV_DB,
                     "--sarif-output", str(sarif)])  # fmt: skip
    assert code == 1 and sarif.is_file()
    capsys.readouterr()
    exceptions = tmp_path / "exceptions.yml"
    exceptions.write_text("exceptions:\n  - id: CVE-2021-23337\n    reason: not reachable\n")

    # evaluate the SARIF the scan wrote (as a workflow would, in another job): it names the image
    code, document = _evaluate_json(capsys, str(sarif), "--exceptions", str(exceptions))
    assert code == 0 and document["verdict"] == "pass"
    assert document["digest"] == built.digest and document["image"] == registry.ref(quarantine, TAG)
    assert document["method"] == "sarif"
    verdict = write_verdict(tmp_path, document)

    code, promoted, outputs, logs = run_promote(
        registry.ref(quarantine, TAG), registry.ref(production), verdict_file=verdict
    )
    assert code == 0, logs
    assert promoted["digest"] == built.digest and outputs["promoted"] == "true"
    manifest = json.loads(crane(registry, "manifest", registry.ref(production, digest=outputs["report_digest"])))
    assert manifest["annotations"][ANNOTATION_METHOD] == "sarif"
    assert manifest["annotations"][ANNOTATION_VERDICT] == "pass"
    statement = json.loads(RegistryClient(registry).get_blob(production, manifest["layers"][0]["digest"]))
    assert statement["predicate"]["invocation"]["parameters"]["method"] == "sarif"
    report = statement["predicate"]["decision"]
    validate_scan_report(report)
    assert report["digest"] == built.digest and report["scan"]["method"] == "sarif"
    assert report["scan"]["scanner"]["name"] == document["scanner"]["name"]
    assert [e["id"] for e in report["exceptions"]["applied"]] == ["CVE-2021-23337"]


def test_an_evaluate_verdict_for_another_digest_is_refused(
    any_registry: Registry,
    unique_repo: str,
    quarantined: AttestedImage,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    registry = any_registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    # another scanner's SARIF that names no image, vouched for by --image with a digest that is not the source's
    grype = tmp_path / "grype.sarif"
    grype.write_text(json.dumps(sarif_log([trivy_rule("CVE-2024-2222", "LOW", "2.0")],
                                          [trivy_result(0, "CVE-2024-2222", "LOW", "zlib")])))  # fmt: skip
    other = "sha256:" + "0" * 64
    code, document = _evaluate_json(capsys, str(grype), "--image", registry.ref(quarantine, TAG) + f"@{other}")
    assert code == 0 and document["verdict"] == "pass" and document["digest"] == other
    code, refused, outputs, _ = run_promote(
        registry.ref(quarantine, TAG), registry.ref(production), verdict_file=write_verdict(tmp_path, document)
    )
    assert code == 1 and refused["promoted"] is False and outputs["promoted"] == "false"
    assert f"is for {other}, but the source now resolves to {quarantined.image.digest}" in refused["refused"]
    assert RegistryClient(registry).tags(production) == []

    # without --image the same SARIF names no digest: refused too, saying why
    code, document = _evaluate_json(capsys, str(grype))
    assert code == 0 and document["digest"] is None
    code, refused, _, _ = run_promote(
        registry.ref(quarantine, TAG), registry.ref(production), verdict_file=write_verdict(tmp_path, document)
    )
    assert code == 1 and "names no image digest" in refused["refused"]
    assert RegistryClient(registry).tags(production) == []


# --- a verdict promotes only what it judged (issue 10 §4) -----------------------------------------


def _promote_refused(registry: Registry, unique_repo: str, verdict: str) -> dict[str, Any]:
    """Promote the quarantine tag with ``verdict`` (deleting the source tag): it must be refused, with
    nothing written to production and the quarantine tag in place."""
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    code, document, outputs, logs = run_promote(
        registry.ref(quarantine, TAG), registry.ref(production), verdict_file=verdict, delete_source_tag=True
    )
    assert code == 1, logs
    assert document["promoted"] is False and outputs == {"promoted": "false", "source_tag_deleted": "false"}
    client = RegistryClient(registry)
    assert client.tags(production) == []
    assert TAG in client.tags(quarantine)
    return document


def test_a_pass_for_one_platform_does_not_promote_the_whole_index(
    any_registry: Registry, unique_repo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = any_registry
    quarantine = f"{unique_repo}/quarantine"
    built = build_image(registry, quarantine, TAG)
    attach_sbom(registry, quarantine, built.children["linux/arm64"])  # lodash 4.17.20: CVE-2021-23337 (high)
    fixed = {"type": "library", "name": "lodash", "version": "4.17.21", "purl": "pkg:npm/lodash@4.17.21"}
    attach_sbom(registry, quarantine, built.children["linux/amd64"], sbom={**cyclonedx_sbom(), "components": [fixed]})
    code = cli.main(["scan", registry.ref(quarantine, TAG), "--platform", "linux/amd64", "--scanner", "osv",
                     "--osv-db", OSV_DB, "--sarif-output", str(tmp_path / "scan.sarif"), "--json"])  # fmt: skip
    scanned = json.loads(capsys.readouterr().out)
    assert code == 0 and scanned["verdict"] == "pass" and scanned["digest"] == built.digest
    assert [row["platform"] for row in scanned["platforms"]] == ["linux/amd64"]

    refused = _promote_refused(registry, unique_repo, write_verdict(tmp_path, scanned))
    assert "judged 1 of the 2 platform manifests" in refused["refused"]
    assert built.children["linux/arm64"] in refused["refused"]


@pytest.mark.parametrize("case", ["platforms-fail", "blocking-listed"])
def test_a_verdict_edited_to_pass_is_refused(
    any_registry: Registry, unique_repo: str, quarantined: AttestedImage, tmp_path: Path, case: str
) -> None:
    document = verdict_document(quarantined, excepted=False)
    assert document["verdict"] == "fail"
    document["verdict"] = "pass"  # the top line edited by hand; the platforms still fail
    if case == "blocking-listed":  # the platforms edited too: only the blocking list tells
        for row in document["platforms"]:
            row.update(verdict="pass", blocking=0, blocking_ids=[])
    refused = _promote_refused(any_registry, unique_repo, write_verdict(tmp_path, document))
    assert "contradicts itself" in refused["refused"]
    expected = "blocking finding(s)" if case == "blocking-listed" else "platform linux/amd64 did not pass"
    assert expected in refused["refused"]


@pytest.mark.parametrize("case", ["no-platforms", "no-runs"])
def test_a_verdict_that_judged_nothing_is_refused(
    any_registry: Registry, unique_repo: str, quarantined: AttestedImage, tmp_path: Path, case: str
) -> None:
    document = verdict_document(quarantined)
    if case == "no-platforms":
        document["platforms"] = []
    else:  # every platform row without a SARIF run (as if every SBOM were missing and allowed)
        for row in document["platforms"]:
            row["sources"] = []
    refused = _promote_refused(any_registry, unique_repo, write_verdict(tmp_path, document))
    assert ("judged no platform" if case == "no-platforms" else "fed by a SARIF run") in refused["refused"]


def test_an_evaluate_pass_of_a_sarif_without_runs_is_refused(
    any_registry: Registry, unique_repo: str, quarantined: AttestedImage, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    empty = tmp_path / "empty.sarif"
    empty.write_text(json.dumps({"version": "2.1.0", "runs": []}))
    pinned = any_registry.ref(f"{unique_repo}/quarantine", TAG) + f"@{quarantined.image.digest}"
    code, document = _evaluate_json(capsys, str(empty), "--image", pinned, "--allow-empty")
    assert code == 0 and document["verdict"] == "pass" and document["platforms"] == []
    refused = _promote_refused(any_registry, unique_repo, write_verdict(tmp_path, document))
    assert "judged no platform" in refused["refused"]


def test_a_verdict_on_the_same_digest_in_another_repository_is_refused(
    any_registry: Registry, unique_repo: str, quarantined: AttestedImage, tmp_path: Path
) -> None:
    document = verdict_document(quarantined)
    # the same image pushed elsewhere, where other attestations (or none) were judged
    other = any_registry.ref(f"{unique_repo}/elsewhere", TAG)
    document["image"] = other
    refused = _promote_refused(any_registry, unique_repo, write_verdict(tmp_path, document))
    assert f"judged {any_registry.host}/{unique_repo}/elsewhere" in refused["refused"]
    assert "another repository" in refused["refused"]


# --- the scan report as a signed attestation (issue 10 §4, issue 15 §1) ----------------------------


@pytest.fixture(scope="module")
def report_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The report signing key (PEM private key) and its public key, as a user makes them with openssl."""
    folder = tmp_path_factory.mktemp("report-key")
    secret = private_key("p256")
    (folder / "report-signing.pem").write_bytes(private_pem(secret))
    (folder / "report-signing.pub").write_bytes(public_pem(secret))
    return folder / "report-signing.pem", folder / "report-signing.pub"


def _cosign_verify_vuln(registry: Registry, reference: str, public: Path) -> subprocess.CompletedProcess[str]:
    return cosign("verify-attestation", "--key", str(public), "--type", "vuln", "--insecure-ignore-tlog",
                  *REGISTRY_FLAGS, reference, cwd=public.parent)  # fmt: skip


def test_a_signed_report_is_one_attestation_cosign_and_our_verifier_verify(
    any_registry: Registry, unique_repo: str, quarantined: AttestedImage, tmp_path: Path,
    report_key: tuple[Path, Path],
) -> None:  # fmt: skip
    registry = any_registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    signing, public = report_key
    verdict = write_verdict(tmp_path, verdict_document(quarantined))
    before = read_graph(registry, quarantine, TAG).referrer_digests  # the cleanup deletes them in quarantine
    code, document, outputs, logs = run_promote(
        registry.ref(quarantine, TAG), registry.ref(production), verdict_file=verdict, delete_source_tag=True,
        report_signing_key=str(signing),
    )  # fmt: skip
    assert code == 0, logs
    digest = quarantined.image.digest
    fingerprint = parse_public_keys(public.read_bytes(), "pub")[0].fingerprint
    assert document["report_signer"] == fingerprint and document["report_artifact_type"] == SIGNED_ARTIFACT_TYPE
    assert document["source_tag_deleted"] is True  # the destination, signed report included, was verified

    # one report referrer on the root: the signed bundle, no unsigned report beside it
    after = read_graph(registry, production, TAG)
    added = after.referrer_digests - before
    assert added == {outputs["report_digest"]}
    manifest = json.loads(crane(registry, "manifest", registry.ref(production, digest=outputs["report_digest"])))
    assert manifest["artifactType"] == SIGNED_ARTIFACT_TYPE
    assert manifest["annotations"]["dev.sigstore.bundle.predicateType"] == VULN_PREDICATE_TYPE
    assert manifest["annotations"]["com.cssc.scan.verdict"] == "pass"

    # cosign v3 is the referee: it finds the bundle and verifies it with the public key
    reference = registry.ref(production, digest=digest)
    verified = _cosign_verify_vuln(registry, reference, public)
    assert verified.returncode == 0, verified.stderr
    [line] = [json.loads(x) for x in verified.stdout.splitlines() if x.strip()]
    statement = json.loads(base64.b64decode(line["payload"]))
    assert statement["predicateType"] == VULN_PREDICATE_TYPE
    assert statement["subject"][0]["digest"] == {"sha256": digest[7:]}
    assert statement["predicate"]["decision"]["verdict"] == "pass"
    assert statement["predicate"]["decision"]["counts"]["high"] == 2
    # ... and refuses it with another key
    other = tmp_path / "other.pub"
    other.write_bytes(public_pem(private_key("p256")))
    assert _cosign_verify_vuln(registry, reference, other).returncode != 0

    # the project's own verifier, on the bundle as stored
    bundle = RegistryClient(registry).get_blob(production, manifest["layers"][0]["digest"])
    ours = verify_bundle(bundle, VerificationPolicy.build(keys=[str(public)], insecure_ignore_tlog=True))
    assert ours.verified and ours.signer == fingerprint and ours.statement is not None
    assert subject_matches(ours.statement, digest) and ours.statement == statement

    # a re-run reuses the signed report: it verifies under the same key and names this root
    code, again, _, _ = run_promote(
        registry.ref(quarantine, digest=digest), registry.ref(production, TAG), verdict_file=verdict,
        report_signing_key=str(signing),
    )  # fmt: skip
    assert code == 0 and again["report_reused"] is True and again["report_digest"] == outputs["report_digest"]


def test_a_planted_report_with_the_right_annotations_is_not_reused(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path, report_key: tuple[Path, Path]
) -> None:
    registry = distribution_registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    image = build_attested_image(registry, quarantine, TAG, cosign_tags=False)
    signing, public = report_key
    verdict_text = write_verdict(tmp_path, verdict_document(image))
    # someone who can write to production attaches a "report" signed by their own key, annotated as ours would be
    mallory = parse_signing_key(private_pem(private_key("p256")), "mallory")
    forged = sign_statement(
        json.dumps(
            {
                "_type": STATEMENT_V1,
                "subject": [{"name": "x", "digest": {"sha256": image.image.digest[7:]}}],
                "predicateType": VULN_PREDICATE_TYPE,
                "predicate": {},
            }
        ).encode(),
        mallory,
    )
    copy = build_image(registry, production, None, seed=0)
    assert copy.digest == image.image.digest
    planted = attach_referrer(
        registry,
        production,
        image.image.digest,
        artifact_type=SIGNED_ARTIFACT_TYPE,
        payload=forged,
        layer_media_type=SIGNED_ARTIFACT_TYPE,
        annotations={
            "com.cssc.scan.verdict": "pass",
            "vnd.image-gate.verdict-digest": verdict_digest(load_verdict(verdict_text)),
        },
    )
    code, document, _, logs = run_promote(
        registry.ref(quarantine, TAG), registry.ref(production), verdict_file=verdict_text,
        report_signing_key=str(signing),
    )  # fmt: skip
    assert code == 0, logs
    assert document["report_reused"] is False and document["report_digest"] != planted.digest
    assert _cosign_verify_vuln(registry, registry.ref(production, digest=image.image.digest), public).returncode == 0


def test_a_bad_signing_key_is_bad_input_before_anything_is_written(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path, report_key: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _, public = report_key
    registry = distribution_registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    image = build_attested_image(registry, quarantine, TAG, cosign_tags=False)
    verdict = write_verdict(tmp_path, verdict_document(image))
    for extra in (["--report-signing-key", str(public)], ["--report-signing-key", str(report_key[0]),
                                                           "--report-format", "cssc-v1"]):  # fmt: skip
        code = cli.main(["promote", registry.ref(quarantine, TAG), registry.ref(production), "--verdict", verdict,
                         *extra, "--json"])  # fmt: skip
        captured = capsys.readouterr()
        assert code == 2, captured.err
        assert json.loads(captured.out)["error"]["exit_code"] == 2
        assert ("is not a private key" if extra[-1] == str(public) else "signs the vuln report") in captured.err
    client = RegistryClient(registry)
    assert client.tags(production) == [] and TAG in client.tags(quarantine)


def test_an_inline_signing_key_is_masked_line_by_line_before_anything_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pem = private_pem(private_key("p256")).decode()
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "INPUT_COMMAND": "promote",
        "INPUT_SOURCE": "127.0.0.1:9/acme/quarantine:1",
        "INPUT_REPORT_SIGNING_KEY": pem,  # as a secret passes it; no destination: bad input after the masks
    }
    assert entrypoint.main(env) == 2
    lines = capsys.readouterr().err.splitlines()
    masks = [line.removeprefix("::add-mask::") for line in lines if line.startswith("::add-mask::")]
    first_other = next(i for i, line in enumerate(lines) if not line.startswith("::add-mask::"))
    assert first_other == len(masks)  # every mask before any other line
    assert {line for line in pem.splitlines() if line} <= set(masks)
    assert all(part not in "\n".join(lines[first_other:]) for part in pem.splitlines()[1:-1])
