from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.attest import unwrap as unwrap_module
from gate.attest.unwrap import Attestation, bom_from_attestation, unwrap, unwrap_document
from gate.errors import GateError, InputError
from gate.sbom.bom import write_bom
from tests.attest.wrap import CDX_PREDICATE, REAL_WORLD, SPDX_PREDICATE, bundle, cosign_legacy, dsse, encode, statement

SOURCE = "sha256:" + "1" * 64
BOM = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library", "name": "zlib"}]}


def real(name: str) -> dict[str, Any]:
    path = REAL_WORLD / name
    if not path.is_file():
        pytest.skip(f"real-world fixture {path} is absent")
    value: dict[str, Any] = json.loads(path.read_bytes())
    return value


@pytest.mark.parametrize("version", ["v0.1", "v1"])
def test_bare_statement(version: str) -> None:
    result = unwrap(encode(statement(BOM, version=version)), SOURCE)
    assert result.envelope == "statement"
    assert result.statement_type == f"https://in-toto.io/Statement/{version}"
    assert result.predicate_type == CDX_PREDICATE
    assert result.predicate == BOM
    assert result.subject_digests == frozenset({"sha256:" + "a" * 64})
    assert not result.cosign_legacy and result.source == SOURCE


@pytest.mark.parametrize("urlsafe", [False, True])
def test_dsse_envelope(urlsafe: bool) -> None:
    result = unwrap(encode(dsse(statement(BOM, "https://cyclonedx.org/bom/v1.6"), urlsafe=urlsafe)), SOURCE)
    assert result.envelope == "dsse"
    assert result.predicate_type == "https://cyclonedx.org/bom/v1.6"
    assert result.predicate == BOM


def test_dsse_payload_without_padding() -> None:
    envelope = dsse(statement(BOM))
    envelope["payload"] = envelope["payload"].rstrip("=")
    assert unwrap(encode(envelope), SOURCE).predicate == BOM


@pytest.mark.parametrize("version", ["0.1", "0.2", "0.3"])
def test_sigstore_bundle(version: str) -> None:
    result = unwrap(encode(bundle(dsse(statement(BOM)), version)), SOURCE)
    assert result.envelope == "sigstore-bundle"
    assert result.predicate == BOM


@pytest.mark.parametrize("as_string", [True, False])
def test_cosign_legacy_data_wrapper(as_string: bool) -> None:
    result = unwrap(encode(dsse(statement(cosign_legacy(BOM, as_string=as_string), version="v0.1"))), SOURCE)
    assert result.cosign_legacy
    assert result.predicate == BOM


def test_raw_documents_take_the_annotated_or_their_own_predicate_type() -> None:
    assert unwrap(encode(BOM), SOURCE).predicate_type == CDX_PREDICATE
    assert unwrap(encode(BOM), SOURCE, predicate_type="https://cyclonedx.org/bom/v1.6").predicate_type == (
        "https://cyclonedx.org/bom/v1.6"
    )
    spdx = {"spdxVersion": "SPDX-2.3", "packages": []}
    result = unwrap(encode(spdx), SOURCE)
    assert (result.envelope, result.predicate_type, result.subjects) == ("raw", SPDX_PREDICATE, ())


def test_statement_predicate_type_wins_over_the_hint() -> None:
    result = unwrap(encode(statement(BOM, "https://slsa.dev/provenance/v1")), SOURCE, predicate_type=CDX_PREDICATE)
    assert result.predicate_type == "https://slsa.dev/provenance/v1"


def test_predicate_json_round_trips_including_lone_surrogates() -> None:
    predicate = {"name": "\ud800x", "é": 1}
    result = Attestation(CDX_PREDICATE, (), predicate, "raw")
    assert json.loads(result.predicate_json()) == predicate


def test_bom_from_a_dsse_attestation_and_written_for_a_scanner(tmp_path: Path) -> None:
    document = real("node-alpine-image.cdx.json")
    attestation = unwrap(encode(dsse(statement(document))), "sha256:abc")
    bom = bom_from_attestation(attestation)
    path = write_bom(bom, tmp_path / "out" / f"linux-amd64{bom.suffix}")
    assert json.loads(path.read_bytes()) == document
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_attestation_predicate_that_is_not_a_bom_names_the_source() -> None:
    attestation = unwrap(encode(statement({"buildType": "x"}, "https://slsa.dev/provenance/v1")), "sha256:def")
    with pytest.raises(InputError) as info:
        bom_from_attestation(attestation)
    assert "sha256:def" in info.value.message and "slsa" in info.value.message


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


