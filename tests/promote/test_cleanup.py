"""A clean quarantine (gate.promote.cleanup through ``promote --delete-source-tag``) on real registries:
distribution 2.8 (the ``sha256-<hex>`` tag fallback) and the referrers-API registry, with regctl, oras and
cosign reading back what is left. The writers of the test content are independent tools (the support client,
regctl, cosign), never gate.oci."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.markdown import md_code
from gate.oci.auth import Credential
from gate.oci.copy import CopyOptions, copy_image
from gate.oci.open import Access
from gate.oci.reference import parse_target_reference
from gate.promote.cleanup import Deleted, left_warning
from gate.promote.outcome import promotion_outcome
from gate.promote.promotion import PromoteOptions, PromoteReport, promote
from gate.promote.tag_deletion import delete_source_tag
from tests.attest.verify.cosign_tool import (
    attest,
    cosign_accepts_attestation,
    cosign_accepts_signature,
    make_keys,
    sign,
)
from tests.commands.test_promote import GHCR_REFUSAL, TAG, verdict_document
from tests.mirror.oras import oras
from tests.oci.registry_helpers import make_pool, open_target
from tests.promote.test_github_packages import TOKEN, FakeGitHub, fake_github  # noqa: F401 - the fixture
from tests.scan.signed import clean_sbom, predicate_file
from tests.support.client import RegistryClient, sha256_digest
from tests.support.faults import Fault, FaultProxy, status_fault
from tests.support.images import (
    OCI_INDEX,
    AttestedImage,
    attach_signature,
    build_attested_image,
    read_graph,
    regctl,
)
from tests.support.registries import Registry, RegistryServer, require_tool, start_distribution, wait_until_up
from tests.support.token_issuer import TokenIssuer


def _promote(
    registry: Registry, quarantine: str, production: str, image: AttestedImage, **options: Any
) -> tuple[PromoteReport, list[str]]:
    logs: list[str] = []
    report = promote(
        registry.ref(quarantine, TAG),
        registry.ref(production),
        verdict_document(image, at=registry),
        PromoteOptions(delete_source_tag=True, **options),
        log=logs.append,
    )
    return report, logs


def _referrers(registry: Registry, repo: str, digest: str) -> list[str]:
    """regctl's answer (the referrers API, else the fallback tag): the digests of ``digest``'s referrers."""
    listing = json.loads(
        regctl(registry, "artifact", "list", "--format", "{{json .}}", registry.ref(repo, digest=digest))
    )
    return sorted(d["digest"] for d in listing.get("descriptors") or ())


def _oras_referrers(registry: Registry, repo: str, digest: str) -> list[str]:
    """oras's answer, every level: the digests below ``digest``."""
    tree = json.loads(oras(registry, "discover", "--format", "json", registry.ref(repo, digest=digest)))
    found: list[str] = []
    pending = list(tree.get("referrers") or ())
    while pending:
        node = pending.pop()
        found.append(node["digest"])
        pending += node.get("referrers") or ()
    return sorted(found)


def _index(client: RegistryClient, repo: str, children: list[tuple[str, str]], tag: str) -> str:
    """An index over ``(platform, digest)`` manifests already in ``repo``, pushed as ``tag``."""
    entries = []
    for platform, digest in children:
        body, media_type = client.get_manifest(repo, digest)
        os_name, architecture = platform.split("/")
        entries.append(
            {
                "mediaType": media_type,
                "digest": digest,
                "size": len(body),
                "platform": {"os": os_name, "architecture": architecture},
            }
        )
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    client.push_manifest(repo, tag, body, OCI_INDEX)
    return sha256_digest(body)


