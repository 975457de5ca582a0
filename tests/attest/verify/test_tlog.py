"""tlog entries of key-signed bundles, checked against a log of our own named by the trusted root."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.attest.verify.bundle import verify_bundle
from gate.attest.verify.policy import Reason, VerificationPolicy
from tests.attest.verify.fake_log import FakeLog
from tests.attest.verify.keyless_fixtures import trusted_root
from tests.attest.verify.signing import key_bundle, private_key, public_pem, statement, to_bytes

DIGEST = "sha256:" + "ab" * 32


@pytest.fixture
def setting(tmp_path: Path) -> tuple[FakeLog, Any, VerificationPolicy, bytes]:
    log, signer = FakeLog(), private_key()
    root = log.trusted_root(json.loads(Path(trusted_root()).read_text()), tmp_path)
    (tmp_path / "k.pub").write_bytes(public_pem(signer))
    policy = VerificationPolicy.build(keys=[str(tmp_path / "k.pub")], trusted_root=str(root))
    return log, signer, policy, json.dumps(statement(DIGEST)).encode()


def test_a_dsse_entry_of_this_envelope_verifies(setting: tuple[FakeLog, Any, VerificationPolicy, bytes]) -> None:
    log, signer, policy, payload = setting
    bundle = key_bundle(signer, payload)
    bundle["verificationMaterial"]["tlogEntries"] = [log.dsse_entry(bundle["dsseEnvelope"], signer)]
    result = verify_bundle(to_bytes(bundle), policy)
    assert result.verified, result.describe()


def test_a_rekor_v2_hashedrekord_entry_verifies(setting: tuple[FakeLog, Any, VerificationPolicy, bytes]) -> None:
    log, signer, policy, payload = setting
    bundle = key_bundle(signer, payload)
    bundle["verificationMaterial"]["tlogEntries"] = [log.hashedrekord_entry(bundle["dsseEnvelope"], signer)]
    result = verify_bundle(to_bytes(bundle), policy)
    assert result.verified, result.describe()


def test_no_entry_is_refused_unless_the_tlog_is_ignored(
    setting: tuple[FakeLog, Any, VerificationPolicy, bytes], tmp_path: Path
) -> None:
    _log, signer, policy, payload = setting
    assert verify_bundle(to_bytes(key_bundle(signer, payload)), policy).reason is Reason.NO_TLOG_ENTRY
    ignoring = VerificationPolicy.build(keys=[str(tmp_path / "k.pub")], insecure_ignore_tlog=True)
    assert verify_bundle(to_bytes(key_bundle(signer, payload)), ignoring).verified


def test_an_entry_of_another_log_is_refused(setting: tuple[FakeLog, Any, VerificationPolicy, bytes]) -> None:
    _log, signer, policy, payload = setting
    bundle = key_bundle(signer, payload)
    bundle["verificationMaterial"]["tlogEntries"] = [FakeLog().dsse_entry(bundle["dsseEnvelope"], signer)]
    assert verify_bundle(to_bytes(bundle), policy).reason is Reason.INVALID_TLOG_ENTRY


def test_an_entry_of_another_envelope_is_refused(setting: tuple[FakeLog, Any, VerificationPolicy, bytes]) -> None:
    log, signer, policy, payload = setting
    bundle = key_bundle(signer, payload)
    other = key_bundle(signer, payload.replace(b"ab", b"cd"))
    bundle["verificationMaterial"]["tlogEntries"] = [log.dsse_entry(other["dsseEnvelope"], signer)]
    result = verify_bundle(to_bytes(bundle), policy)
    assert result.reason is Reason.INVALID_TLOG_ENTRY and "another payload" in result.detail


def test_an_entry_naming_another_key_is_refused(setting: tuple[FakeLog, Any, VerificationPolicy, bytes]) -> None:
    log, signer, policy, payload = setting
    bundle = key_bundle(signer, payload)
    bundle["verificationMaterial"]["tlogEntries"] = [log.dsse_entry(bundle["dsseEnvelope"], private_key())]
    assert verify_bundle(to_bytes(bundle), policy).reason is Reason.INVALID_TLOG_ENTRY


def test_a_tampered_inclusion_proof_is_refused(setting: tuple[FakeLog, Any, VerificationPolicy, bytes]) -> None:
    log, signer, policy, payload = setting
    bundle = key_bundle(signer, payload)
    entry = log.dsse_entry(bundle["dsseEnvelope"], signer)
    entry["inclusionProof"]["rootHash"] = "A" * 43 + "="
    bundle["verificationMaterial"]["tlogEntries"] = [entry]
    assert verify_bundle(to_bytes(bundle), policy).reason is Reason.INVALID_TLOG_ENTRY


@pytest.mark.parametrize(("kind", "version"), [("intoto", "0.0.2"), ("hashedrekord", "0.0.1")])
def test_other_entry_kinds_are_unsupported(
    setting: tuple[FakeLog, Any, VerificationPolicy, bytes], kind: str, version: str
) -> None:
    log, signer, policy, payload = setting
    bundle = key_bundle(signer, payload)
    bundle["verificationMaterial"]["tlogEntries"] = [log.entry(b'{"kind":"x"}', kind, version, promise=True)]
    assert verify_bundle(to_bytes(bundle), policy).reason is Reason.UNSUPPORTED_TLOG


def test_an_unreadable_entry_is_malformed(setting: tuple[FakeLog, Any, VerificationPolicy, bytes]) -> None:
    _log, signer, policy, payload = setting
    bundle = key_bundle(signer, payload)
    bundle["verificationMaterial"]["tlogEntries"] = [{"logIndex": "zero"}]
    assert verify_bundle(to_bytes(bundle), policy).reason is Reason.MALFORMED
