"""cosign v3.1.3 as referee: for every case, our accept/refuse equals ``cosign verify-attestation`` (and
``cosign verify`` for signatures) with the same key and ``--insecure-ignore-tlog``, on both test registries.

cosign writes the attestations and signatures (new bundle format and legacy ``.att``/``.sig``); forgeries
are made from its real output and attached where cosign looks for them.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from gate.attest.verify.bundle import BUNDLE_MEDIA_TYPES, verify_bundle
from gate.attest.verify.index import verify_index_signature
from gate.attest.verify.legacy import verify_legacy_manifest
from gate.attest.verify.policy import Verification, VerificationPolicy
from gate.attest.verify.subject import subject_matches
from tests.attest.verify.cosign_tool import (
    Artifact,
    CosignKeys,
    attest,
    cosign_accepts_attestation,
    cosign_accepts_signature,
    make_keys,
    sign,
    signed_artifacts,
)
from tests.attest.verify.fake_log import FakeLog
from tests.attest.verify.keyless_fixtures import trusted_root
from tests.attest.verify.signing import BUNDLE_V03, key_bundle, private_key, public_pem, statement, to_bytes
from tests.support.client import RegistryClient, sha256_digest
from tests.support.images import CYCLONEDX, OCI_MANIFEST, attach_referrer, build_image, cyclonedx_sbom
from tests.support.registries import Registry

pytestmark = pytest.mark.slow

KINDS = ("p256", "p384", "p521", "rsa", "ed25519")
# cosign v3.1.3 signs with an Ed25519 key in the pre-hashed Ed25519ph form, which its own verify refuses
VERIFIABLE = {"p256": True, "p384": True, "p521": True, "rsa": True, "ed25519": False}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> CosignKeys:
    return make_keys(tmp_path_factory.mktemp("cosign-keys"), (*KINDS, "other"))


@pytest.fixture(scope="module")
def predicate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("predicate") / "sbom.cdx.json"
    path.write_text(json.dumps(cyclonedx_sbom(seed=3)))
    return path


def policy_for(keys: CosignKeys, kind: str, *, ignore_tlog: bool = True) -> VerificationPolicy:
    root = {} if ignore_tlog else {"trusted_root": trusted_root()}
    return VerificationPolicy.build(keys=[str(keys.public(kind))], insecure_ignore_tlog=ignore_tlog, **root)


def verdicts(artifact: Artifact, policy: VerificationPolicy) -> list[Verification]:
    layers = json.loads(artifact.manifest).get("layers", [])
    if layers and layers[0].get("mediaType") in BUNDLE_MEDIA_TYPES:
        return [verify_bundle(artifact.blobs[layer["digest"]], policy) for layer in layers]
    return list(verify_legacy_manifest(artifact.manifest, artifact.blobs, policy))


def we_accept_attestation(registry: Registry, repo: str, digest: str, policy: VerificationPolicy) -> bool:
    """What the scan stage will do: a verified cyclonedx statement about this very manifest."""
    return any(
        result.verified
        and result.statement is not None
        and result.statement.get("predicateType") == CYCLONEDX
        and subject_matches(result.statement, digest)
        for artifact in signed_artifacts(registry, repo, digest, "att")
        for result in verdicts(artifact, policy)
    )


def we_accept_signature(registry: Registry, repo: str, digest: str, policy: VerificationPolicy) -> bool:
    return any(
        verify_index_signature(artifact.manifest, artifact.blobs, digest, policy).verified
        for artifact in signed_artifacts(registry, repo, digest, "sig")
    )


def _lone_image(registry: Registry, repo: str, tag: str, seed: int) -> str:
    return build_image(registry, repo, tag, platforms=("linux/amd64",), index=False, seed=seed).digest


def _check_key_kind(registry: Registry, repo: str, keys: CosignKeys, predicate: Path, kind: str, legacy: bool) -> None:
    digest = _lone_image(registry, repo, "v1", seed=1)
    reference = registry.ref(repo, digest=digest)
    attest(keys, kind, reference, predicate, legacy=legacy)
    ours = we_accept_attestation(registry, repo, digest, policy_for(keys, kind))
    assert ours == cosign_accepts_attestation(keys, kind, reference) == VERIFIABLE[kind]
    stranger = we_accept_attestation(registry, repo, digest, policy_for(keys, "other"))
    assert stranger == cosign_accepts_attestation(keys, "other", reference) is False


@pytest.mark.parametrize("legacy", [False, True], ids=["bundle", "legacy"])
def test_attestations_agree_with_cosign_on_both_registries(
    any_registry: Registry, unique_repo: str, keys: CosignKeys, predicate: Path, legacy: bool
) -> None:
    _check_key_kind(any_registry, unique_repo, keys, predicate, "p256", legacy)


@pytest.mark.parametrize("legacy", [False, True], ids=["bundle", "legacy"])
@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind != "p256"])
def test_attestations_of_each_key_kind_agree_with_cosign(
    referrers_registry: Registry, unique_repo: str, keys: CosignKeys, predicate: Path, kind: str, legacy: bool
) -> None:
    _check_key_kind(referrers_registry, unique_repo, keys, predicate, kind, legacy)


@pytest.mark.parametrize("legacy", [False, True], ids=["bundle", "legacy"])
def test_without_a_tlog_entry_both_refuse_unless_told_to_ignore_the_tlog(
    any_registry: Registry, unique_repo: str, keys: CosignKeys, predicate: Path, legacy: bool
) -> None:
    digest = _lone_image(any_registry, unique_repo, "v1", seed=1)
    reference = any_registry.ref(unique_repo, digest=digest)
    attest(keys, "p256", reference, predicate, legacy=legacy)
    strict = policy_for(keys, "p256", ignore_tlog=False)
    ours = we_accept_attestation(any_registry, unique_repo, digest, strict)
    assert ours == cosign_accepts_attestation(keys, "p256", reference, "--trusted-root", trusted_root()) is False


def _forge(envelope: dict[str, Any], forgery: str, target: str) -> dict[str, Any]:
    forged = json.loads(json.dumps(envelope))
    if forgery == "payload-changed":  # the signed statement retargeted at another image
        statement = json.loads(base64.b64decode(forged["payload"]))
        statement["subject"][0]["digest"]["sha256"] = target.removeprefix("sha256:")
        forged["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    elif forgery == "unsigned":
        forged["signatures"] = []
    return forged  # "moved": the genuine envelope, attached to another image


def _attach_forged(registry: Registry, repo: str, original: Artifact, target: str, forgery: str) -> None:
    client = RegistryClient(registry)
    manifest = json.loads(original.manifest)
    layer = manifest["layers"][0]
    blob = json.loads(original.blobs[layer["digest"]])
    if original.source == "referrer":
        blob["dsseEnvelope"] = _forge(blob["dsseEnvelope"], forgery, target)
        attach_referrer(
            registry, repo, target, artifact_type=BUNDLE_V03, payload=json.dumps(blob).encode(),
            layer_media_type=BUNDLE_V03, annotations=manifest.get("annotations"),
        )  # fmt: skip
        return
    forged_blob = json.dumps(_forge(blob, forgery, target)).encode()
    client.push_blob(repo, forged_blob)
    layer.update(digest=sha256_digest(forged_blob), size=len(forged_blob))
    body = json.dumps(manifest).encode()
    client.push_manifest(repo, f"{target.replace(':', '-')}.att", body, OCI_MANIFEST)


@pytest.mark.parametrize("legacy", [False, True], ids=["bundle", "legacy"])
@pytest.mark.parametrize("forgery", ["payload-changed", "unsigned", "moved"])
def test_forged_attestations_are_refused_by_both(
    any_registry: Registry, unique_repo: str, keys: CosignKeys, predicate: Path, forgery: str, legacy: bool
) -> None:
    genuine = _lone_image(any_registry, unique_repo, "genuine", seed=1)
    target = _lone_image(any_registry, unique_repo, "target", seed=2)
    attest(keys, "p256", any_registry.ref(unique_repo, digest=genuine), predicate, legacy=legacy)
    (original,) = signed_artifacts(any_registry, unique_repo, genuine, "att")
    _attach_forged(any_registry, unique_repo, original, target, forgery)
    assert signed_artifacts(any_registry, unique_repo, target, "att")  # the forgery is where cosign looks
    ours = we_accept_attestation(any_registry, unique_repo, target, policy_for(keys, "p256"))
    theirs = cosign_accepts_attestation(keys, "p256", any_registry.ref(unique_repo, digest=target))
    assert ours == theirs is False


@pytest.mark.parametrize("legacy", [False, True], ids=["bundle", "legacy"])
@pytest.mark.parametrize("kind", ["p256", "p384", "rsa"])
def test_index_signatures_agree_with_cosign_verify(
    any_registry: Registry, unique_repo: str, keys: CosignKeys, kind: str, legacy: bool
) -> None:
    index = build_image(any_registry, unique_repo, "v1", seed=1).digest
    reference = any_registry.ref(unique_repo, digest=index)
    sign(keys, kind, reference, legacy=legacy)
    ours = we_accept_signature(any_registry, unique_repo, index, policy_for(keys, kind))
    assert ours == cosign_accepts_signature(keys, kind, reference) is True
    stranger = we_accept_signature(any_registry, unique_repo, index, policy_for(keys, "other"))
    assert stranger == cosign_accepts_signature(keys, "other", reference) is False


@pytest.mark.parametrize("legacy", [False, True], ids=["bundle", "legacy"])
def test_a_signature_moved_to_another_index_is_refused_by_both(
    any_registry: Registry, unique_repo: str, keys: CosignKeys, legacy: bool
) -> None:
    client = RegistryClient(any_registry)
    genuine = build_image(any_registry, unique_repo, "genuine", seed=1).digest
    target = build_image(any_registry, unique_repo, "target", seed=2).digest
    sign(keys, "p256", any_registry.ref(unique_repo, digest=genuine), legacy=legacy)
    (original,) = signed_artifacts(any_registry, unique_repo, genuine, "sig")
    manifest = json.loads(original.manifest)
    if original.source == "referrer":
        layer = manifest["layers"][0]
        attach_referrer(
            any_registry, unique_repo, target, artifact_type=BUNDLE_V03, payload=original.blobs[layer["digest"]],
            layer_media_type=BUNDLE_V03, annotations=manifest.get("annotations"),
        )  # fmt: skip
    else:
        client.push_manifest(unique_repo, f"{target.replace(':', '-')}.sig", original.manifest, OCI_MANIFEST)
    ours = we_accept_signature(any_registry, unique_repo, target, policy_for(keys, "p256"))
    theirs = cosign_accepts_signature(keys, "p256", any_registry.ref(unique_repo, digest=target))
    assert ours == theirs is False


@pytest.mark.parametrize(
    "case", ["dsse-entry", "hashedrekord-entry", "entry-of-another-log", "entry-of-another-envelope", "no-entry"]
)
def test_tlog_entries_of_key_signed_bundles_agree_with_cosign(
    referrers_registry: Registry, unique_repo: str, tmp_path: Path, case: str
) -> None:
    """Bundles carrying entries of a log of our own; cosign and we both read the log key from ``--trusted-root``."""
    signer, log = private_key(), FakeLog()
    root = log.trusted_root(json.loads(Path(trusted_root()).read_text()), tmp_path)
    digest = _lone_image(referrers_registry, unique_repo, "v1", seed=4)
    bundle = key_bundle(signer, json.dumps(statement(digest)).encode())
    envelope = bundle["dsseEnvelope"]
    entries = {
        "dsse-entry": lambda: log.dsse_entry(envelope, signer),
        "hashedrekord-entry": lambda: log.hashedrekord_entry(envelope, signer),
        "entry-of-another-log": lambda: FakeLog().dsse_entry(envelope, signer),
        "entry-of-another-envelope": lambda: log.dsse_entry(key_bundle(signer, b"{}")["dsseEnvelope"], signer),
    }
    bundle["verificationMaterial"]["tlogEntries"] = [entries[case]()] if case in entries else []
    attach_referrer(
        referrers_registry, unique_repo, digest, artifact_type=BUNDLE_V03, payload=to_bytes(bundle),
        layer_media_type=BUNDLE_V03, annotations={"dev.sigstore.bundle.content": "dsse-envelope"},
    )  # fmt: skip
    (tmp_path / "signer.pub").write_bytes(public_pem(signer))
    keys = CosignKeys(tmp_path)
    policy = VerificationPolicy.build(keys=[str(keys.public("signer"))], trusted_root=str(root))
    ours = we_accept_attestation(referrers_registry, unique_repo, digest, policy)
    theirs = cosign_accepts_attestation(
        keys, "signer", referrers_registry.ref(unique_repo, digest=digest), "--trusted-root", str(root)
    )
    assert ours == theirs == (case in ("dsse-entry", "hashedrekord-entry"))
