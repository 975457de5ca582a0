"""The one YAML loader (gate/yamlsafe.py): aliases capped, recursive aliases and duplicate keys refused with
their line, deep nesting an input error, and no other YAML loading anywhere in gate/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.yamlsafe import MAX_ALIAS_EXPANSION, YamlSyntaxError, load_yaml

GATE = Path(__file__).resolve().parents[1] / "gate"


def alias_bomb(head: str, indent: str = "", use: str = "all: *l8") -> str:
    """A "billion laughs" YAML document of about 500 bytes: nine levels of nine aliases (9**9 strings),
    after ``head`` and before ``use`` (which names the last level), both at ``indent``."""
    lines = [head, f'{indent}l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        lines.append(f"{indent}l{level}: &l{level} [" + ",".join([f"*l{level - 1}"] * 9) + "]")
    lines.append(indent + use)
    return "\n".join(lines) + "\n"


def test_plain_documents_and_anchors_that_share_a_little_load() -> None:
    assert load_yaml("", "x") is None
    assert load_yaml("a: 1\nb: [x, y]\n", "x") == {"a": 1, "b": ["x", "y"]}
    shared = load_yaml("images: &images [ghcr.io/a/*, ghcr.io/b/*]\nagain: *images\n", "x")
    assert shared["again"] == ["ghcr.io/a/*", "ghcr.io/b/*"]
    assert load_yaml("when: 2025-01-31\n", "x", dates=False) == {"when": "2025-01-31"}


def test_an_alias_bomb_is_refused_without_expanding_it() -> None:
    bomb = alias_bomb("top:", "  ")
    assert len(bomb.encode()) < 600
    with pytest.raises(InputError) as info:
        load_yaml(bomb, "bomb.yml")
    assert info.value.exit_code == 2
    assert "bomb.yml: aliases (*name) expand the YAML document by" in info.value.message
    assert f"more than the {MAX_ALIAS_EXPANSION:,} allowed" in info.value.message


def test_aliases_within_the_cap_are_fine() -> None:
    many = "base: &b [" + ",".join(["x"] * 100) + "]\nuses: [" + ",".join(["*b"] * 90) + "]\n"
    assert len(load_yaml(many, "x")["uses"]) == 90


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(InputError, match=r"x: line 1: a recursive alias"):
        load_yaml("a: &a [1, *a]\n", "x")


def test_a_key_given_twice_names_both_lines() -> None:
    with pytest.raises(InputError) as info:
        load_yaml("id: CVE-1\nreason: first\nreason: second\n", "e.yml")
    assert info.value.message == (
        "e.yml: line 3: key 'reason' is given twice in one mapping (first at line 2); YAML keys are unique: keep one"
    )
    with pytest.raises(InputError, match=r"line 2: key '0x1' is given twice .*first at line 1"):
        load_yaml("1: a\n0x1: b\n", "x")  # the same integer key, spelt twice
    with pytest.raises(InputError, match=r"line 3: key 'b'"):
        load_yaml("a:\n  b: 1\n  b: 2\n", "x")


def test_a_secret_document_never_quotes_its_text() -> None:
    with pytest.raises(InputError) as info:
        load_yaml("ghp_t0ken: {a: 1}\nghp_t0ken: {a: 2}\n", "registry_auth", secret=True)
    assert "ghp_t0ken" not in info.value.message and "line 2: a key is given twice" in info.value.message
    with pytest.raises(YamlSyntaxError) as syntax:
        load_yaml("ghp_t0ken: [", "registry_auth", secret=True)
    assert "ghp_t0ken" not in syntax.value.message and syntax.value.line == 1


def test_merged_keys_may_be_overridden_as_yaml_allows() -> None:
    document = load_yaml("base: &b {reason: shared, id: CVE-1}\nentry:\n  <<: *b\n  id: CVE-2\n", "x")
    assert document["entry"] == {"reason": "shared", "id": "CVE-2"}


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "a:\n" + "".join(" " * i + "- \n" for i in range(3000))])
def test_deep_nesting_is_bad_input_not_a_crash(text: str) -> None:
    with pytest.raises(InputError):
        load_yaml(text, "deep.yml")


def test_unreadable_characters_are_a_syntax_error() -> None:
    with pytest.raises(YamlSyntaxError, match="x: somewhere: not valid YAML"):
        load_yaml("{\x08", "x")


def test_no_module_of_gate_loads_yaml_any_other_way() -> None:
    loaders = re.compile(r"yaml\.(safe_load|load|full_load|unsafe_load|compose|SafeLoader|CSafeLoader|Loader)\b")
    offenders = [
        str(path.relative_to(GATE))
        for path in GATE.rglob("*.py")
        if path.name != "yamlsafe.py" and loaders.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
