"""Which attached VEX documents count (gate/attest/vex_referrers.py), on real OCI layouts: in-index VEX and the
index's own signature, bare DSSE envelopes, subjects, and what is left out in verified mode and why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gate.attest.lookup import PlatformSbom
from gate.attest.verify.policy import Reason, VerificationPolicy
from gate.attest.vex_referrers import AttachedVex, find_attached_vex
from gate.oci.layout import LayoutTarget
from gate.oci.reference import compute_digest, descriptor_to_json, fallback_tag
from gate.oci.target import OCI_MANIFEST, Descriptor, Manifest, Platform
from tests.attest.verify.signing import (
    PrivateKey,
    envelope,
    fingerprint_of,
    legacy_manifest,
    legacy_signature,
    private_key,
    write_public_key,
)
from tests.oci.builders import CONFIG, INTOTO, manifest_of, push_blob, push_image, push_index, push_referrer
from tests.support.images import OPENVEX, in_toto_statement, openvex_document

AMD64 = Platform("linux", "amd64")
CVE = "CVE-2021-23337"
DSSE = "application/vnd.dsse.envelope.v1+json"


class Image:
    """A one-platform index in an OCI layout, with an in-index VEX attestation about ``about`` (the platform)."""

    def __init__(self, folder: Path, *, about: str | None = None) -> None:
        self.target = LayoutTarget(folder / "layout", create=True)
        self.platform = push_image(self.target, AMD64)
        digest = self.platform.descriptor.digest
        statement = in_toto_statement("app", about or digest, OPENVEX, openvex_document("pkg:npm/lodash", CVE))
        layer = push_blob(self.target, json.dumps(statement).encode(), INTOTO)
        layer = Descriptor(
            layer.media_type, layer.digest, layer.size, annotations={"in-toto.io/predicate-type": OPENVEX}
        )
        config = push_blob(self.target, b'{"architecture":"unknown","os":"unknown"}', CONFIG)
        attestation = manifest_of(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": descriptor_to_json(config),
                "layers": [descriptor_to_json(layer)],
            }
        )
        self.target.push_manifest(attestation)
        self.attestation = attestation.descriptor.digest
        entry = Descriptor(
            OCI_MANIFEST, attestation.descriptor.digest, attestation.descriptor.size,
            annotations={"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": digest},
            platform=Platform("unknown", "unknown"),
        )  # fmt: skip
        child = self.platform.descriptor
        self.index = push_index(
            self.target, [Descriptor(child.media_type, child.digest, child.size, platform=AMD64), entry]
        )

    def find(self, policy: VerificationPolicy | None = None) -> AttachedVex:
        platforms = [PlatformSbom("linux/amd64", self.platform.descriptor.digest)]
        return find_attached_vex(self.target, self.index.descriptor, self.index.data, platforms, policy=policy)

    def sign_index(self, key: PrivateKey) -> None:
        """A cosign legacy ``sha256-<hex>.sig`` signature of the index, by ``key``."""
        layer, payload = legacy_signature(key, self.index.descriptor.digest)
        push_blob(self.target, payload, layer["mediaType"])
        push_blob(self.target, b"{}", CONFIG)
        body = legacy_manifest([layer])
        signature = Manifest(Descriptor(OCI_MANIFEST, compute_digest(body), len(body)), body)
        self.target.push_manifest(signature, f"{fallback_tag(self.index.descriptor.digest)}.sig")


def key_policy(folder: Path, key: PrivateKey) -> VerificationPolicy:
    return VerificationPolicy.build(keys=[str(write_public_key(folder, key))], insecure_ignore_tlog=True)


def applies(found: AttachedVex, *identifiers: str) -> bool:
    statement = found.statements.match(CVE, [], [*identifiers, "pkg:npm/lodash@4.17.20"])
    return statement is not None and statement.suppresses


def test_without_a_policy_an_in_index_vex_applies_to_its_platform_only(tmp_path: Path) -> None:
    image = Image(tmp_path)
    found = image.find()
    platform = image.platform.descriptor.digest
    (document,) = found.documents
    assert (document.subject, document.verified, document.signer) == (platform, False, "")
    assert applies(found, platform) and not applies(found, "sha256:" + "0" * 64)
    assert found.left_out == ()


def test_in_verified_mode_an_in_index_vex_needs_a_signed_index(tmp_path: Path) -> None:
    key = private_key()
    image = Image(tmp_path)
    unsigned = image.find(key_policy(tmp_path, key))
    assert len(unsigned.statements) == 0 and unsigned.documents == ()
    (item,) = unsigned.left_out
    assert (item.digest, item.source, item.reason, item.platform) == (
        image.attestation, "in-index", Reason.UNSIGNED, "linux/amd64",
    )  # fmt: skip
    assert item.predicate_type == OPENVEX and "the index carries no signature that verifies" in item.detail

    image.sign_index(private_key())  # signed by a key the policy does not name
    assert image.find(key_policy(tmp_path, key)).left_out[0].reason == Reason.UNTRUSTED_KEY

    image.sign_index(key)
    signed = image.find(key_policy(tmp_path, key))
    (document,) = signed.documents
    assert document.verified is True and document.signer == f"{fingerprint_of(key)} (index signature)"
    assert applies(signed, image.platform.descriptor.digest) and signed.left_out == ()


def test_in_verified_mode_an_in_index_vex_about_another_manifest_is_left_out(tmp_path: Path) -> None:
    key = private_key()
    image = Image(tmp_path, about="sha256:" + "9" * 64)
    image.sign_index(key)
    (item,) = image.find(key_policy(tmp_path, key)).left_out
    assert item.reason == Reason.SUBJECT_MISMATCH and "sha256:" + "9" * 64 in item.detail
    # Without a policy it is not applied either: a statement about another manifest is not this one's.
    found = image.find()
    assert len(found.statements) == 0 and any("not applied: its subject names" in note for note in found.notes)


def _dsse_referrer(image: Image, key: PrivateKey | None, about: str) -> Any:
    statement = in_toto_statement("app", about, OPENVEX, openvex_document("pkg:npm/lodash", CVE))
    document = envelope(key, json.dumps(statement).encode())
    return push_referrer(
        image.target, image.platform, DSSE, json.dumps(document).encode(), {"in-toto.io/predicate-type": OPENVEX}
    )


def test_a_bare_dsse_envelope_counts_when_its_key_signed_it_about_this_manifest(tmp_path: Path) -> None:
    key = private_key()
    image = Image(tmp_path)
    platform = image.platform.descriptor.digest
    good = _dsse_referrer(image, key, platform)
    forged = _dsse_referrer(image, None, platform)
    stranger = _dsse_referrer(image, private_key(), platform)
    moved = _dsse_referrer(image, key, "sha256:" + "7" * 64)

    found = image.find(key_policy(tmp_path, key))
    reasons = {item.digest: item.reason for item in found.left_out if item.source == "referrer"}
    assert reasons == {
        forged.descriptor.digest: Reason.UNSIGNED,
        stranger.descriptor.digest: Reason.UNTRUSTED_KEY,
        moved.descriptor.digest: Reason.SUBJECT_MISMATCH,
    }
    (document,) = [d for d in found.documents if d.source.endswith(good.descriptor.digest)]
    assert document.verified is True and document.signer == fingerprint_of(key)
    assert applies(found, platform)
