"""Who a Fulcio certificate names, and the keyless identity policy handed to sigstore-python.

sigstore-python validates the certificate chain, SCT, transparency log and signature; this policy
only decides whether the (already trusted) certificate's identity and OIDC issuer are the ones the
user named. The identity is any SAN (URI, e-mail or Sigstore's other-name); the issuer is read from
the v2 extension (1.3.6.1.4.1.57264.1.8) and else the deprecated v1 one (…1.1), as cosign does.
Exact values must be equal; regexps match anywhere in the value, as cosign's do.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat import asn1
from sigstore.errors import VerificationError

from gate.attest.verify.policy import VerificationPolicy

_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
_OTHER_NAME = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7")


class IdentityMismatch(VerificationError):
    """The certificate is trusted but names another identity or issuer than the policy's."""


def certificate_issuer(cert: x509.Certificate) -> str:
    """The OIDC issuer a Fulcio certificate records, or "" when it records none."""
    for oid, der in ((_ISSUER_V2, True), (_ISSUER_V1, False)):
        try:
            value = cert.extensions.get_extension_for_oid(oid).value
        except x509.ExtensionNotFound:
            continue
        raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
        try:
            return asn1.decode_der(str, raw) if der else raw.decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return ""
    return ""


def certificate_identities(cert: x509.Certificate) -> tuple[str, ...]:
    """Every identity in the certificate's SANs (URIs, e-mails, Sigstore other-names)."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    found = [*names.get_values_for_type(x509.UniformResourceIdentifier), *names.get_values_for_type(x509.RFC822Name)]
    for other in names.get_values_for_type(x509.OtherName):
        if other.type_id == _OTHER_NAME:
            try:
                found.append(asn1.decode_der(str, other.value))
            except ValueError:
                continue
    return tuple(found)


def signer_text(identity: str, issuer: str) -> str:
    """How a keyless signer is named in reports: ``<identity> (issuer <issuer>)``."""
    return f"{identity} (issuer {issuer})"


def certificate_signer(cert: x509.Certificate) -> str:
    identities = certificate_identities(cert)
    return signer_text(identities[0] if identities else "(no identity)", certificate_issuer(cert) or "(none)")


class CertificateIdentity:
    """A sigstore-python ``VerificationPolicy``: the certificate's identity and issuer match the user's."""

    def __init__(self, policy: VerificationPolicy) -> None:
        self._policy = policy
        self.matched = ""

    def verify(self, cert: x509.Certificate) -> None:
        policy = self._policy
        issuer = certificate_issuer(cert)
        if not _matches(issuer, policy.issuer, True, policy):
            wanted = policy.issuer if policy.issuer is not None else f"/{policy.issuer_regexp}/"
            raise IdentityMismatch(f"certificate OIDC issuer {issuer!r} does not match {wanted!r}")
        identities = certificate_identities(cert)
        matching = [name for name in identities if _matches(name, policy.identity, False, policy)]
        if not matching:
            wanted = policy.identity if policy.identity is not None else f"/{policy.identity_regexp}/"
            raise IdentityMismatch(
                f"certificate identity {', '.join(identities) or '(none)'} does not match {wanted!r}"
            )
        self.matched = signer_text(matching[0], issuer)


def _matches(value: str, exact: str | None, is_issuer: bool, policy: VerificationPolicy) -> bool:
    if exact is not None:
        return value == exact
    pattern = policy.issuer_pattern if is_issuer else policy.identity_pattern
    return pattern is not None and pattern.search(value) is not None
