"""Keyless sigstore bundles, verified by sigstore-python against the policy's trusted root.

sigstore-python's errors are sorted into ``Reason`` codes; any failure is a refusal, never an error.
"""

from __future__ import annotations

from sigstore.errors import CertValidationError, VerificationError
from sigstore.models import Bundle, IncompatibleEntry, InvalidBundle

from gate.attest.verify.dsse import attested, load_json
from gate.attest.verify.identity import CertificateIdentity, IdentityMismatch, certificate_signer
from gate.attest.verify.policy import Reason, Refused, Verification, VerificationPolicy
from gate.attest.verify.sigstore_trust import trust_of

_UNSUPPORTED = ("Integrated time only supported", "Unsupported DSSE log entry type", "Expected entry type")
_NO_TIME = ("not enough sources of verified time",)
_BAD_TLOG = ("invalid log entry", "log entry", "inclusion", "checkpoint", "SET:")
_UNTRUSTED = ("SCT", "Timestamp Authorities", "Key usage", "Extended usage")


def verify_keyless_bundle(data: bytes, policy: VerificationPolicy) -> Verification:
    """A keyless bundle (JSON bytes) under ``policy``'s identity and trusted root."""
    try:
        trust = trust_of(policy.trusted_root_json)
        if trust.verifier is None:
            raise Refused(Reason.UNTRUSTED_ROOT, f"{policy.trusted_root_name} cannot verify keyless: {trust.problem}")
        bundle = _load(data)
        signer = _signer(bundle)
        identity = CertificateIdentity(policy)
        try:
            payload_type, payload = trust.verifier.verify_dsse(bundle, identity)
        except IdentityMismatch as exc:
            raise Refused(Reason.UNTRUSTED_IDENTITY, str(exc), signer) from None
        except CertValidationError as exc:
            raise Refused(
                Reason.UNTRUSTED_ROOT, f"the certificate does not chain to {policy.trusted_root_name} ({exc})", signer
            ) from None
        except VerificationError as exc:
            raise Refused(*_classify(str(exc)), signer) from None
        except Exception as exc:  # sigstore-python on a hostile bundle: never a crash, never counted
            raise Refused(
                Reason.MALFORMED, f"sigstore-python could not read the bundle ({_text(exc)})", signer
            ) from None
        return attested(identity.matched or signer, payload_type, payload)
    except Refused as refusal:
        return refusal.verification


def _load(data: bytes) -> Bundle:
    try:
        return Bundle.from_json(data)
    except IncompatibleEntry as exc:
        raise Refused(Reason.UNSUPPORTED_TLOG, f"sigstore-python cannot check this tlog entry ({exc})") from None
    except InvalidBundle as exc:
        text = str(exc)
        if "exactly one log entry" in text and not _has_tlog_entry(data):
            raise Refused(
                Reason.NO_TLOG_ENTRY,
                "the keyless bundle has no transparency-log entry (sigstore-python needs one: a bundle with a "
                "signed timestamp only, as GitHub writes for private repositories, is not verified)",
            ) from None
        if "unsupported bundle format" in text:
            raise Refused(Reason.UNSUPPORTED_BUNDLE, text[:300]) from None
        raise Refused(Reason.MALFORMED, f"sigstore-python refused the bundle ({text[:300]})") from None
    except Exception as exc:  # a certificate that does not parse, a hostile structure
        raise Refused(Reason.MALFORMED, f"sigstore-python could not read the bundle ({_text(exc)})") from None


def _has_tlog_entry(data: bytes) -> bool:
    material = load_json(data, "sigstore bundle").get("verificationMaterial") or {}
    return bool(isinstance(material, dict) and material.get("tlogEntries"))


def _signer(bundle: Bundle) -> str:
    try:
        return certificate_signer(bundle.signing_certificate)
    except Exception:  # a certificate with broken extensions still gets refused by sigstore-python
        return ""


def _classify(text: str) -> tuple[Reason, str]:
    short = text[:300]
    if any(marker in text for marker in _UNSUPPORTED):
        return Reason.UNSUPPORTED_BUNDLE, f"sigstore-python cannot verify this bundle's tlog entry ({short})"
    if "invalid signature" in text.lower() or "Signature is invalid" in text:
        return Reason.INVALID_SIGNATURE, short
    if any(marker in text for marker in _NO_TIME):
        return (
            Reason.NO_TLOG_ENTRY,
            f"no verified signing time: no tlog inclusion promise or signed timestamp ({short})",
        )
    if any(marker in text for marker in _UNTRUSTED):
        return Reason.UNTRUSTED_ROOT, short
    if any(marker in text for marker in _BAD_TLOG):
        return Reason.INVALID_TLOG_ENTRY, short
    return Reason.INVALID_SIGNATURE, short


def _text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
