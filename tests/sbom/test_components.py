"""Components from CycloneDX and SPDX JSON SBOMs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import InputError
from gate.sbom.components import OperatingSystem, inventory_from_document, parse_purl, read_inventory

REAL_WORLD = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "real-world"


def _real(name: str) -> Path:
    path = REAL_WORLD / name
    if not path.is_file():
        pytest.skip(f"real-world fixture {name} absent")
    return path


def test_real_cyclonedx_image_sbom_yields_apk_and_npm_components_and_the_os() -> None:
    inventory = read_inventory(_real("node-alpine-image.cdx.json"))
    assert inventory.operating_system == OperatingSystem("alpine", "3.23.3")
    by_name = {c.name: c for c in inventory.components}
    libcrypto = by_name["libcrypto3"]
    assert libcrypto.purl_type == "apk" and libcrypto.namespace == "alpine"
    assert libcrypto.version == "3.5.5-r0"
    assert libcrypto.source_name == "openssl"
    assert libcrypto.qualifier("distro") == "alpine-3.23.3"
    assert by_name["zlib"].source_name is None  # upstream absent: the binary is the source
    assert by_name["libstdc++"].purl_name == "libstdc++"  # percent-decoded
    assert by_name["@isaacs/cliui"].namespace == "@isaacs" and by_name["@isaacs/cliui"].purl_name == "cliui"
    assert all(c.purl is not None for c in inventory.components)
    assert not any(c.name.startswith("/") for c in inventory.components)  # file components are not packages
    assert len(inventory.skipped) == 355  # ... and are listed, each with its reason
    assert {s.reason for s in inventory.skipped} == {"component type file without a purl: not a package"}


def test_real_spdx_sbom_reads_packages_with_purls() -> None:
    inventory = read_inventory(_real("node-app-dir.spdx.json"))
    assert len(inventory.components) > 10
    with_purl = [c for c in inventory.components if c.purl]
    assert with_purl and all(c.purl_type for c in with_purl)


def test_cyclonedx_nested_components_and_metadata_component() -> None:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "metadata": {"component": {"type": "library", "name": "app", "version": "1", "purl": "pkg:npm/app@1"}},
        "components": [
            {
                "type": "library",
                "name": "outer",
                "version": "2.0.0",
                "purl": "pkg:npm/outer@2.0.0",
                "components": [{"type": "library", "name": "inner", "version": "1.0.0", "purl": "pkg:npm/inner@1.0.0"}],
            },
            {"type": "operating-system", "name": "Debian", "version": "12.5"},
            {"type": "library", "name": "no-purl", "version": "0.1"},
            {
                "type": "library",
                "name": "libssl3",
                "version": "3.0.11-1~deb12u2",
                "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64",
                "properties": [{"name": "aquasecurity:trivy:SrcName", "value": "openssl"}],
            },
        ],
    }
    inventory = inventory_from_document(document, "mem")
    names = [c.name for c in inventory.components]
    assert names == ["app", "outer", "inner", "no-purl", "libssl3"]
    assert inventory.operating_system == OperatingSystem("debian", "12.5")
    assert inventory.components[3].purl is None
    assert inventory.components[4].source_name == "openssl"


def test_entries_that_are_not_packages_are_listed_with_a_reason_not_dropped() -> None:
    """A vulnerable package typed container or file, or an entry without a name, never passes unseen."""
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "metadata": {"component": {"type": "container", "name": "registry.example/app"}},  # the image itself
        "components": [
            {"type": "container", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20"},
            {"type": "file", "name": "/usr/lib/node_modules/lodash/package.json"},
            {"type": "file", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20"},
            {"type": "library", "version": "1.0"},
            {"type": "library", "name": "ok", "version": "1", "purl": "pkg:npm/ok@1"},
        ],
    }
    inventory = inventory_from_document(document, "mem")
    assert [c.name for c in inventory.components] == ["lodash", "ok"]  # a file with a purl is a package
    assert [(s.name, s.purl, s.reason) for s in inventory.skipped] == [
        ("lodash", "pkg:npm/lodash@4.17.20", "component type container: an image, not scanned"),
        ("/usr/lib/node_modules/lodash/package.json", None, "component type file without a purl: not a package"),
        ("", None, "a component without a name or a purl"),
    ]
    spdx = {
        "spdxVersion": "SPDX-2.3",
        "documentDescribes": ["SPDXRef-image"],
        "packages": [
            {"SPDXID": "SPDXRef-image", "name": "app", "primaryPackagePurpose": "CONTAINER"},
            {"SPDXID": "SPDXRef-inner", "name": "inner-image", "primaryPackagePurpose": "CONTAINER"},
            {"SPDXID": "SPDXRef-file", "name": "/etc/passwd", "primaryPackagePurpose": "FILE"},
            {"SPDXID": "SPDXRef-anon", "name": ""},
        ],
    }
    inventory = inventory_from_document(spdx, "mem")
    assert inventory.components == ()
    assert [(s.name, s.reason) for s in inventory.skipped] == [
        ("inner-image", "package purpose CONTAINER without a purl: not a package"),
        ("/etc/passwd", "package purpose FILE without a purl: not a package"),
        ("", "a package without a name or a purl"),
    ]


def test_spdx_operating_system_and_package_manager_refs() -> None:
    document = {
        "spdxVersion": "SPDX-2.3",
        "packages": [
            {
                "SPDXID": "SPDXRef-os",
                "name": "ubuntu",
                "versionInfo": "22.04",
                "primaryPackagePurpose": "OPERATING-SYSTEM",
            },
            {
                "SPDXID": "SPDXRef-a",
                "name": "openssl",
                "versionInfo": "3.0.2-0ubuntu1.10",
                "externalRefs": [
                    {"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a"},
                    {
                        "referenceCategory": "PACKAGE_MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": "pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.10?distro=ubuntu-22.04",
                    },
                ],
            },
            {"SPDXID": "SPDXRef-b", "name": "mystery", "versionInfo": "NOASSERTION"},
        ],
    }
    inventory = inventory_from_document(document, "mem")
    assert inventory.operating_system == OperatingSystem("ubuntu", "22.04")
    assert inventory.components[0].purl_type == "deb"
    assert inventory.components[1].version is None and inventory.components[1].purl is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected a JSON object"),
        ({"foo": 1}, "neither CycloneDX"),
        ({"bomFormat": "CycloneDX", "components": {}}, "'components' is not a list"),
        ({"bomFormat": "CycloneDX", "components": [1]}, "is not an object"),
        ({"spdxVersion": "SPDX-2.3", "packages": {}}, "'packages' is not a list"),
        ({"spdxVersion": "SPDX-2.3", "packages": ["x"]}, "packages[0] is not an object"),
    ],
)
def test_malformed_documents_are_input_errors(document: object, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        inventory_from_document(document, "mem")


def test_unreadable_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_inventory(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(InputError, match="not JSON"):
        read_inventory(bad)


def test_invalid_purl_keeps_the_component_without_parsed_fields(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_text(
        json.dumps({"bomFormat": "CycloneDX", "components": [{"type": "library", "name": "x", "purl": "not-a-purl"}]})
    )
    (component,) = read_inventory(path, "cyclonedx").components
    assert component.purl == "not-a-purl" and component.purl_type is None


@given(st.text(max_size=40))
def test_parse_purl_never_raises(text: str) -> None:
    parse_purl(text)


def test_an_sbom_file_over_the_cap_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gate.sbom.components as components_module

    monkeypatch.setattr(components_module, "MAX_BOM_BYTES", 16)
    big = tmp_path / "big.cdx.json"
    big.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}')
    with pytest.raises(InputError, match=r"big\.cdx\.json: the SBOM file is larger than"):
        components_module.read_inventory(big)