MALFORMED: list[tuple[str, bytes, str]] = [
    ("not json", b"{not json", "not JSON"),
    ("not utf-8", b"\xff\xfe\x00{", "attestation"),
    ("a list", b"[]", "expected a JSON object"),
    ("unknown object", b'{"hello": 1}', "not a DSSE envelope"),
    ("dsse payload not base64", encode({"payloadType": "application/vnd.in-toto+json", "payload": "%%%"}), "base64"),
    ("dsse wrong payload type", encode({"payloadType": "text/plain", "payload": _b64(b"{}")}), "payloadType"),
    ("dsse payload not json", encode({"payloadType": "application/vnd.in-toto+json", "payload": _b64(b"x")}), "JSON"),
    (
        "dsse payload a list",
        encode({"payloadType": "application/vnd.in-toto+json", "payload": _b64(b"[1]")}),
        "not an in-toto statement",
    ),
    (
        "dsse signatures not a list",
        encode({"payloadType": "application/vnd.in-toto+json", "payload": _b64(b"{}"), "signatures": {}}),
        "signatures",
    ),
    ("dsse payload missing", encode({"payloadType": "application/vnd.in-toto+json"}), "payload"),
    ("unknown statement type", encode({**statement(BOM), "_type": "https://in-toto.io/Statement/v9"}), "_type"),
    ("no predicate type", encode({k: v for k, v in statement(BOM).items() if k != "predicateType"}), "predicateType"),
    ("no predicate", encode({k: v for k, v in statement(BOM).items() if k != "predicate"}), "no predicate"),
    ("subject not a list", encode({**statement(BOM), "subject": {}}), "subject"),
    ("subject item not object", encode({**statement(BOM), "subject": ["x"]}), "subject[0]"),
    ("subject digest not strings", encode({**statement(BOM), "subject": [{"digest": {"sha256": 1}}]}), "digest"),
    ("bundle without dsse", encode({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}), "dsseEnvelope"),
    ("cosign data not json", encode(statement({"Data": "{oops", "Timestamp": "t"})), "cosign predicate Data"),
    ("cosign data a number", encode(statement({"Data": 5})), "cosign predicate Data"),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "attestation"),
]


@pytest.mark.parametrize(("label", "data", "expected"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_is_an_input_error_naming_the_source(label: str, data: bytes, expected: str) -> None:
    with pytest.raises(InputError) as info:
        unwrap(data, SOURCE)
    assert SOURCE in info.value.message
    assert expected in info.value.message


def test_size_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unwrap_module, "MAX_ATTESTATION_BYTES", 100)
    with pytest.raises(InputError, match="exceeds the cap"):
        unwrap(encode(statement(BOM)), SOURCE)


@pytest.mark.parametrize(
    ("name", "predicate_type"),
    [("node-alpine-image.cdx.json", CDX_PREDICATE + "/v1.6"), ("node-app-dir.spdx.json", SPDX_PREDICATE + "/v2.3")],
)
def test_real_sboms_in_every_wrapper(name: str, predicate_type: str) -> None:
    document = real(name)
    forms = {
        "raw": document,
        "statement": statement(document, predicate_type, version="v0.1"),
        "dsse": dsse(statement(document, predicate_type)),
        "sigstore-bundle": bundle(dsse(statement(cosign_legacy(document), predicate_type))),
    }
    for kind, wrapped in forms.items():
        result = unwrap(encode(wrapped), SOURCE, predicate_type=predicate_type)
        assert result.envelope == kind
        assert result.predicate_type == predicate_type
        assert result.predicate == document


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "payloadType",
        "payload",
        "signatures",
        "_type",
        "predicateType",
        "predicate",
        "subject",
        "mediaType",
        "dsseEnvelope",
        "Data",
        "bomFormat",
        "spdxVersion",
    ]
)
VALUES = st.one_of(
    JSON,
    st.sampled_from(
        [
            "application/vnd.in-toto+json",
            "https://in-toto.io/Statement/v1",
            "https://in-toto.io/Statement/v0.1",
            "application/vnd.dev.sigstore.bundle.v0.3+json",
            "CycloneDX",
            "SPDX-2.3",
        ]
    ),
    st.builds(lambda v: _b64(json.dumps(v).encode()), JSON),
)
SHAPED = st.recursive(
    st.dictionaries(KEYS, VALUES, max_size=6),
    lambda inner: st.dictionaries(KEYS, st.one_of(VALUES, inner, st.builds(lambda v: _b64(encode(v)), inner))),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), SHAPED.map(encode), JSON.map(encode)))
def test_fuzz_only_gate_errors_escape(data: bytes) -> None:
    try:
        result = unwrap(data, SOURCE)
    except GateError:
        return
    assert isinstance(result.predicate_type, str)


@settings(max_examples=200, deadline=None)
@given(SHAPED)
def test_fuzz_documents(document: dict[str, Any]) -> None:
    try:
        result = unwrap_document(document, SOURCE)
    except GateError:
        return
    assert result.envelope in ("sigstore-bundle", "dsse", "statement", "raw")


def test_real_fixture_folder_location() -> None:
    # The helper's path must point at ../shared relative to the repository root.
    assert REAL_WORLD.parts[-3:] == ("shared", "fixtures", "real-world")
    assert Path(__file__).resolve().parents[2] / "gate" == Path(unwrap_module.__file__).resolve().parents[1]
