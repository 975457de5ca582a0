"""The scan stage end to end: real registries (distribution 2.8 tag fallback and the referrers API), SBOMs as
referrers and as BuildKit in-index attestations, the offline OSV scanner on the project's real advisories, VEX
attached to the image, and an ``oci:`` layout written by hand (no registry at all)."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from gate.errors import InputError
from gate.oci.auth import Credential
from gate.oci.open import Access
from gate.policy.sarif import load_sarif, validate_sarif
from gate.policy.verdict import GateOptions
from gate.scan.stage import ImageScanRequest, ScanOutcome, ScanSettings, scan_image
from tests.support.faults import FaultProxy
from tests.support.images import (
    CYCLONEDX,
    OPENVEX,
    OPENVEX_TYPE,
    PREDICATE_ANNOTATION,
    SPDX,
    attach_referrer,
    attach_sbom,
    attach_vex,
    build_attested_image,
    build_image,
    cyclonedx_sbom,
    dsse_envelope,
    in_toto_statement,
    openvex_document,
    spdx_sbom,
)
from tests.support.registries import Registry, require_tool
from tests.support.trivy_db import build_trivy_db

REPO_ROOT = Path(__file__).resolve().parents[2]
OSV_DB = str(REPO_ROOT / "tests" / "data" / "osv" / "records")
HIGH = "CVE-2021-23337"  # lodash 4.17.20, CVSS 7.2: the one finding at or above "high" in the test SBOMs
MEDIUM = {"CVE-2024-29041", "CVE-2020-28500", "CVE-2024-43796"}
PLATFORMS = ("linux/amd64", "linux/arm64")


def scan(
    image: str,
    tmp_path: Path,
    *,
    gate: GateOptions | None = None,
    access: Access | None = None,
    **settings: Any,
) -> ScanOutcome:
    settings.setdefault("scanner", "osv")
    settings.setdefault("scanner_options", {"db": OSV_DB})
    request = ImageScanRequest(
        ScanSettings(image, **settings),
        gate=gate or GateOptions(),
        access=access or Access(),
        sarif_output=str(tmp_path / "out.sarif"),
    )
    return scan_image(request)


def rows(outcome: ScanOutcome) -> dict[str, dict[str, Any]]:
    return {row["platform"]: row for row in outcome.to_json()["platforms"]}


def test_referrer_sboms_every_platform_one_sarif(any_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    attested = build_attested_image(any_registry, unique_repo)
    outcome = scan(attested.image.ref, tmp_path)
    document = outcome.to_json()

    assert document["verdict"] == "fail"
    assert document["image"] == attested.image.ref and document["digest"] == attested.image.digest
    assert document["scanner"]["name"] == "osv" and document["scanner"]["version"]
    assert document["predicate_type"] == "auto"  # the default: CycloneDX, else SPDX
    by_platform = rows(outcome)
    assert set(by_platform) == set(PLATFORMS)
    for platform in PLATFORMS:
        row = by_platform[platform]
        assert row["digest"] == attested.image.child(platform)
        assert row["sbom"] is True and row["sbom_source"] == "referrer"
        assert row["sbom_attestation"] == attested.sboms[platform].digest
        assert row["sbom_predicate_type"] == CYCLONEDX and row["sbom_envelope"] == "dsse"
        assert row["components"] == 7 and row["blocking_ids"] == [HIGH]
    assert document["counts"] == {"critical": 0, "high": 2, "medium": 6, "low": 0, "none": 0}
    assert {b["id"] for b in document["blocking"]} == {HIGH}
    # The root's OpenVEX (CVE-2023-0001) was read but matches nothing.
    assert document["vex"]["statements"] == 1 and document["suppressed"] == []

    written = json.loads(Path(document["sarif_file"]).read_text())
    validate_sarif(written, "written")
    repository = f"{any_registry.host}/{unique_repo}"
    assert [r["automationDetails"]["id"] for r in written["runs"]] == [
        f"image-gate/{repository}/{p}/" for p in PLATFORMS
    ]
    for run, platform in zip(written["runs"], PLATFORMS, strict=True):
        props = run["properties"]
        assert props["platform"] == platform and props["digest"] == attested.image.child(platform)
        assert props["image"] == f"{attested.image.ref}@{attested.image.digest}"
        assert props["imageName"] == props["image"] and props["imageDigest"] == attested.image.digest
        assert {rule["id"] for rule in run["tool"]["driver"]["rules"]} == {HIGH, *MEDIUM}
        assert all(r["properties"]["purl"].startswith("pkg:npm/") for r in run["results"])
    reread = load_sarif(document["sarif_file"])  # the gate reads back what was written
    assert [r.platform for r in reread] == list(PLATFORMS)
    assert {r.image_digest for r in reread} == {attested.image.digest}
    assert document["method"] == "sbom"


def test_two_images_are_two_code_scanning_categories_and_a_prefix_keeps_two_tags_apart(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    """upload-sarif does not touch runs that have an id, so the ids keep a matrix's images apart."""
    app = build_attested_image(distribution_registry, f"{unique_repo}/app", tag="1.0")
    base = build_attested_image(distribution_registry, f"{unique_repo}/base", tag="1.0", seed=1)
    newer = build_attested_image(distribution_registry, f"{unique_repo}/base", tag="2.0", seed=2)

    def categories(image: str, where: Path, **settings: Any) -> list[str]:
        where.mkdir()
        document = scan(image, where, **settings).to_json()
        written = json.loads(Path(document["sarif_file"]).read_text())
        validate_sarif(written, "written")
        assert [run.category for run in load_sarif(document["sarif_file"])] == [
            run["automationDetails"]["id"] for run in written["runs"]
        ]
        ids: list[str] = [run["automationDetails"]["id"] for run in written["runs"]]
        return ids

    host = distribution_registry.host
    first = categories(app.image.ref, tmp_path / "app")
    second = categories(base.image.ref, tmp_path / "base")
    assert first == [f"image-gate/{host}/{unique_repo}/app/{p}/" for p in PLATFORMS]
    assert second == [f"image-gate/{host}/{unique_repo}/base/{p}/" for p in PLATFORMS]
    assert not set(first) & set(second)
    # Another tag of the same repository is the same analysis (its alerts replace the older tag's)...
    assert categories(newer.image.ref, tmp_path / "newer") == second
    # ...unless a prefix keeps it apart, as discover's matrix does for two tags used side by side.
    apart = categories(newer.image.ref, tmp_path / "apart", category="image-gate/2.0")
    assert apart == [f"image-gate/2.0/{host}/{unique_repo}/base/{p}/" for p in PLATFORMS]


