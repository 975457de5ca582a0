"""The attestation verification options of the scan stage, for ``scan``, ``promote`` and ``pipeline``: who
may sign the SBOM and VEX attestations the scan uses. The names are cosign's (``cosign verify-attestation``),
so a user carries a command over: ``--attestation-key`` (cosign's ``--key``, repeatable),
``--certificate-identity[-regexp]``, ``--certificate-oidc-issuer[-regexp]``, ``--trusted-root``,
``--insecure-ignore-tlog``. Giving a key or an identity turns verified mode on.
``TrustFields`` is the config part they fill; ``verification_policy()`` loads and checks every value
(key files, regexps, the trusted root) into the ``gate.attest.verify.policy.VerificationPolicy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.errors import InputError
from gate.options.base import Group, Option

if TYPE_CHECKING:  # the verification (cryptography, sigstore) is imported when a policy is built, not for --help
    from gate.attest.verify.policy import VerificationPolicy

_TEXT = {"type": "string"}


def key_entries(text: str, where: str) -> list[str]:
    """The ``attestation_keys`` input: one key a line, a path or an inline PEM block (its lines kept together).

    Blank lines and ``#`` comments are skipped; a PEM block must end (``-----END ...-----``).
    """
    entries: list[str] = []
    block: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if block:
            block.append(stripped)
            if stripped.startswith("-----END"):
                entries.append("\n".join(block) + "\n")
                block = []
            continue
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("-----BEGIN"):
            block = [stripped]
            start = number
            continue
        entries.append(stripped)
    if block:
        raise InputError(f"{where}: the PEM block that starts on line {start} has no -----END line")
    return entries


ATTESTATION_KEYS = Option(
    "attestation_keys",
    "verify attestations with this public key (PEM file; ECDSA, Ed25519 or RSA), like cosign's --key; "
    "repeatable. Turns verified mode on: only SBOMs and VEX signed by a trusted signer count",
    {"type": "array", "items": {"type": "string", "minLength": 1}},
    kind="list",
    default=(),
    flag="--attestation-key",
    metavar="FILE",
    split=key_entries,
)
CERTIFICATE_IDENTITY = Option(
    "certificate_identity",
    "keyless: the signer's certificate identity (a workflow URI or an e-mail), exactly; turns verified mode on",
    _TEXT,
    default="",
    flag="--certificate-identity",
    metavar="IDENTITY",
)
CERTIFICATE_IDENTITY_REGEXP = Option(
    "certificate_identity_regexp",
    "keyless: a regular expression the certificate identity matches (anchor it with ^...$)",
    _TEXT,
    default="",
    flag="--certificate-identity-regexp",
    metavar="REGEXP",
)
CERTIFICATE_OIDC_ISSUER = Option(
    "certificate_oidc_issuer",
    "keyless: the OIDC issuer of the signer's certificate, exactly "
    "(GitHub Actions: https://token.actions.githubusercontent.com)",
    _TEXT,
    default="",
    flag="--certificate-oidc-issuer",
    metavar="URL",
)
CERTIFICATE_OIDC_ISSUER_REGEXP = Option(
    "certificate_oidc_issuer_regexp",
    "keyless: a regular expression the certificate's OIDC issuer matches",
    _TEXT,
    default="",
    flag="--certificate-oidc-issuer-regexp",
    metavar="REGEXP",
)
TRUSTED_ROOT = Option(
    "trusted_root",
    "a Sigstore trusted_root.json to verify against (default: the public-good root shipped with "
    "sigstore-python; GitHub's own for private repositories' attestations). Never fetched",
    _TEXT,
    default="",
    flag="--trusted-root",
    metavar="FILE",
)
INSECURE_IGNORE_TLOG = Option(
    "insecure_ignore_tlog",
    "accept key-signed attestations without a transparency-log entry (keyless ones always need one)",
    {"type": "boolean"},
    kind="bool",
    default=False,
    flag="--insecure-ignore-tlog",
)

TRUST = Group(
    "attestation verification options (cosign's names)",
    (
        ATTESTATION_KEYS,
        CERTIFICATE_IDENTITY,
        CERTIFICATE_IDENTITY_REGEXP,
        CERTIFICATE_OIDC_ISSUER,
        CERTIFICATE_OIDC_ISSUER_REGEXP,
        TRUSTED_ROOT,
        INSECURE_IGNORE_TLOG,
    ),
)


@dataclass(frozen=True, kw_only=True)
class TrustFields:
    """The verification fields of a command config that scans."""

    attestation_keys: tuple[str, ...] = ()
    certificate_identity: str = ""
    certificate_identity_regexp: str = ""
    certificate_oidc_issuer: str = ""
    certificate_oidc_issuer_regexp: str = ""
    trusted_root: str = ""
    insecure_ignore_tlog: bool = False

    def verification_policy(self) -> VerificationPolicy:
        """The policy of these values (key files and the trusted root read now): an ``InputError`` when one
        is unusable, an empty policy (verified mode off) when none is given."""
        from gate.attest.verify.policy import VerificationPolicy

        return VerificationPolicy.build(
            keys=self.attestation_keys,
            identity=self.certificate_identity,
            identity_regexp=self.certificate_identity_regexp,
            issuer=self.certificate_oidc_issuer,
            issuer_regexp=self.certificate_oidc_issuer_regexp,
            trusted_root=self.trusted_root,
            insecure_ignore_tlog=self.insecure_ignore_tlog,
        )
