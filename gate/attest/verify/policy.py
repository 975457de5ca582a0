"""The verification policy (who may sign attestations) and the verdict of one verification.

The option names are cosign's, so a user carries ``cosign verify-attestation`` flags over unchanged:
``--attestation-key`` (cosign's ``--key``, repeatable), ``--certificate-identity[-regexp]``,
``--certificate-oidc-issuer[-regexp]``, ``--trusted-root``, ``--insecure-ignore-tlog``. Giving any key
or identity turns verified mode on (``VerificationPolicy.enabled``). A signature is accepted when it
verifies under one of the keys OR under the keyless identity. Regexps match anywhere in the value,
as cosign's Go ``regexp.MatchString`` does: anchor them (``^...$``) to pin a whole identity.

Verifiers never raise on what they verify: they return a ``Verification``, refused with a ``Reason``.
Only the policy's own inputs (a key file, a regexp, the trusted root) raise ``InputError``.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from gate.attest.verify.keys import PublicKey, load_public_keys
from gate.errors import InputError
from gate.files import read_capped

MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024
_BUNDLED_ROOT = ("sigstore._store", "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev", "trusted_root.json")


class Reason(StrEnum):
    """Why an attestation or signature was not accepted (a closed set; the detail says more)."""

    UNSIGNED = "unsigned"
    INVALID_SIGNATURE = "invalid-signature"
    UNTRUSTED_KEY = "untrusted-key"
    UNTRUSTED_IDENTITY = "untrusted-identity"
    UNTRUSTED_ROOT = "untrusted-root"
    NO_TLOG_ENTRY = "no-tlog-entry"
    INVALID_TLOG_ENTRY = "invalid-tlog-entry"
    UNSUPPORTED_BUNDLE = "unsupported-bundle"
    UNSUPPORTED_TLOG = "unsupported-tlog"
    MALFORMED = "malformed"
    SUBJECT_MISMATCH = "subject-mismatch"


@dataclass(frozen=True)
class Verification:
    """The outcome of verifying one signed artifact.

    ``signer`` names who signed (a key's ``sha256:`` fingerprint, or ``<identity> (issuer <issuer>)``);
    ``payload`` (the signed bytes) and ``statement`` (the in-toto statement, for attestations) are set
    only when ``verified``; ``reason`` and ``detail`` only when not.
    """

    verified: bool
    signer: str = ""
    reason: Reason | None = None
    detail: str = ""
    payload_type: str = ""
    payload: bytes = field(default=b"", repr=False)
    statement: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def accepted(
        cls, signer: str, payload_type: str, payload: bytes, statement: Mapping[str, Any] | None = None
    ) -> Verification:
        return cls(True, signer, None, "", payload_type, payload, statement)

    @classmethod
    def refused(cls, reason: Reason, detail: str, signer: str = "") -> Verification:
        return cls(False, signer, reason, detail)

    def describe(self) -> str:
        """One line for a log or a table: who signed, or why it was refused."""
        if self.verified:
            return f"verified, signed by {self.signer}"
        return f"{self.reason}: {self.detail}" if self.detail else str(self.reason)


class Refused(Exception):
    """Raised inside a verifier to stop at the first refusal; its public function returns ``verification``."""

    def __init__(self, reason: Reason, detail: str, signer: str = "") -> None:
        super().__init__(detail)
        self.verification = Verification.refused(reason, detail, signer)


@dataclass(frozen=True)
class VerificationPolicy:
    """Who may sign. Build it with ``VerificationPolicy.build`` (it loads and checks every input)."""

    keys: tuple[PublicKey, ...] = ()
    identity: str | None = None
    identity_regexp: str | None = None
    issuer: str | None = None
    issuer_regexp: str | None = None
    trusted_root_path: str | None = None  # None: the public-good root shipped with sigstore-python
    insecure_ignore_tlog: bool = False
    trusted_root_json: bytes = field(default=b"", compare=False, repr=False)
    """The trusted root's JSON, read once; empty when nothing needs it (keys with --insecure-ignore-tlog)."""

    @property
    def enabled(self) -> bool:
        """Verified mode: any key or keyless identity given."""
        return bool(self.keys) or self.keyless

    @property
    def keyless(self) -> bool:
        return bool(self.identity or self.identity_regexp)

    @property
    def trusted_root_name(self) -> str:
        return self.trusted_root_path or "the public-good Sigstore root shipped with sigstore-python"

    @cached_property
    def identity_pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.identity_regexp) if self.identity_regexp is not None else None

    @cached_property
    def issuer_pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.issuer_regexp) if self.issuer_regexp is not None else None

    def key_named(self, fingerprint: str) -> PublicKey | None:
        return next((key for key in self.keys if key.fingerprint == fingerprint), None)

    @classmethod
    def build(
        cls,
        *,
        keys: Sequence[str] = (),
        identity: str | None = None,
        identity_regexp: str | None = None,
        issuer: str | None = None,
        issuer_regexp: str | None = None,
        trusted_root: str | None = None,
        insecure_ignore_tlog: bool = False,
    ) -> VerificationPolicy:
        """The policy of these option values (cosign's rules), or an ``InputError`` saying what is wrong.

        ``keys``: each a path to a PEM public key file or an inline PEM block (``attestation_keys`` lines).
        """
        identity, identity_regexp = _blank_is_none(identity), _blank_is_none(identity_regexp)
        issuer, issuer_regexp = _blank_is_none(issuer), _blank_is_none(issuer_regexp)
        trusted_root = _blank_is_none(trusted_root)
        _one_of(identity, identity_regexp, "--certificate-identity", "--certificate-identity-regexp")
        _one_of(issuer, issuer_regexp, "--certificate-oidc-issuer", "--certificate-oidc-issuer-regexp")
        has_identity, has_issuer = bool(identity or identity_regexp), bool(issuer or issuer_regexp)
        if has_identity != has_issuer:
            given, missing = (
                ("a certificate identity", "--certificate-oidc-issuer or --certificate-oidc-issuer-regexp")
                if has_identity
                else ("a certificate OIDC issuer", "--certificate-identity or --certificate-identity-regexp")
            )
            raise InputError(
                f"keyless verification needs an identity and an issuer, as cosign does: {given} was given "
                f"without {missing}"
            )
        _check_regexp(identity_regexp, "--certificate-identity-regexp")
        _check_regexp(issuer_regexp, "--certificate-oidc-issuer-regexp")
        loaded = tuple(key for position, entry in enumerate(keys, 1) for key in load_public_keys(entry, position))
        if not loaded and not has_identity and (trusted_root or insecure_ignore_tlog):
            raise InputError(
                "--trusted-root and --insecure-ignore-tlog apply to attestation verification: give "
                "--attestation-key or --certificate-identity and --certificate-oidc-issuer too"
            )
        needs_root = has_identity or (loaded and not insecure_ignore_tlog) or trusted_root is not None
        root_json = _trusted_root_json(trusted_root) if needs_root else b""
        return cls(
            keys=loaded,
            identity=identity,
            identity_regexp=identity_regexp,
            issuer=issuer,
            issuer_regexp=issuer_regexp,
            trusted_root_path=trusted_root,
            insecure_ignore_tlog=insecure_ignore_tlog,
            trusted_root_json=root_json,
        )