def test_the_referrers_go_with_the_tag_leaves_first(any_registry: Registry, unique_repo: str) -> None:
    registry = any_registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    image = build_attested_image(registry, quarantine, TAG)
    client = RegistryClient(registry)
    root = image.image.digest
    referrers = {r.digest for r in image.all_referrers}
    cosign = set(image.cosign_tags.values())
    assert len(_oras_referrers(registry, quarantine, root)) == len(image.root_referrers)

    report, logs = _promote(registry, quarantine, production, image)

    assert report.source_tag_deleted and report.warnings == (), logs
    assert report.left == ()
    deleted = [item.digest for item in report.deleted]
    assert referrers | cosign <= set(deleted)
    assert report.deleted[-1] == Deleted(root, TAG)  # the tag last
    # leaves first: the signature of the SBOM before the SBOM, every referrer before the tag
    assert deleted.index(image.nested.digest) < deleted.index(image.nested.subject)
    assert {item.tag for item in report.deleted if item.tag} >= {
        f"{root.replace(':', '-')}.{k}" for k in ("sig", "att")
    }
    document = report.to_json()
    assert document["deleted"][-1] == {"digest": root, "tag": TAG} and document["left"] == []
    assert all(set(item) <= {"digest", "tag"} for item in document["deleted"])
    summary = promotion_outcome(report).summary
    assert f"Deleted in quarantine ({len(report.deleted)})" in summary and md_code(TAG) in summary
    assert "Left in quarantine" not in summary

    # read back independently: no tag at all in quarantine, no referrer manifest, nothing listed by regctl or oras
    assert client.tags(quarantine) == []
    assert not any(client.manifest_exists(quarantine, digest) for digest in referrers | cosign)
    for subject in (root, *image.image.children.values(), image.nested.subject):
        assert _referrers(registry, quarantine, subject) == []
    assert _oras_referrers(registry, quarantine, root) == []
    # the image's own manifests and every blob stay, untagged, for the registry's garbage collection
    assert all(client.manifest_exists(quarantine, d) for d in (root, *image.image.children.values()))
    assert all(client.has_blob(quarantine, blob) for blob in image.image.blobs)
    # production has it all
    after = read_graph(registry, production, TAG)
    assert referrers | {report.report_digest} <= after.referrer_digests
    assert all(client.manifest_exists(production, f"{root.replace(':', '-')}.{k}") for k in ("sig", "att"))

    # a re-run by digest changes nothing and deletes nothing
    again = promote(
        registry.ref(quarantine, digest=root), registry.ref(production, TAG), verdict_document(image, at=registry)
    )
    assert again.report_reused and again.deleted == () and again.copy.up_to_date


def test_what_another_tag_reaches_stays(any_registry: Registry, unique_repo: str) -> None:
    """A platform manifest shared with another index keeps its SBOM and the SBOM's signature; a referrer another
    tag names stays; blobs shared or not all stay. The rest goes."""
    registry = any_registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    image = build_attested_image(registry, quarantine, TAG)
    client = RegistryClient(registry)
    root = image.image.digest
    amd64, arm64 = image.image.child("linux/amd64"), image.image.child("linux/arm64")
    signature_tag = f"sha256-{root[7:]}.sig"
    client.push_manifest(quarantine, "pinned-sig", client.get_manifest(quarantine, signature_tag)[0],
                         "application/vnd.oci.image.manifest.v1+json")  # fmt: skip
    other = _index(client, quarantine, [("linux/amd64", amd64)], "v2")
    provenance, vex, signature = image.root_referrers
    client.push_manifest(quarantine, "pinned-provenance", client.get_manifest(quarantine, provenance.digest)[0],
                         "application/vnd.oci.image.manifest.v1+json")  # fmt: skip
    assert image.nested.subject == image.sboms["linux/amd64"].digest

    report, logs = _promote(registry, quarantine, production, image)

    assert report.source_tag_deleted and report.warnings == (), logs
    stays = {item.digest: item for item in report.left}
    assert set(stays) == {
        image.sboms["linux/amd64"].digest, image.nested.digest, provenance.digest, image.cosign_tags["sig"]
    }  # fmt: skip
    assert all(item.shared for item in report.left)
    assert stays[image.nested.digest].reason == "reachable from tag v2"
    assert stays[provenance.digest].reason == "reachable from tag pinned-provenance"
    gone = {item.digest for item in report.deleted if item.tag is None}
    assert {image.sboms["linux/arm64"].digest, vex.digest, signature.digest} <= gone
    assert not set(stays) & gone
    # the .sig manifest another tag names stays; its cosign tag goes (a tag alone); the .att goes whole
    assert Deleted(image.cosign_tags["sig"], signature_tag) in report.deleted
    assert Deleted(image.cosign_tags["att"], f"sha256-{root[7:]}.att") in report.deleted
    assert client.manifest_exists(quarantine, image.cosign_tags["sig"])
    assert not client.manifest_exists(quarantine, image.cosign_tags["att"])

    # regctl: v2 is whole, its platform keeps the SBOM and the SBOM its signature; the root keeps the pinned one
    shared = read_graph(registry, quarantine, "v2")
    assert shared.root == other
    assert {image.sboms["linux/amd64"].digest, image.nested.digest} <= shared.referrer_digests
    assert _referrers(registry, quarantine, arm64) == []
    assert _referrers(registry, quarantine, root) == [provenance.digest]
    assert sorted(client.tags(quarantine)) == sorted(
        ["pinned-provenance", "pinned-sig", "v2"]
        + (
            []
            if registry.referrers_api
            else [f"sha256-{d[7:]}" for d in (root, amd64, image.sboms["linux/amd64"].digest)]
        )
    )
    # no blob is ever deleted: the shared layers of amd64 and the others alike
    assert all(client.has_blob(quarantine, blob) for blob in image.image.blobs)