def test_vex_referrer_suppresses_not_deletes(any_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    image = build_image(any_registry, unique_repo)
    for digest in image.children.values():
        attach_sbom(any_registry, unique_repo, digest)
    vex = attach_vex(any_registry, unique_repo, image.digest, HIGH)

    outcome = scan(image.ref, tmp_path)
    document = outcome.to_json()
    assert document["verdict"] == "pass"
    assert document["blocking"] == []
    assert document["counts"]["high"] == 2  # suppressed findings are still counted
    assert sorted(s["platform"] for s in document["suppressed"]) == sorted(PLATFORMS)
    for entry in document["suppressed"]:
        assert entry["id"] == HIGH and entry["package"] == "lodash"
        assert entry["status"] == "not_affected" and entry["justification"] == "vulnerable_code_not_present"
        assert entry["source"].endswith(f"@{vex.digest}") and entry["suppressed_by"] == "vex"
    assert [d["subject"] for d in document["vex"]["documents"]] == [image.digest]

    written = json.loads(Path(document["sarif_file"]).read_text())
    suppressed = [r for run in written["runs"] for r in run["results"] if r.get("suppressions")]
    assert len(suppressed) == 2 and all(r["ruleId"] == HIGH for r in suppressed)
    entry = suppressed[0]["suppressions"][0]
    assert entry["kind"] == "external" and entry["status"] == "accepted"
    assert "vulnerable_code_not_present" in entry["justification"]
    assert sum(len(run["results"]) for run in written["runs"]) == 8  # nothing deleted

    off = scan(image.ref, tmp_path, use_vex=False).to_json()
    assert off["verdict"] == "fail" and off["suppressed"] == [] and off["vex"]["enabled"] is False


def test_a_scan_with_attached_vex_lists_each_subject_once(
    any_registry: Registry, unique_repo: str, tmp_path: Path, fault_proxy: Callable[[Registry], FaultProxy]
) -> None:
    """The SBOM lookup and the VEX search share one fetcher: each referrers list and cosign tag is asked once."""
    image = build_image(any_registry, unique_repo)
    for digest in image.children.values():
        attach_sbom(any_registry, unique_repo, digest)
    attach_vex(any_registry, unique_repo, image.digest, HIGH)
    proxy = fault_proxy(any_registry)

    document = scan(proxy.registry.ref(unique_repo, "latest"), tmp_path).to_json()
    assert document["verdict"] == "pass" and len(document["suppressed"]) == 2
    asked = Counter(
        (r.method, r.path) for r in proxy.requests if re.search(r"/referrers/|/manifests/sha256-[0-9a-f]{64}", r.path)
    )
    subjects = [image.digest, *image.children.values()]
    assert {path.rsplit("/", 1)[-1].replace("sha256-", "sha256:").removesuffix(".att") for _, path in asked} == set(
        subjects
    )
    assert [key for key, count in asked.items() if count > 1] == []


def test_vex_on_one_platform_with_a_package_subcomponent(
    referrers_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    image = build_image(referrers_registry, unique_repo)
    for digest in image.children.values():
        attach_sbom(referrers_registry, unique_repo, digest)
    amd64 = image.child("linux/amd64")
    document = openvex_document(f"pkg:oci/{unique_repo.rsplit('/', 1)[-1]}@{amd64}", HIGH, status="fixed")
    document["statements"][0]["products"][0]["subcomponents"] = [{"@id": "pkg:npm/lodash@4.17.20"}]
    statement = in_toto_statement(f"{referrers_registry.host}/{unique_repo}", amd64, OPENVEX, document)
    attach_referrer(
        referrers_registry, unique_repo, amd64, artifact_type="application/vnd.in-toto+json",
        payload=json.dumps(dsse_envelope(statement)).encode(), layer_media_type="application/vnd.in-toto+json",
        layer_annotations={PREDICATE_ANNOTATION: OPENVEX},
    )  # fmt: skip

    outcome = scan(image.ref, tmp_path)
    result = outcome.to_json()
    assert [(s["platform"], s["status"]) for s in result["suppressed"]] == [("linux/amd64", "fixed")]
    assert rows(outcome)["linux/arm64"]["blocking_ids"] == [HIGH]
    assert rows(outcome)["linux/amd64"]["vex_suppressed"] == 1
    assert result["verdict"] == "fail"


def test_buildkit_in_index_bare_statements(any_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    image = build_image(any_registry, unique_repo, buildkit_attestations=True, sbom_predicate=CYCLONEDX)
    outcome = scan(image.ref, tmp_path)
    by_platform = rows(outcome)
    for platform in PLATFORMS:
        assert by_platform[platform]["sbom_source"] == "in-index"
        assert by_platform[platform]["sbom_attestation"] == image.attestations[platform]
        assert by_platform[platform]["sbom_envelope"] == "statement"
    assert outcome.verdict == "fail"
    # SPDX from the same kind of image: selected by predicate type, scanned as SPDX.
    spdx_image = build_image(
        any_registry, unique_repo, tag="spdx", buildkit_attestations=True, sbom_predicate=f"{SPDX}/v2.3", seed=1
    )
    spdx = scan(spdx_image.ref, tmp_path, sbom_predicate_type="spdx").to_json()
    assert {p["bom_format"] for p in spdx["platforms"]} == {"spdx"}
    assert {p["sbom_predicate_type"] for p in spdx["platforms"]} == {f"{SPDX}/v2.3"}
    assert {b["id"] for b in spdx["blocking"]} == {HIGH}


def test_spdx_or_cyclonedx_selected_among_several_referrers(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    image = build_image(distribution_registry, unique_repo, platforms=("linux/amd64",))
    digest = image.child("linux/amd64")
    cdx = attach_sbom(distribution_registry, unique_repo, digest, predicate_type=CYCLONEDX)
    spdx = attach_sbom(distribution_registry, unique_repo, digest, predicate_type=SPDX, envelope=False)
    picked = {
        kind: rows(scan(image.ref, tmp_path, sbom_predicate_type=kind))["linux/amd64"] for kind in ("cyclonedx", "spdx")
    }
    assert picked["cyclonedx"]["sbom_attestation"] == cdx.digest and picked["cyclonedx"]["bom_format"] == "cyclonedx"
    assert picked["spdx"]["sbom_attestation"] == spdx.digest and picked["spdx"]["bom_format"] == "spdx"
    assert picked["spdx"]["sbom_envelope"] == "statement"
    exact = rows(scan(image.ref, tmp_path, sbom_predicate_type=SPDX))["linux/amd64"]
    assert exact["sbom_attestation"] == spdx.digest


def test_platform_without_sbom_blocks_unless_allowed(any_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    image = build_image(any_registry, unique_repo)
    attach_sbom(any_registry, unique_repo, image.child("linux/amd64"))
    lenient = GateOptions(severity_threshold="critical")

    blocked = scan(image.ref, tmp_path, gate=lenient).to_json()
    assert blocked["verdict"] == "fail" and blocked["blocking"] == []
    arm = next(p for p in blocked["platforms"] if p["platform"] == "linux/arm64")
    assert arm["sbom"] is False and arm["verdict"] == "fail" and "no SBOM" in arm["reason"]
    assert arm["digest"] == image.child("linux/arm64") and arm["sbom_attestation"] is None
    written = json.loads(Path(blocked["sarif_file"]).read_text())
    assert [r["properties"]["platform"] for r in written["runs"]] == ["linux/amd64"]

    allowed = scan(image.ref, tmp_path, gate=GateOptions(severity_threshold="critical", allow_missing_sbom=True))
    assert allowed.verdict == "pass"
    assert any("without an SBOM were allowed" in note for note in allowed.gate.notes)


def test_platform_filter(distribution_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    image = build_image(distribution_registry, unique_repo)
    attach_sbom(distribution_registry, unique_repo, image.child("linux/arm64"))
    outcome = scan(image.ref, tmp_path, platforms=("linux/arm64",))
    assert list(rows(outcome)) == ["linux/arm64"] and outcome.verdict == "fail"
    with pytest.raises(InputError, match=r"linux/s390x is not in .* \(it has: linux/amd64, linux/arm64\)"):
        scan(image.ref, tmp_path, platforms=("linux/s390x",))


def test_unchecked_components_listed_and_blocking_on_request(
    referrers_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    image = build_image(referrers_registry, unique_repo, platforms=("linux/amd64",), index=False)
    sbom = cyclonedx_sbom()
    sbom["components"].append({"type": "library", "name": "mystery-lib", "version": "1.0"})
    sbom["components"].append({"type": "library", "name": "ok", "version": "1", "purl": "pkg:hackage/ok@1"})
    sbom["components"].append(
        {"type": "container", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20"}
    )
    sbom["components"].append({"type": "file", "name": "/app/package.json"})
    sbom["components"].append({"type": "library", "version": "2"})
    attach_sbom(referrers_registry, unique_repo, image.digest, sbom=sbom)
    lenient = GateOptions(severity_threshold="critical")

    listed = scan(image.ref, tmp_path, gate=lenient).to_json()
    assert listed["verdict"] == "pass"
    reasons = {c["name"]: c["reason"] for c in listed["unchecked_components"]}
    assert (reasons["mystery-lib"], reasons["ok"]) == ("no purl", "ecosystem 'hackage' is not supported")
    # Typed container or file, or nameless: listed, never skipped silently (they used to pass even with
    # fail_on_unchecked)
    assert reasons["lodash"] == "component type container: an image, not scanned"
    assert reasons["/app/package.json"] == "component type file without a purl: not a package"
    assert reasons[""] == "a component without a name or a purl"
    # The project's test database has no Alpine 3.18, Debian 12 or PyPI record: those are not "clean"
    assert reasons["busybox"] == reasons["libcrypto3"] == "no advisories for Alpine:v3.18 in the database"
    assert reasons["openssl"] == "no advisories for Debian:12 in the database"
    assert reasons["requests"] == reasons["urllib3"] == "no advisories for PyPI in the database"
    assert all(c["platform"] == "linux/amd64" and c["reason"] for c in listed["unchecked_components"])

    strict = scan(image.ref, tmp_path, gate=lenient, fail_on_unchecked=True).to_json()
    assert strict["verdict"] == "fail"
    assert f"{len(reasons)} unchecked component(s)" in strict["platforms"][0]["reason"]


def test_vex_file_and_bad_vex_file(distribution_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    image = build_image(distribution_registry, unique_repo, platforms=("linux/amd64",))
    attach_sbom(distribution_registry, unique_repo, image.child("linux/amd64"))
    vex = tmp_path / "vex.json"
    vex.write_text(json.dumps(openvex_document("pkg:npm/lodash", HIGH)))
    outcome = scan(image.ref, tmp_path, vex_files=(str(vex),)).to_json()
    assert outcome["verdict"] == "pass"
    assert outcome["suppressed"][0]["source"] == str(vex)

    bad = tmp_path / "bad.json"
    bad.write_text('{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "nope"}]}')
    with pytest.raises(InputError, match=r"bad\.json"):
        scan(image.ref, tmp_path, vex_files=(str(bad),))
    with pytest.raises(InputError, match=r"missing\.json"):
        scan(image.ref, tmp_path, vex_files=(str(tmp_path / "missing.json"),))


def test_malformed_attached_vex_is_a_note_not_a_crash(
    referrers_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    image = build_image(referrers_registry, unique_repo, platforms=("linux/amd64",))
    attach_sbom(referrers_registry, unique_repo, image.child("linux/amd64"))
    attach_referrer(
        referrers_registry, unique_repo, image.digest, artifact_type=OPENVEX_TYPE, payload=b'{"statements": 1}',
        layer_media_type=OPENVEX_TYPE,
    )  # fmt: skip
    outcome = scan(image.ref, tmp_path)
    assert outcome.verdict == "fail"  # without the VEX the gate is only stricter
    assert any("not applied" in note for note in outcome.scan.notes)


def test_credentials_reach_a_basic_auth_registry(
    basic_auth_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    image = build_image(basic_auth_registry, unique_repo, platforms=("linux/amd64",))
    attach_sbom(basic_auth_registry, unique_repo, image.child("linux/amd64"))
    assert basic_auth_registry.username and basic_auth_registry.password
    access = Access(
        explicit={basic_auth_registry.host: Credential(basic_auth_registry.username, basic_auth_registry.password)}
    )
    assert scan(image.ref, tmp_path, access=access).verdict == "fail"


# ------------------------------------------------------------------------------------------ oci layout


class HandLayout:
    """An OCI image layout written with plain file I/O (independent of gate.oci)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        self.entries: list[dict[str, Any]] = []

    def blob(self, data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        (self.root / "blobs" / "sha256" / digest[7:]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data), **extra}

    def json_blob(self, value: Mapping[str, Any], media_type: str, **extra: Any) -> dict[str, Any]:
        return self.blob(json.dumps(value, sort_keys=True).encode(), media_type, **extra)

    def write_index(self) -> None:
        (self.root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": self.entries}))


def test_oci_layout_with_no_registry(tmp_path: Path) -> None:
    layout = HandLayout(tmp_path / "layout")
    empty = layout.blob(b"{}", "application/vnd.oci.empty.v1+json")
    children = []
    for platform in PLATFORMS:
        os_name, arch = platform.split("/")
        config = layout.json_blob({"os": os_name, "architecture": arch, "rootfs": {"type": "layers", "diff_ids": []}},
                                  "application/vnd.oci.image.config.v1+json")  # fmt: skip
        manifest = layout.json_blob(
            {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": config,
             "layers": []},
            "application/vnd.oci.image.manifest.v1+json", platform={"os": os_name, "architecture": arch},
        )  # fmt: skip
        children.append(manifest)
    index = layout.json_blob(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": children},
        "application/vnd.oci.image.index.v1+json",
        annotations={"org.opencontainers.image.ref.name": "v1"},
    )
    layout.entries.append(index)
    for number, child in enumerate(children):
        subject = {k: child[k] for k in ("mediaType", "digest", "size")}
        document = spdx_sbom(number) if number else cyclonedx_sbom(number)
        statement = in_toto_statement("app", child["digest"], CYCLONEDX if not number else SPDX, document)
        payload = json.dumps(dsse_envelope(statement)).encode()
        layer = layout.blob(payload, "application/vnd.in-toto+json",
                            annotations={PREDICATE_ANNOTATION: CYCLONEDX if not number else SPDX})  # fmt: skip
        referrer = layout.json_blob(
            {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
             "artifactType": "application/vnd.in-toto+json", "config": empty, "layers": [layer], "subject": subject},
            "application/vnd.oci.image.manifest.v1+json", artifactType="application/vnd.in-toto+json",
        )  # fmt: skip
        layout.entries.append(referrer)
    vex = layout.blob(json.dumps(openvex_document(index["digest"], HIGH)).encode(), OPENVEX_TYPE)
    layout.entries.append(
        layout.json_blob(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": OPENVEX_TYPE,
                "config": empty,
                "layers": [vex],
                "subject": {k: index[k] for k in ("mediaType", "digest", "size")},
            },
            "application/vnd.oci.image.manifest.v1+json",
            artifactType=OPENVEX_TYPE,
        )
    )
    layout.write_index()

    outcome = scan(f"oci:{layout.root}:v1", tmp_path, sbom_predicate_type="cyclonedx")
    document = outcome.to_json()
    assert document["digest"] == index["digest"]
    by_platform = rows(outcome)
    assert by_platform["linux/amd64"]["sbom"] is True and by_platform["linux/arm64"]["sbom"] is False
    assert by_platform["linux/amd64"]["vex_suppressed"] == 1
    assert document["verdict"] == "fail" and "no SBOM" in by_platform["linux/arm64"]["reason"]
    assert "sbom_predicate_type spdx (or auto) selects" in by_platform["linux/arm64"]["reason"]
    mixed = rows(scan(f"oci:{layout.root}:v1", tmp_path))  # auto: each platform its own kind
    assert (mixed["linux/amd64"]["bom_format"], mixed["linux/arm64"]["bom_format"]) == ("cyclonedx", "spdx")
    spdx = rows(scan(f"oci:{layout.root}:v1", tmp_path, sbom_predicate_type="spdx"))
    assert (spdx["linux/amd64"]["sbom"], spdx["linux/arm64"]["sbom"]) == (False, True)
    assert spdx["linux/arm64"]["bom_format"] == "spdx"


def test_trivy_backend(any_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    """The real Trivy, offline on the test database, finds what the OSV scanner finds in the test SBOM."""
    image = build_image(any_registry, unique_repo, "latest", PLATFORMS)
    sbom = cyclonedx_sbom()
    # Trivy refuses an SBOM with two kinds of OS packages ("multiple types of OS packages in SBOM are not
    # supported"): the test SBOM's apk and deb ones. The deb one matches no record, so drop it.
    sbom["components"] = [c for c in sbom["components"] if not c["purl"].startswith("pkg:deb/")]
    for digest in image.children.values():
        attach_sbom(any_registry, unique_repo, digest, sbom=sbom)
    offline = {
        "executable": require_tool("trivy"),
        "skip_db_update": True,
        "skip_java_db_update": True,
        "offline_scan": True,
        "cache_dir": str(build_trivy_db(tmp_path / "trivy")),
    }
    outcome = scan(image.ref, tmp_path, scanner="trivy", scanner_options=offline)
    document = outcome.to_json()
    assert document["scanner"]["name"] == "trivy"
    assert {p["platform"] for p in document["platforms"]} == set(PLATFORMS)
    sarif = json.loads(Path(document["sarif_file"]).read_text())
    validate_sarif(sarif, "trivy")
    for run in sarif["runs"]:
        assert {result["ruleId"] for result in run["results"]} == {HIGH, *MEDIUM}
