"""The attestation verification options (gate/options/trust.py): the same cosign-named flags on scan, promote
and pipeline, the attestation_keys input (paths and inline PEM blocks, one a line), and the policy both edges
build."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.config import ActionInputs
from gate.errors import InputError
from gate.options.trust import key_entries
from tests.attest.verify.keyless_fixtures import trusted_root
from tests.attest.verify.signing import fingerprint_of, private_key, public_pem
from tests.options.commands import INPUTS, command_config, parser_actions

SCANNING = ("scan", "promote", "pipeline")
FLAGS = ("--attestation-key", "--certificate-identity", "--certificate-identity-regexp", "--certificate-oidc-issuer",
         "--certificate-oidc-issuer-regexp", "--trusted-root", "--insecure-ignore-tlog", "--allow-empty-sbom")  # fmt: skip
ISSUER = "https://token.actions.githubusercontent.com"


def config_from_inputs(command: str, **inputs: str) -> object:
    from gate.commands import load

    environ = {**INPUTS[command], **{f"INPUT_{name.upper()}": value for name, value in inputs.items()}}
    return load(command).config_from_inputs(ActionInputs(environ))


@pytest.mark.parametrize("command", SCANNING)
def test_every_scanning_command_has_the_verification_flags(command: str) -> None:
    actions, scan = parser_actions(command), parser_actions("scan")
    for flag in FLAGS:
        assert flag in actions, f"{command} lacks {flag}"
        assert actions[flag].help == scan[flag].help and actions[flag].default == scan[flag].default


def test_key_entries_keep_pem_blocks_whole() -> None:
    pem = public_pem(private_key()).decode()
    text = f"# Docker's key\nkeys/dhi.pub\n\n{pem}  other.pub  \n{pem}"
    assert key_entries(text, "input attestation_keys") == ["keys/dhi.pub", pem, "other.pub", pem]
    assert key_entries("a, b.pub\n", "input attestation_keys") == ["a, b.pub"]  # one a line: a comma is a path's
    assert key_entries("\n  \n# none\n", "input attestation_keys") == []
    with pytest.raises(
        InputError, match=r"input attestation_keys: the PEM block that starts on line 2 has no -----END"
    ):
        key_entries("a.pub\n-----BEGIN PUBLIC KEY-----\nMFkw\n", "input attestation_keys")


@pytest.mark.parametrize("command", SCANNING)
def test_both_edges_build_the_same_policy(command: str, tmp_path: Path) -> None:
    first, second = private_key(), private_key("p384")
    path = tmp_path / "first.pub"
    path.write_bytes(public_pem(first))
    inline = public_pem(second).decode()
    from_cli = command_config(
        command, "--attestation-key", str(path), "--attestation-key", inline, "--certificate-identity-regexp",
        "^https://github.com/acme/", "--certificate-oidc-issuer", ISSUER, "--trusted-root", trusted_root(),
        "--allow-empty-sbom",
    )  # fmt: skip
    from_inputs = config_from_inputs(
        command, attestation_keys=f"{path}\n{inline}", certificate_identity_regexp="^https://github.com/acme/",
        certificate_oidc_issuer=ISSUER, trusted_root=trusted_root(), allow_empty_sbom="true",
    )  # fmt: skip
    assert from_cli == from_inputs
    policy = from_cli.verification_policy()  # type: ignore[attr-defined]
    assert policy.enabled and policy.keyless
    assert [key.fingerprint for key in policy.keys] == [fingerprint_of(first), fingerprint_of(second)]
    assert [key.source for key in policy.keys] == [str(path), "inline key 2"]
    settings = from_cli.scan_settings("127.0.0.1:5000/a/b:1")  # type: ignore[attr-defined]
    assert settings.verification == policy and settings.allow_empty_sbom is True


@pytest.mark.parametrize("command", SCANNING)
def test_without_a_key_or_identity_verified_mode_is_off(command: str) -> None:
    for config in (command_config(command), config_from_inputs(command)):
        settings = config.scan_settings("127.0.0.1:5000/a/b:1")  # type: ignore[attr-defined]
        assert not settings.verification.enabled and settings.allow_empty_sbom is False
        assert settings.sbom_predicate_type == "auto"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--attestation-key", "/no/such/key.pub"], r"/no/such/key\.pub"),
        (["--certificate-identity", "me@example.com"], "needs an identity and an issuer"),
        (["--certificate-identity-regexp", "(", "--certificate-oidc-issuer", ISSUER], "not a valid regular expression"),
        (["--insecure-ignore-tlog"], "give --attestation-key or --certificate-identity"),
    ],
)
def test_an_unusable_value_is_bad_input_before_any_scan(argv: list[str], message: str) -> None:
    config = command_config("scan", *argv)
    with pytest.raises(InputError, match=message):
        config.request()