def test_cosign_signatures_and_attestations_go_too(any_registry: Registry, unique_repo: str, tmp_path: Path) -> None:
    """The real cosign signs (a .sig tag) and attests (a .att tag, and a bundle referrer) the quarantined root;
    after the promotion cosign verifies them in production and finds nothing in quarantine."""
    registry = any_registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    image = build_attested_image(registry, quarantine, TAG, cosign_tags=False)
    root = image.image.digest
    keys = make_keys(tmp_path, ("p256",))
    reference = registry.ref(quarantine, digest=root)
    predicate = predicate_file(tmp_path, "sbom", clean_sbom())
    sign(keys, "p256", reference, legacy=True)
    attest(keys, "p256", reference, predicate, legacy=True)
    attest(keys, "p256", reference, predicate, legacy=False)
    client = RegistryClient(registry)
    signed = {f"{root.replace(':', '-')}.{k}" for k in ("sig", "att")}
    assert signed <= set(client.tags(quarantine))
    bundles = set(_referrers(registry, quarantine, root)) - {r.digest for r in image.root_referrers}
    assert len(bundles) == 1

    report, logs = _promote(registry, quarantine, production, image)

    assert report.source_tag_deleted and report.warnings == (), logs
    assert signed <= {item.tag for item in report.deleted}
    assert bundles <= {item.digest for item in report.deleted}
    assert client.tags(quarantine) == []
    promoted = registry.ref(production, digest=root)
    assert cosign_accepts_signature(keys, "p256", promoted)
    assert cosign_accepts_attestation(keys, "p256", promoted)
    assert not cosign_accepts_signature(keys, "p256", reference)
    assert not cosign_accepts_attestation(keys, "p256", reference)


@pytest.fixture
def no_delete_registry(tmp_path: Path) -> Iterator[Registry]:
    """distribution 2.8 with ``storage.delete.enabled: false`` (405 UNSUPPORTED to every DELETE)."""
    server: RegistryServer = start_distribution(tmp_path / "nodelete")
    config = server.workdir / "config.yml"
    server.stop()
    config.write_text(config.read_text().replace("delete:\n    enabled: true", "delete:\n    enabled: false"))
    log_path = server.workdir / "nodelete.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [require_tool("docker-registry"), "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_up(server.registry.url, process, log_path)
            yield server.registry
        finally:
            process.terminate()
            process.wait(10)


def test_a_registry_without_deletes_leaves_everything_with_one_warning_naming_it(
    no_delete_registry: Registry, unique_repo: str
) -> None:
    registry = no_delete_registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    image = build_attested_image(registry, quarantine, TAG)
    client = RegistryClient(registry)
    tags_before = client.tags(quarantine)

    report, _ = _promote(registry, quarantine, production, image)

    assert report.promoted and not report.source_tag_deleted and report.deleted == ()
    [warning] = report.warnings
    assert "does not allow deletes" in warning and "the quarantine cleanup left" in warning
    left = {item.digest for item in report.left}
    assert {r.digest for r in image.all_referrers} | set(image.cosign_tags.values()) | {image.image.digest} <= left
    assert all("does not allow deletes" in item.reason and not item.shared for item in report.left)
    assert any(item.tag == TAG for item in report.left)
    outcome = promotion_outcome(report)
    assert [a.level for a in outcome.annotations] == ["warning"] and outcome.exit_code == 0
    assert f"Left in quarantine ({len(report.left)})" in outcome.summary
    # the warning names what was left (the first ten of them)
    assert image.nested.digest in warning or len(report.left) > 10
    # nothing changed in quarantine: regctl reads the same graph
    assert client.tags(quarantine) == tags_before
    graph = read_graph(registry, quarantine, TAG)
    assert {r.digest for r in image.all_referrers} <= graph.referrer_digests


