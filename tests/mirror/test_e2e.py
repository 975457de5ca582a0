"""``mirror`` end to end (the command, the stage, gate.oci.copy) against real registries on loopback
(distribution 2.8 and the referrers-API registry), with regctl as an independent writer and reader of what we copy."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gate import cli
from gate.commands.mirror import MirrorConfig, config_from_inputs, run
from gate.config import ActionInputs
from gate.errors import GateError, InputError
from gate.oci.layout import LayoutTarget
from gate.oci.target import DigestMismatch
from gate.outcome import Context
from tests.oci.builders import BuiltImage, build_image
from tests.oci.registry_helpers import regctl
from tests.support.client import RegistryClient
from tests.support.faults import FaultProxy, corrupt_fault, status_fault
from tests.support.registries import Registry


@pytest.fixture
def layout_image(tmp_path: Path) -> tuple[str, BuiltImage]:
    store = LayoutTarget(tmp_path / "seed", create=True)
    return f"oci:{tmp_path / 'seed'}:v1", build_image(store, "v1", layer_size=200_000)


def mirror(source: str, destination: str, **options: object) -> dict[str, object]:
    config = MirrorConfig(source=source, destination=destination, **options)  # type: ignore[arg-type]
    logs: list[str] = []
    outcome = run(config, Context(log=logs.append, environ={}))
    assert outcome.exit_code == 0
    assert outcome.outputs["digest"] == outcome.document["digest"]
    return dict(outcome.document)


def test_layout_to_registry_then_promotion_by_mount(
    any_registry: Registry, unique_repo: str, layout_image: tuple[str, BuiltImage], tmp_path: Path
) -> None:
    seed, built = layout_image
    quarantine = any_registry.ref(unique_repo + "/quarantine", "v1")
    first = mirror(seed, quarantine, copy_referrers=True)
    assert first["digest"] == built.index.descriptor.digest
    assert first["manifests_copied"] == 9 and first["referrers_copied"] == 4

    # an independent writer attaches one more SBOM to the amd64 image
    amd = built.images[0].descriptor.digest
    extra = tmp_path / "extra.json"
    extra.write_text('{"spdxVersion":"SPDX-2.3"}')
    regctl(
        any_registry,
        "artifact",
        "put",
        "--artifact-type",
        "application/spdx+json",
        "--subject",
        any_registry.ref(unique_repo + "/quarantine", digest=amd),
        "--file",
        str(extra),
        "--file-media-type",
        "application/spdx+json",
    )

    production = any_registry.ref(unique_repo + "/production", "v1")
    promoted = mirror(quarantine, production, copy_referrers=True)
    assert promoted["digest"] == built.index.descriptor.digest
    assert promoted["bytes_copied"] == 0 and promoted["blobs_copied"] == 0
    # distribution mounts across repositories; the referrers-API registry keeps one global blob store
    mounted, present = promoted["blobs_mounted"], promoted["blobs_skipped"]
    assert isinstance(mounted, int) and isinstance(present, int)
    assert mounted >= 14 if any_registry.kind == "distribution" else mounted + present >= 14
    assert promoted["referrers_total"] == 5 and promoted["referrers_copied"] == 5

    # regctl reads what we wrote: the SBOM it attached is a referrer in production too
    listed = json.loads(
        regctl(
            any_registry,
            "artifact",
            "list",
            "--format",
            "body",
            any_registry.ref(unique_repo + "/production", digest=amd),
        )
    )
    types = sorted(m.get("artifactType", "") for m in listed["manifests"])
    assert types == ["application/spdx+json", "application/vnd.cyclonedx+json"]

    warm = mirror(quarantine, production, copy_referrers=True)
    assert warm["up_to_date"] is True and warm["bytes_copied"] == 0 and warm["manifests_copied"] == 0

    # and back into a layout, digest-identical
    back = LayoutTarget(tmp_path / "back", create=True)
    out = mirror(production, f"oci:{back.path}:copy", copy_referrers=True)
    assert out["digest"] == built.index.descriptor.digest
    assert len(back.referrers(amd)) == 2


def test_across_registries_referrers_land_in_the_native_api(
    distribution_registry: Registry,
    referrers_registry: Registry,
    unique_repo: str,
    layout_image: tuple[str, BuiltImage],
) -> None:
    seed, built = layout_image
    source = distribution_registry.ref(unique_repo, "v1")
    mirror(seed, source, copy_referrers=True)
    destination = referrers_registry.ref(unique_repo, "v1")
    report = mirror(source, destination, copy_referrers=True, concurrency=2)
    assert report["referrers_copied"] == 4 and report["blobs_mounted"] == 0
    client = RegistryClient(referrers_registry)
    answer = client.referrers_api(unique_repo, built.images[0].descriptor.digest)
    assert answer is not None
    assert [m["digest"] for m in answer["manifests"]] == [built.referrers[0].descriptor.digest]
    assert client.tags(unique_repo) == ["v1"]  # no fallback tags on a registry with the API


def test_platform_filter_through_the_command(
    distribution_registry: Registry, unique_repo: str, layout_image: tuple[str, BuiltImage]
) -> None:
    seed, _ = layout_image
    report = mirror(seed, distribution_registry.ref(unique_repo, "arm"), platforms=("linux/arm64",))
    assert report["platforms"] == ["linux/arm64/v8"]


def test_basic_auth_and_denied_auth(
    basic_auth_registry: Registry, unique_repo: str, layout_image: tuple[str, BuiltImage]
) -> None:
    seed, _ = layout_image
    destination = basic_auth_registry.ref(unique_repo, "v1")
    assert basic_auth_registry.username and basic_auth_registry.password
    with pytest.raises(GateError) as caught:
        mirror(
            seed, destination, destination_username=basic_auth_registry.username, destination_password="wrong-password"
        )
    assert basic_auth_registry.host in caught.value.message
    assert "wrong-password" not in caught.value.message
    assert RegistryClient(basic_auth_registry).tags(unique_repo) == []
    report = mirror(
        seed,
        destination,
        registry_auth=json.dumps(
            {
                basic_auth_registry.host: {
                    "username": basic_auth_registry.username,
                    "password": basic_auth_registry.password,
                }
            }
        ),
    )
    assert RegistryClient(basic_auth_registry).tags(unique_repo) == ["v1"]
    assert report["manifests_copied"] == 5


def test_corrupted_blob_in_transit_pushes_no_tag(
    distribution_registry: Registry,
    fault_proxy: Callable[[Registry], FaultProxy],
    unique_repo: str,
    layout_image: tuple[str, BuiltImage],
    tmp_path: Path,
) -> None:
    seed, _ = layout_image
    mirror(seed, distribution_registry.ref(unique_repo, "v1"))
    proxy = fault_proxy(distribution_registry)
    source = proxy.registry.ref(unique_repo, "v1")
    destination = LayoutTarget(tmp_path / "dst", create=True)
    proxy.inject(corrupt_fault(100, path="/blobs/", times=None))
    with pytest.raises(DigestMismatch):
        mirror(source, f"oci:{destination.path}:v1")
    assert destination.list_tags() == []
    # a transient 503 on the blob GETs is retried, and the next run completes the copy
    proxy.clear()
    proxy.inject(status_fault(503, method="GET", path="/blobs/", times=2))
    report = mirror(source, f"oci:{destination.path}:v1")
    assert report["manifests_copied"] == 5
    assert destination.list_tags() == ["v1"]


def test_cli_missing_source_is_one_line_exit_2(
    distribution_registry: Registry, unique_repo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = distribution_registry.ref(unique_repo + "/nothing", "v1")
    code = cli.main(["mirror", source, distribution_registry.ref(unique_repo + "/dst", "v1"), "--json"])
    err = capsys.readouterr().err
    assert code == 2
    assert source in err or f"{unique_repo}/nothing" in err
    assert RegistryClient(distribution_registry).tags(unique_repo + "/dst") == []


def test_cli_unreachable_registry_exit_3(
    capsys: pytest.CaptureFixture[str], layout_image: tuple[str, BuiltImage]
) -> None:
    seed, _ = layout_image
    code = cli.main(["mirror", seed, "127.0.0.1:9/x/y:v1", "--concurrency", "1"])
    assert code == 3
    assert "127.0.0.1:9" in capsys.readouterr().err


def test_cli_json_document(
    distribution_registry: Registry,
    unique_repo: str,
    layout_image: tuple[str, BuiltImage],
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed, _ = layout_image
    code = cli.main(["mirror", seed, distribution_registry.ref(unique_repo), "--copy-referrers", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert list(document) == [
        "source",
        "destination",
        "digest",
        "media_type",
        "platforms",
        "manifests_copied",
        "manifests_skipped",
        "blobs_copied",
        "blobs_mounted",
        "blobs_skipped",
        "bytes_copied",
        "referrers_copied",
        "referrers_total",
        "up_to_date",
        "seconds",
        "source_digest",
        "state",
        "skipped",
        "provenance",
        "history",
    ]
    assert document["destination"] == f"{distribution_registry.host}/{unique_repo}:v1"  # the source's tag
    # Without --history or --provenance: a copy of every platform, so the source digest is the copy's.
    assert document["source_digest"] == document["digest"] and document["state"] == "copied"
    assert document["skipped"] is None and document["provenance"] == [] and document["history"] is None


def test_action_inputs_build_the_same_config(tmp_path: Path) -> None:
    environ = {
        "INPUT_SOURCE": "registry.example/a:1",
        "INPUT_DESTINATION": "oci:/tmp/x",
        "INPUT_COPY_REFERRERS": "true",
        "INPUT_PLATFORMS": "linux/amd64\nlinux/arm64/v8",
        "INPUT_INSECURE_REGISTRIES": "a.example:5000, b.example",
        "INPUT_DESTINATION_USERNAME": "me",
        "INPUT_DESTINATION_PASSWORD": "s3cret",
    }
    config = config_from_inputs(ActionInputs(environ))
    assert config.copy_referrers and config.concurrency == 4
    assert config.platforms == ("linux/amd64", "linux/arm64/v8")
    assert config.insecure_registries == ("a.example:5000", "b.example")
    assert config.secrets() == ("s3cret",)
    auth = tmp_path / "auth.yml"
    auth.write_text("ghcr.io:\n  username: u\n  password: from-file\n")
    with_file = config_from_inputs(ActionInputs({**environ, "INPUT_REGISTRY_AUTH": str(auth)}))
    assert "from-file" in with_file.secrets()
    with pytest.raises(InputError, match="source is required"):
        config_from_inputs(ActionInputs({"INPUT_DESTINATION": "x"}))
    with pytest.raises(InputError, match="concurrency"):
        config_from_inputs(ActionInputs({**environ, "INPUT_CONCURRENCY": "0"}))
    with pytest.raises(InputError, match="platforms"):
        config_from_inputs(ActionInputs({**environ, "INPUT_PLATFORMS": "linux"}))


def test_half_credentials_are_refused(layout_image: tuple[str, BuiltImage], tmp_path: Path) -> None:
    seed, _ = layout_image
    with pytest.raises(InputError, match="both"):
        mirror(seed, "127.0.0.1:9/x:v1", destination_username="me")
    with pytest.raises(InputError, match="image layout"):
        mirror(seed, f"oci:{tmp_path / 'o'}", destination_username="me", destination_password="pw")
