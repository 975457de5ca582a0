"""``--sbom-fallback layers``: images without any SBOM, inventoried from their layers by the real Trivy.

The images hold real package databases (tests/support/rootfs.py): a Debian root file system of real
bookworm packages with dpkg's ``status``, the same packages distroless-style (``status.d``), and
npm and Python packages. Each is pushed as a two-platform image without attestations to a real
registry. What Trivy inventories is checked against what the packages' own control files say (worked
out here, not taken from Trivy), and the OSV scanner must see every one of those packages.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from gate import cli
from gate.attest.lookup import PlatformSbom
from gate.attest.verify.policy import VerificationPolicy
from gate.commands import load
from gate.config import ActionInputs
from gate.errors import InputError, RuntimeFailure
from gate.oci.open import Access, open_target, registry_pool
from gate.oci.reference import parse_target_reference
from gate.oci.target import Descriptor, Target
from gate.promote.report import build_scan_report
from gate.sbom.components import Component, Inventory, inventory_from_document
from gate.scan import layers
from gate.scan.defaults import check_sbom_fallback
from gate.scan.layers import LAYERS_SOURCE, LayerBom, LayerFallback
from gate.scan.stage import ImageScanRequest, ScanOutcome, ScanSettings, scan_image
from gate.scan.summary import render
from gate.scanners.osv import ecosystems
from gate.scanners.osv.scanner import from_options
from tests.attest.verify.cosign_tool import make_keys
from tests.options.commands import INPUTS, command_config
from tests.scan.signed import attach_unsigned_sbom, empty_sbom
from tests.support.registries import Registry, require_tool
from tests.support.rootfs import (
    DEBIAN_ARCHITECTURES,
    DEBIAN_PACKAGES,
    NPM_PACKAGES,
    PYPI_PACKAGES,
    DebianPackage,
    PushedImage,
    debian_rootfs,
    distroless_rootfs,
    language_rootfs,
    make_dirs,
    push_rootfs_image,
)
from tests.support.trivy_db import build_trivy_db

REPO_ROOT = Path(__file__).resolve().parents[2]
OSV_DB = str(REPO_ROOT / "tests" / "data" / "osv" / "records")
PLATFORMS = ("linux/amd64", "linux/arm64")

# By hand, from tests/data/osv/records/npm: the advisories whose ranges hold NPM_PACKAGES' versions.
NPM_FINDINGS = {
    ("lodash", "4.17.20", "CVE-2020-28500"),  # GHSA-29mw-wpgm-hmr9: < 4.17.21
    ("lodash", "4.17.20", "CVE-2021-23337"),  # GHSA-35jh-r3h4-6jhm: < 4.17.21
    ("minimist", "1.2.5", "CVE-2021-44906"),  # GHSA-xvch-5gv4-984h: 1.0.0 - < 1.2.6
}  # semver 7.6.2 is fixed (GHSA-c2qf-rxjj-qqgw: 7.0.0 - < 7.5.2); left-pad has no record
# At or above the default threshold (high): lodash's CVE-2021-23337 (HIGH, CVSS 7.2) and minimist's
# CVE-2021-44906 (CRITICAL, 9.8); lodash's CVE-2020-28500 is MODERATE.
BLOCKING = {"CVE-2021-23337", "CVE-2021-44906"}


def trivy_options(**extra: Any) -> dict[str, Any]:
    return {"executable": require_tool("trivy"), **extra}


@contextmanager
def registry_target(ref: str) -> Iterator[Target]:
    with registry_pool(Access(), environ={}) as pool:
        yield open_target(parse_target_reference(ref), pool)


def inventory(image: PushedImage, platform: str, workdir: Path, **options: Any) -> LayerBom:
    workdir.mkdir(parents=True, exist_ok=True)
    with (
        registry_target(image.ref) as target,
        LayerFallback(target, workdir, enabled=True, trivy_options=trivy_options(**options)) as fallback,
    ):
        found = fallback.inventory(PlatformSbom(platform, image.children[platform]), 0)
    assert found is not None
    return found


def packages(found: LayerBom, kind: str) -> dict[str, Component]:
    document = inventory_from_document(found.bom.document, "trivy", "cyclonedx")
    return {c.name: c for c in document.components if c.purl_type == kind}


def osv_packages(found: LayerBom) -> set[tuple[str, str, str]]:
    """(ecosystem, OSV package name, version) of every component the OSV scanner can look up."""
    document: Inventory = inventory_from_document(found.bom.document, "trivy", "cyclonedx")
    resolved = set()
    for component in document.components:
        target = ecosystems.resolve(component, document.operating_system)
        assert isinstance(target, ecosystems.OsvPackage), (component, target)
        resolved.add((target.ecosystem, target.name, target.version))
    return resolved


@pytest.fixture(scope="module")
def debian_images(distribution_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The Debian image and the distroless one, each amd64 + arm64, and each platform's packages."""
    base = tmp_path_factory.mktemp("debian")
    result: dict[str, Any] = {"packages": {}}
    for kind, build in (("debian", debian_rootfs), ("distroless", distroless_rootfs)):
        roots = {}
        for platform, arch in DEBIAN_ARCHITECTURES.items():
            (root,) = make_dirs(base, f"{kind}-{arch}")
            result["packages"][platform] = build(arch, root)
            roots[platform] = [root]
        result[kind] = push_rootfs_image(distribution_registry, f"layers/{kind}", "bookworm", roots)
    return result