@pytest.mark.parametrize("nth", [1, 2, 4])
def test_an_interrupted_cleanup_keeps_the_tag_and_a_rerun_completes_it(
    any_registry: Registry,
    fault_proxy: Callable[[Registry], FaultProxy],
    unique_repo: str,
    nth: int,
) -> None:
    proxy = fault_proxy(any_registry)
    registry = proxy.registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    image = build_attested_image(any_registry, quarantine, TAG)
    client = RegistryClient(any_registry)
    everything = {r.digest for r in image.all_referrers} | set(image.cosign_tags.values())

    proxy.inject(status_fault(400, method="DELETE", path="/manifests/", nth=nth))
    first, _ = _promote(registry, quarantine, production, image)
    assert proxy.fired()
    assert first.promoted and not first.source_tag_deleted
    assert (
        first.source_tag_delete_error is not None and "the quarantine cleanup stopped" in first.source_tag_delete_error
    )
    assert len(first.deleted) == nth - 1
    # the tag stays, and what is still listed in quarantine is all there: regctl walks it without a miss
    assert TAG in client.tags(quarantine)
    graph = read_graph(any_registry, quarantine, TAG)
    assert graph.referrer_digests <= everything

    proxy.clear()
    second, logs = _promote(registry, quarantine, production, image)
    assert second.source_tag_deleted and second.warnings == (), logs
    assert second.deleted[-1] == Deleted(image.image.digest, TAG)
    assert client.tags(quarantine) == []
    remaining = {d for d in everything if client.manifest_exists(quarantine, d)}
    # on the tag fallback, a stop between an index and its manifests leaves those manifests unlisted: named
    assert remaining <= {item.digest for item in first.left}
    if any_registry.referrers_api:
        assert remaining == set()
    assert {item.digest for item in first.deleted} | {item.digest for item in second.deleted} | remaining >= everything


@pytest.mark.parametrize("pin", ["vex", "nested"])
def test_on_ghcr_the_packages_api_deletes_the_referrer_versions_leaves_first(
    distribution_registry: Registry,
    fault_proxy: Callable[[Registry], FaultProxy],
    unique_repo: str,
    fake_github: FakeGitHub,  # noqa: F811
    pin: str,
) -> None:
    """GHCR refuses deletes through the registry API: every referrer, emptied fallback index and cosign artifact is
    a package version, deleted through the Packages API in the plan's order. A version with a tag the plan does
    not delete stays, named, with the referrers it hangs from, all still listed; the platform versions stay."""
    proxy = fault_proxy(distribution_registry)
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    owner, package = quarantine.split("/", 1)
    image = build_attested_image(distribution_registry, quarantine, TAG)
    client = RegistryClient(distribution_registry)
    fake_github.owners[owner] = "Organization"
    versions: dict[str, int] = {}

    def version(digest: str, tags: list[str]) -> None:
        versions[digest] = 100 + len(versions)
        fake_github.add_version(owner, package, versions[digest], digest, tags)

    root = image.image.digest
    version(root, [TAG])
    for child in image.image.children.values():
        version(child, [])
    indexes = {}  # the sha256-<hex> fallback indexes; the cosign .sig/.att tags are versions of their own
    for tag in client.tags(quarantine):
        if tag != TAG:
            version(sha256_digest(client.get_manifest(quarantine, tag)[0]), [tag])
            if "." not in tag:
                indexes[tag] = sha256_digest(client.get_manifest(quarantine, tag)[0])
    pinned = image.root_referrers[1] if pin == "vex" else image.nested  # GHCR: another tag is on its version
    stay = {pinned.digest: pinned.subject}
    if pin == "nested":
        stay[image.nested.subject] = image.image.child("linux/amd64")  # the SBOM the pinned signature is about
    for referrer in image.all_referrers:
        version(referrer.digest, ["pinned"] if referrer is pinned else [])
    proxy.inject(GHCR_REFUSAL)

    report, logs = _promote(
        proxy.registry, quarantine, production, image, github_token=TOKEN, github_api_url=fake_github.url,
        ghcr_hosts=(proxy.registry.host,),
    )  # fmt: skip

    assert report.promoted and report.source_tag_deleted, logs
    by_id = {number: digest for digest, number in versions.items()}
    deleted = [by_id[int(path.rsplit("/", 1)[1])] for path in fake_github.deletes()]
    assert deleted[-1] == root  # the tag's version last
    assert [item.digest for item in report.deleted] == deleted
    assert not set(image.image.children.values()) & set(deleted)
    expected = {r.digest for r in image.all_referrers} - set(stay) | set(image.cosign_tags.values()) | {root}
    assert expected == set(deleted) - set(indexes.values())
    if pin == "vex":
        assert deleted.index(image.nested.digest) < deleted.index(image.nested.subject)
    left = {item.digest: item.reason for item in report.left}
    assert set(left) == set(stay)
    assert "also carries tag(s) pinned" in left[pinned.digest]
    assert all(digest in report.warnings[0] for digest in stay)
    # what stays is still listed by its subject (regctl reads the registry behind the proxy): nothing dangles
    for digest, subject in stay.items():
        assert digest in _referrers(distribution_registry, quarantine, subject)
    # the emptied fallback indexes went, leaves first; the one that still lists what stays was kept or rewritten
    fallback = {subject: indexes[f"sha256-{subject[7:]}"] for subject in set(stay.values())}
    assert not set(fallback.values()) & set(deleted)


