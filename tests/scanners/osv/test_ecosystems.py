"""purl -> OSV ecosystem and package name."""

from __future__ import annotations

import pytest

from gate.sbom.components import OperatingSystem, component_from_fields
from gate.scanners.osv.ecosystems import OsvPackage, Unresolved, resolve


@pytest.mark.parametrize(
    ("purl", "ecosystem", "name", "version"),
    [
        ("pkg:apk/alpine/libcrypto3@3.5.5-r0?arch=x86_64&distro=alpine-3.23.3&upstream=openssl", "Alpine:v3.23", "openssl", "3.5.5-r0"),
        ("pkg:apk/alpine/zlib@1.3.1-r2?distro=3.19.1", "Alpine:v3.19", "zlib", "1.3.1-r2"),
        ("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12.4&upstream=openssl", "Debian:12", "openssl", "3.0.11-1~deb12u2"),
        ("pkg:deb/debian/bash@5.2.15-2?distro=bookworm", "Debian:12", "bash", "5.2.15-2"),
        ("pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.10?distro=ubuntu-22.04", "Ubuntu:22.04:LTS", "openssl", "3.0.2-0ubuntu1.10"),
        ("pkg:deb/ubuntu/openssl@3.0.10-1ubuntu2?distro=ubuntu-23.10", "Ubuntu:23.10", "openssl", "3.0.10-1ubuntu2"),
        ("pkg:rpm/almalinux/openssl@3.0.7-27.el9?distro=almalinux-9.4", "AlmaLinux:9", "openssl", "3.0.7-27.el9"),
        ("pkg:rpm/rocky/bash@5.1.8-9.el9?distro=rocky-9.3&epoch=1", "Rocky Linux:9", "bash", "1:5.1.8-9.el9"),
        ("pkg:rpm/mariner/curl@8.8.0-1.cm2?distro=mariner-2.0", "Mariner:2.0", "curl", "8.8.0-1.cm2"),
        ("pkg:rpm/opensuse/curl@8.0.1-1.1?distro=opensuse-leap-15.5", "openSUSE:Leap 15.5", "curl", "8.0.1-1.1"),
        ("pkg:pypi/requests@2.31.0", "PyPI", "requests", "2.31.0"),
        ("pkg:npm/%40isaacs/cliui@8.0.2", "npm", "@isaacs/cliui", "8.0.2"),
        ("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "Maven", "org.apache.logging.log4j:log4j-core", "2.14.1"),
        ("pkg:golang/golang.org/x/net@v0.17.0", "Go", "golang.org/x/net", "0.17.0"),
        ("pkg:cargo/smallvec@1.6.0", "crates.io", "smallvec", "1.6.0"),
        ("pkg:nuget/Newtonsoft.Json@12.0.1", "NuGet", "Newtonsoft.Json", "12.0.1"),
        ("pkg:gem/rack@2.2.3", "RubyGems", "rack", "2.2.3"),
        ("pkg:composer/laravel/framework@8.0.0", "Packagist", "laravel/framework", "8.0.0"),
    ],
)  # fmt: skip
def test_purl_types_map_to_osv_ecosystems(purl: str, ecosystem: str, name: str, version: str) -> None:
    result = resolve(component_from_fields("x", None, purl))
    assert isinstance(result, OsvPackage)
    assert (result.ecosystem, result.name, result.version) == (ecosystem, name, version)


def test_rhel_is_a_prefix_lookup() -> None:
    result = resolve(component_from_fields("x", None, "pkg:rpm/redhat/openssl@3.0.7-27.el9?distro=rhel-9.4"))
    assert isinstance(result, OsvPackage) and result.ecosystem_is_prefix
    assert result.ecosystem == "Red Hat:enterprise_linux:9"


def test_os_component_supplies_the_release_when_the_purl_has_none() -> None:
    component = component_from_fields("busybox", "1.36.1-r20", "pkg:apk/alpine/busybox@1.36.1-r20")
    assert resolve(component) == Unresolved(
        "apk package without an Alpine release (no distro qualifier, no OS component)"
    )
    result = resolve(component, OperatingSystem("alpine", "3.19.1"))
    assert isinstance(result, OsvPackage) and result.ecosystem == "Alpine:v3.19"
    deb = component_from_fields("bash", "5.2.15-2", "pkg:deb/debian/bash@5.2.15-2")
    resolved = resolve(deb, OperatingSystem("debian", "12"))
    assert isinstance(resolved, OsvPackage) and resolved.ecosystem == "Debian:12"


@pytest.mark.parametrize(
    ("name", "version", "purl", "reason"),
    [
        ("node", "20.1.0", None, "no purl"),
        ("node", "20.1.0", "pkg:generic/node@20.1.0", "ecosystem 'generic' is not supported"),
        ("x", None, "pkg:npm/x", "no version"),
        ("x", "1", "nonsense", "purl does not parse"),
        ("x", "1", "pkg:rpm/unknownos/x@1?distro=foo-1", "rpm distribution 'unknownos' is not supported"),
        ("x", "1", "pkg:deb/debian/x@1", "deb package without a known Debian/Ubuntu release"),
    ],
)
def test_unresolvable_components_say_why(name: str, version: str | None, purl: str | None, reason: str) -> None:
    assert resolve(component_from_fields(name, version, purl)) == Unresolved(reason)