def _blank_is_none(value: str | None) -> str | None:
    return value if value and value.strip() else None


def _one_of(exact: str | None, pattern: str | None, exact_flag: str, pattern_flag: str) -> None:
    if exact and pattern:
        raise InputError(f"give {exact_flag} or {pattern_flag}, not both")


def _check_regexp(pattern: str | None, flag: str) -> None:
    if pattern is None:
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        raise InputError(f"{flag} {pattern[:200]!r} is not a valid regular expression: {exc}") from None


def _trusted_root_json(path: str | None) -> bytes:
    """The trusted root's JSON, checked to be one sigstore-python can read (never fetched from the network)."""
    from gate.attest.verify.sigstore_trust import parse_trusted_root  # sigstore-python loads slowly

    if path is None:
        package, folder, name = _BUNDLED_ROOT
        try:
            data = importlib.resources.files(package).joinpath(folder, name).read_bytes()
        except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
            raise InputError(
                f"sigstore-python's bundled trusted root is missing ({exc}); give --trusted-root FILE"
            ) from None
        parse_trusted_root(data, "sigstore-python's bundled trusted root")
        return data
    data = read_capped(path, MAX_TRUSTED_ROOT_BYTES, "the Sigstore trusted root")
    parse_trusted_root(data, path)
    return data