def expected_debs(packages: list[DebianPackage]) -> dict[str, tuple[str, str, str]]:
    return {p.name: (p.version, p.architecture, p.source) for p in packages}


@pytest.mark.parametrize("kind", ["debian", "distroless"])
def test_debian_packages_from_the_layers_are_what_their_control_files_say(
    debian_images: dict[str, Any], kind: str, tmp_path: Path
) -> None:
    for platform in PLATFORMS:
        found = inventory(debian_images[kind], platform, tmp_path)
        debs = packages(found, "deb")
        want = expected_debs(debian_images["packages"][platform])
        assert set(want) == set(DEBIAN_PACKAGES)
        assert {name: (c.version, c.qualifier("arch"), c.source_name or name) for name, c in debs.items()} == want
        document = inventory_from_document(found.bom.document, "trivy", "cyclonedx")
        assert document.operating_system is not None and document.operating_system.name == "debian"
        assert document.operating_system.version.startswith("12")
        # The OSV scanner looks every package up in Debian:12 by its source package.
        assert osv_packages(found) == {("Debian:12", source, version) for version, _, source in want.values()}
        assert found.entry.source == LAYERS_SOURCE and found.entry.sbom is not None
        assert found.layers == 1 and found.layer_bytes > 0
        assert list(tmp_path.iterdir()) == []  # the private layout is gone


