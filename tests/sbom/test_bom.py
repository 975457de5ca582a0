from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.errors import GateError, InputError
from gate.sbom.bom import read_bom, recognise_bom, write_bom
from tests.attest.wrap import REAL_WORLD, encode


def real_bytes(name: str) -> bytes:
    path = REAL_WORLD / name
    if not path.is_file():
        pytest.skip(f"real-world fixture {path} is absent")
    return path.read_bytes()


def test_real_cyclonedx() -> None:
    data = real_bytes("node-alpine-image.cdx.json")
    bom = read_bom(data, "node-alpine-image.cdx.json")
    expected = json.loads(data)
    assert (bom.format, bom.spec_version) == ("cyclonedx", expected["specVersion"])
    assert bom.package_count == len(expected["components"])
    assert bom.suffix == ".cdx.json"


def test_real_spdx() -> None:
    data = real_bytes("node-app-dir.spdx.json")
    bom = read_bom(data, "node-app-dir.spdx.json")
    expected = json.loads(data)
    assert (bom.format, bom.spec_version) == ("spdx", expected["spdxVersion"])
    assert bom.package_count == len(expected["packages"])
    assert bom.suffix == ".spdx.json"


def test_write_bom_keeps_lone_surrogates_as_json_escapes(tmp_path: Path) -> None:
    bom = recognise_bom({"bomFormat": "CycloneDX", "specVersion": "1.5", "metadata": {"x": "\udcff"}}, "t")
    path = write_bom(bom, tmp_path / "b.json")
    assert json.loads(path.read_text("ascii"))["metadata"]["x"] == "\udcff"


def test_write_bom_to_an_unwritable_place_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    bom = recognise_bom({"bomFormat": "CycloneDX", "specVersion": "1.5"}, "t")
    with pytest.raises(InputError, match="cannot write SBOM"):
        write_bom(bom, blocker / "bom.json")


BAD: list[tuple[str, Any, str]] = [
    ("not an object", [1], "expected a JSON object"),
    ("wrong bomFormat", {"bomFormat": "SWID", "specVersion": "1.6"}, "bomFormat"),
    ("missing specVersion", {"bomFormat": "CycloneDX"}, "specVersion"),
    ("cyclonedx 2.0", {"bomFormat": "CycloneDX", "specVersion": "2.0"}, "specVersion"),
    ("numeric specVersion", {"bomFormat": "CycloneDX", "specVersion": 1.6}, "specVersion"),
    ("components not list", {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": {}}, "components"),
    ("components of strings", {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": ["a"]}, "components"),
    ("spdx 3", {"spdxVersion": "SPDX-3.0"}, "SPDX 2.x"),
    ("spdx version number", {"spdxVersion": 2.3}, "spdxVersion"),
    ("spdx packages not list", {"spdxVersion": "SPDX-2.3", "packages": "x"}, "packages"),
    ("json-ld", {"@context": "https://spdx.org/rdf/3.0.0/spdx-context.jsonld", "@graph": []}, "SPDX 3"),
    ("unknown", {"name": "x"}, "neither CycloneDX"),
]


@pytest.mark.parametrize(("label", "document", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_documents(label: str, document: Any, expected: str) -> None:
    with pytest.raises(InputError) as info:
        read_bom(json.dumps(document).encode(), "bom.json")
    assert "bom.json" in info.value.message and expected in info.value.message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<?xml version='1.0'?><bom/>", "XML"),
        (b"{", "not JSON"),
        (b"\xff\xfe\xfa", "not"),
        (b"[" * 50_000 + b"]" * 50_000, "not readable JSON"),
    ],
)
def test_unreadable_bytes(data: bytes, expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        read_bom(data, "bom.json")


def test_size_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    import gate.sbom.bom as bom_module

    monkeypatch.setattr(bom_module, "MAX_BOM_BYTES", 10)
    with pytest.raises(InputError, match="exceeds the cap"):
        read_bom(b'{"bomFormat": "CycloneDX", "specVersion": "1.6"}', "bom.json")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=15,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "bomFormat": st.one_of(st.just("CycloneDX"), JSON),
        "specVersion": st.one_of(st.sampled_from(["1.4", "1.6", "1.x"]), JSON),
        "spdxVersion": st.one_of(st.sampled_from(["SPDX-2.3", "SPDX-2"]), JSON),
        "components": st.one_of(st.lists(st.one_of(st.dictionaries(st.text(max_size=4), JSON), JSON)), JSON),
        "packages": st.one_of(st.lists(st.one_of(st.dictionaries(st.text(max_size=4), JSON), JSON)), JSON),
        "@context": JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=100), FIELDS.map(lambda d: json.dumps(d).encode()), JSON.map(encode)))
def test_fuzz_only_gate_errors_escape(data: bytes) -> None:
    try:
        bom = read_bom(data, "fuzz")
    except GateError:
        return
    assert bom.format in ("cyclonedx", "spdx")