def test_a_referrer_the_destination_lacks_stays_with_the_chain_it_hangs_from(
    any_registry: Registry, unique_repo: str
) -> None:
    """Copied, then a signature of the SBOM's signature is added to quarantine: it was never promoted, so it
    stays, and so do the signature and the SBOM it hangs from (deleting them would leave it dangling)."""
    registry = any_registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    image = build_attested_image(registry, quarantine, TAG, cosign_tags=False)
    root = image.image.digest
    pool = make_pool(registry)
    source, destination = open_target(pool, registry, quarantine), open_target(pool, registry, production)
    copy_image(source, root, destination, TAG, CopyOptions(copy_referrers=True))
    late = attach_signature(registry, quarantine, image.nested.digest)
    logs: list[str] = []

    deletion = delete_source_tag(
        source, parse_target_reference(registry.ref(quarantine, TAG)), TAG, root, destination=destination,
        log=logs.append,
    )  # fmt: skip

    assert deletion.deleted and deletion.reason is None
    [left] = [item for item in deletion.left if not item.shared]
    assert left.digest == late.digest and "not in the destination" in left.reason
    gone = {item.digest for item in deletion.removed}
    chain = {late.digest, image.nested.digest, image.sboms["linux/amd64"].digest}
    assert not chain & gone
    assert {image.sboms["linux/arm64"].digest, *(r.digest for r in image.root_referrers)} <= gone
    assert any("warning" in line and late.digest in line for line in logs)
    client = RegistryClient(registry)
    assert all(client.manifest_exists(quarantine, d) for d in chain)
    # still findable from the SBOM, through regctl: nothing dangles
    assert _referrers(registry, quarantine, image.nested.digest) == [late.digest]
    assert _referrers(registry, quarantine, image.sboms["linux/amd64"].digest) == [image.nested.digest]
    assert left_warning(deletion.left) == f"the quarantine cleanup left 1 item(s): {late.digest}: {left.reason}"


def test_deletes_denied_by_digest_leave_the_referrers_named_and_the_tag_still_goes(
    referrers_registry: Registry, fault_proxy: Callable[[Registry], FaultProxy], unique_repo: str
) -> None:
    """Credentials that may not delete manifests (403) are no stop to retry: like a refusal, what was left is named
    in one warning, and the tag (which the registry lets go) is deleted."""
    proxy = fault_proxy(referrers_registry)
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    image = build_attested_image(referrers_registry, quarantine, TAG, cosign_tags=False)
    proxy.inject(
        Fault("status", path="/manifests/sha256:", method="DELETE", times=None, status=403,
              body=b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}')
    )  # fmt: skip

    report, _ = _promote(proxy.registry, quarantine, production, image)

    assert report.source_tag_deleted and report.deleted == (Deleted(image.image.digest, TAG),)
    [warning] = report.warnings
    assert warning.startswith(f"the quarantine cleanup left {len(image.all_referrers)} item(s): ")
    assert {item.digest for item in report.left} == {r.digest for r in image.all_referrers}
    assert all("denied" in item.reason for item in report.left)
    client = RegistryClient(referrers_registry)
    assert client.tags(quarantine) == []
    assert _referrers(referrers_registry, quarantine, image.image.digest) == sorted(
        r.digest for r in image.root_referrers
    )


def test_behind_token_auth_the_cleanup_asks_for_delete_on_quarantine_only(
    token_auth_registry: Registry, token_issuer: TokenIssuer, unique_repo: str
) -> None:
    registry = token_auth_registry
    quarantine, production = f"{unique_repo}/quarantine", f"{unique_repo}/production"
    image = build_attested_image(registry, quarantine, TAG)
    access = Access(explicit={registry.host: Credential(str(registry.username), str(registry.password))})
    token_issuer.clear()

    report = promote(
        registry.ref(quarantine, TAG), registry.ref(production), verdict_document(image),
        PromoteOptions(delete_source_tag=True), access,
    )  # fmt: skip

    assert report.source_tag_deleted and report.warnings == ()
    assert {r.digest for r in image.all_referrers} <= {item.digest for item in report.deleted}
    scopes = [scope.split(":") for scope in token_issuer.scopes_requested()]
    assert {repo for _, repo, actions in scopes if "delete" in actions.split(",")} == {quarantine}
    assert RegistryClient(registry).tags(quarantine) == []