@pytest.fixture(scope="module")
def language_image(distribution_registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> PushedImage:
    base = tmp_path_factory.mktemp("language")
    amd64, arm64 = make_dirs(base, "amd64", "arm64")
    language_rootfs(amd64)
    language_rootfs(arm64)
    return push_rootfs_image(
        distribution_registry, "layers/language", "v1", {"linux/amd64": [amd64], "linux/arm64": [arm64]}
    )


def test_language_packages_from_the_layers_and_their_vulnerabilities(
    language_image: PushedImage, tmp_path: Path
) -> None:
    scanner = from_options({"db": OSV_DB, "cache_dir": str(tmp_path / "osv-cache")})
    for platform in PLATFORMS:
        found = inventory(language_image, platform, tmp_path / platform.replace("/", "-"))
        npm = packages(found, "npm")
        pypi = packages(found, "pypi")
        assert {name: c.version for name, c in npm.items()} == NPM_PACKAGES
        assert {name: c.version for name, c in pypi.items()} == PYPI_PACKAGES
        assert osv_packages(found) == {("npm", n, v) for n, v in NPM_PACKAGES.items()} | {
            ("PyPI", n, v) for n, v in PYPI_PACKAGES.items()
        }
        report = scanner.match(inventory_from_document(found.bom.document, "trivy", "cyclonedx"))
        # The test database has no PyPI advisories: the scanner says so rather than passing them silently.
        assert {(c.name, c.version, c.reason) for c in report.unchecked} == {
            (n, v, "no advisories for PyPI in the database") for n, v in PYPI_PACKAGES.items()
        }
        assert {(f.package, f.installed, f.id) for f in report.findings} == NPM_FINDINGS


def test_credentials_stay_with_image_gate(
    basic_auth_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry that wants a password: our client copies the layers; Trivy only ever sees a local layout."""
    (root,) = make_dirs(tmp_path, "root")
    language_rootfs(root)
    image = push_rootfs_image(basic_auth_registry, "layers/private", "v1", {"linux/amd64": [root]})
    assert basic_auth_registry.username and basic_auth_registry.password
    access = Access(explicit={basic_auth_registry.host: _credential(basic_auth_registry)})
    monkeypatch.setenv("INPUT_SOURCE_PASSWORD", basic_auth_registry.password)
    workdir = tmp_path / "work"
    workdir.mkdir()
    with (
        registry_pool(access, environ={}) as pool,
        LayerFallback(
            open_target(parse_target_reference(image.ref), pool), workdir, enabled=True, trivy_options=trivy_options()
        ) as fallback,
    ):
        found = fallback.inventory(PlatformSbom("linux/amd64", image.children["linux/amd64"]), 0)
    assert found is not None and set(packages(found, "npm")) == set(NPM_PACKAGES)
    assert basic_auth_registry.password not in json.dumps(found.bom.document)


def _credential(registry: Registry) -> Any:
    from gate.oci.auth import Credential

    assert registry.username and registry.password
    return Credential(registry.username, registry.password)


def test_disabled_or_with_an_sbom_does_nothing(language_image: PushedImage, tmp_path: Path) -> None:
    entry = PlatformSbom("linux/amd64", language_image.children["linux/amd64"])
    with registry_target(language_image.ref) as target:
        with LayerFallback(target, tmp_path, enabled=False) as fallback:
            assert fallback.inventory(entry, 0) is None
        with LayerFallback(target, tmp_path, enabled=True, trivy_options=trivy_options()) as fallback:
            found = fallback.inventory(entry, 0)
            assert found is not None
            assert fallback.inventory(found.entry, 1) is None  # it has an SBOM now
    assert list(tmp_path.iterdir()) == []


class Interrupting:
    """A target whose blobs raise ``KeyboardInterrupt`` part-way (Ctrl-C during the copy)."""

    def __init__(self, target: Target) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def open_blob(self, descriptor: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        @contextmanager
        def chunks() -> Iterator[Iterator[bytes]]:
            with self._target.open_blob(descriptor) as inner:

                def stream() -> Iterator[bytes]:
                    for chunk in inner:
                        yield chunk
                        raise KeyboardInterrupt

                yield stream()

        return chunks()


def test_the_layout_is_removed_on_ctrl_c_and_on_errors(language_image: PushedImage, tmp_path: Path) -> None:
    entry = PlatformSbom("linux/amd64", language_image.children["linux/amd64"])
    with registry_target(language_image.ref) as target:
        with (
            pytest.raises(KeyboardInterrupt),
            LayerFallback(Interrupting(target), tmp_path, enabled=True, trivy_options=trivy_options()) as fallback,
        ):  # type: ignore[arg-type]
            fallback.inventory(entry, 0)
        assert list(tmp_path.iterdir()) == []
        with (
            pytest.raises(RuntimeFailure, match="not found"),
            LayerFallback(
                target, tmp_path, enabled=True, trivy_options={"executable": str(tmp_path / "no-trivy")}
            ) as fallback,
        ):
            fallback.inventory(entry, 0)
        assert list(tmp_path.iterdir()) == []


def test_sigterm_becomes_an_exit_while_layouts_may_exist(language_image: PushedImage, tmp_path: Path) -> None:
    """SIGTERM (a cancelled job) unwinds like Ctrl-C, so the layouts go; the handler is put back after."""
    before = signal.getsignal(signal.SIGTERM)
    assert before == signal.SIG_DFL
    with registry_target(language_image.ref) as target:
        with pytest.raises(SystemExit) as info, LayerFallback(target, tmp_path, enabled=True):
            signal.raise_signal(signal.SIGTERM)
        assert info.value.code == 128 + signal.SIGTERM
        with LayerFallback(target, tmp_path, enabled=False):
            assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # off: nothing installed
    assert signal.getsignal(signal.SIGTERM) == before


def test_bad_platform_manifests_are_refused(
    language_image: PushedImage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        registry_target(language_image.ref) as target,
        LayerFallback(target, tmp_path, enabled=True, trivy_options=trivy_options()) as fallback,
    ):
        with pytest.raises(InputError, match="not an image manifest with layers"):
            fallback.inventory(PlatformSbom("linux/amd64", language_image.digest), 0)  # the index itself
        monkeypatch.setattr(layers, "MAX_LAYER_BYTES", 100)
        with pytest.raises(InputError, match="more than the 100 bytes"):
            fallback.inventory(PlatformSbom("linux/amd64", language_image.children["linux/amd64"]), 0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("given", "expected"), [("none", "none"), ("LAYERS", "layers"), (" layers ", "layers")])
def test_fallback_values(given: str, expected: str) -> None:
    assert check_sbom_fallback(given) == expected


def test_bad_fallback_value() -> None:
    with pytest.raises(InputError, match="sbom_fallback: 'image' is not one of none, layers"):
        check_sbom_fallback("image")


def scan(image: str, tmp_path: Path, **settings: Any) -> ScanOutcome:
    settings.setdefault("scanner", "osv")
    settings.setdefault("scanner_options", {"db": OSV_DB, "cache_dir": str(tmp_path / "osv-cache")})
    settings.setdefault("trivy_options", trivy_options())
    request = ImageScanRequest(ScanSettings(image, **settings), sarif_output=str(tmp_path / "out.sarif"))
    return scan_image(request)


def test_an_image_without_sbom_blocks_by_default(language_image: PushedImage, tmp_path: Path) -> None:
    document = scan(language_image.ref, tmp_path).to_json()
    assert document["verdict"] == "fail" and document["method"] == "sbom"
    assert {row["platform"]: row["sbom_source"] for row in document["platforms"]} == dict.fromkeys(PLATFORMS)
    assert all(row["reason"] for row in document["platforms"])
    assert any("sbom_fallback layers (--sbom-fallback layers) would inventory" in n for n in document["scan_notes"])


def test_an_image_without_sbom_scans_from_its_layers_and_blocks_on_what_they_hold(
    language_image: PushedImage, tmp_path: Path
) -> None:
    outcome = scan(language_image.ref, tmp_path, sbom_fallback="layers")
    document = outcome.to_json()
    assert document["verdict"] == "fail" and document["method"] == "image"
    rows = {row["platform"]: row for row in document["platforms"]}
    assert set(rows) == set(PLATFORMS)
    for row in rows.values():
        assert row["sbom_source"] == LAYERS_SOURCE and not row["sbom_attestation"]
        assert row["bom_format"] == "cyclonedx" and row["components"] == len(NPM_PACKAGES) + len(PYPI_PACKAGES)
        assert row["reason"] is None  # scanned: blocked by its findings, not by a missing SBOM
    assert {(b["platform"], b["id"]) for b in document["blocking"]} == {(p, v) for p in PLATFORMS for v in BLOCKING}
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    for run in sarif["runs"]:
        assert run["properties"]["sbomSource"] == LAYERS_SOURCE
        found = {(r["properties"]["purl"], r["ruleId"]) for r in run["results"]}
        assert {rule for _, rule in found} == {vuln for _, _, vuln in NPM_FINDINGS}
    assert any(
        "inventoried from the image's layers" in note and "linux/arm64" in note for note in document["scan_notes"]
    )
    summary = render(outcome)
    assert "inventoried from the image&#39;s layers" in summary and "linux/amd64, linux/arm64." in summary  # escaped
    assert summary.count("| layers |") == len(PLATFORMS)  # "found as" in the SBOM table
    report = build_scan_report(document)
    assert report.method == report.annotations()["com.cssc.scan.method"] == "image"
    for platform in report.document["platforms"]:  # each platform says where its inventory came from
        assert platform["sbom"] == {
            "attestation": None, "layer": None, "predicate_type": "https://cyclonedx.org/bom", "source": "layers",
            "verified": False, "signer": None,
        }  # fmt: skip
    assert not any(tmp_path.glob("**/oci-layout"))  # no layout left behind


def test_trivy_scans_the_inventory_from_the_layers_as_the_osv_scanner_does(
    language_image: PushedImage, tmp_path: Path
) -> None:
    """``scanner: trivy`` on the same inventory, offline on the test database built from the same records."""
    cache = build_trivy_db(tmp_path / "trivy-db")
    options = {"skip_db_update": True, "skip_java_db_update": True, "offline_scan": True, "cache_dir": str(cache)}
    outcome = scan(
        language_image.ref,
        tmp_path,
        sbom_fallback="layers",
        scanner="trivy",
        scanner_options={"executable": require_tool("trivy"), **options},
        trivy_options=trivy_options(**options),
    )
    document = outcome.to_json()
    assert document["scanner"]["name"] == "trivy" and document["method"] == "image"
    for run in outcome.scan.sarif_log["runs"]:
        assert {r["ruleId"] for r in run["results"]} == {vuln for _, _, vuln in NPM_FINDINGS}
    assert {(b["platform"], b["id"]) for b in document["blocking"]} == {(p, v) for p in PLATFORMS for v in BLOCKING}


def test_the_next_platform_is_copied_while_trivy_reads_and_removed_when_unused(
    language_image: PushedImage, tmp_path: Path
) -> None:
    entries = [PlatformSbom(platform, language_image.children[platform]) for platform in PLATFORMS]
    with (
        registry_target(language_image.ref) as target,
        LayerFallback(target, tmp_path, enabled=True, trivy_options=trivy_options(), platforms=entries) as fallback,
    ):
        found = fallback.inventory(entries[0], 0)
        assert found is not None and set(packages(found, "npm")) == set(NPM_PACKAGES)
        ahead = [thread for thread in threading.enumerate() if thread.name.startswith("gate-layers")]
        assert ahead  # the copy of linux/arm64 was started before Trivy ran on linux/amd64
    # The scan ended before linux/arm64 was inventoried (an error elsewhere): its copy is gone too.
    assert list(tmp_path.iterdir()) == []
    assert not any(thread.is_alive() for thread in ahead)


@pytest.mark.parametrize("command", ["scan", "promote", "pipeline"])
def test_the_option_from_both_edges(command: str) -> None:
    """``--sbom-fallback`` / input ``sbom_fallback``: ``none`` by default, reaches the stage with Trivy's
    options; anything but none or layers is bad input naming the option."""
    assert command_config(command).sbom_fallback == "none"
    config = command_config(command, "--sbom-fallback", "layers", "--trivy-timeout", "60")
    settings = config.scan_settings("registry.example/app:1")
    assert settings.sbom_fallback == "layers" and settings.trivy_options["timeout_seconds"] == 60.0
    inputs = ActionInputs({**INPUTS[command], "INPUT_SBOM_FALLBACK": "Layers"})
    assert load(command).config_from_inputs(inputs).sbom_fallback == "layers"
    assert load(command).config_from_inputs(ActionInputs(INPUTS[command])).sbom_fallback == "none"
    with pytest.raises(InputError, match="sbom_fallback: 'image' is not one of none, layers"):
        load(command).config_from_inputs(ActionInputs({**INPUTS[command], "INPUT_SBOM_FALLBACK": "image"}))


def test_a_bad_value_on_the_command_line_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["scan", "registry.example/app:1", "--sbom-fallback", "image"])
    assert info.value.code == 2
    assert "invalid choice: 'image' (choose from 'none', 'layers')" in capsys.readouterr().err


def test_verified_mode_scans_the_layers_of_a_platform_whose_sbom_does_not_verify(
    distribution_registry: Registry, unique_repo: str, tmp_path: Path
) -> None:
    """In verified mode an unsigned SBOM does not count: without the fallback the platform blocks ("no verified
    SBOM"); with it the platform is inventoried from its own layers (what the digest names, nothing anyone could
    attach), so an unsigned, empty SBOM still cannot hide what the layers hold. The SBOM stays listed as left out."""
    (root,) = make_dirs(tmp_path, "root")
    language_rootfs(root)
    image = push_rootfs_image(distribution_registry, f"{unique_repo}/app", "v1", {"linux/amd64": [root]})
    unsigned = attach_unsigned_sbom(
        distribution_registry, f"{unique_repo}/app", image.children["linux/amd64"], empty_sbom()
    )
    (folder,) = make_dirs(tmp_path, "keys")
    keys = make_keys(folder, ("p256",))
    policy = VerificationPolicy.build(keys=[str(keys.public("p256"))])

    blocked = scan(image.ref, tmp_path, verification=policy).to_json()
    (row,) = blocked["platforms"]
    assert blocked["verdict"] == "fail" and row["reason"].startswith("no SBOM: no verified SBOM")

    layered = scan(image.ref, tmp_path, verification=policy, sbom_fallback="layers").to_json()
    (row,) = layered["platforms"]
    assert row["sbom_source"] == LAYERS_SOURCE and row["reason"] is None and layered["method"] == "image"
    assert {b["id"] for b in layered["blocking"]} == BLOCKING
    assert [item["digest"] for item in layered["unverified_attestations"]] == [unsigned.digest]
