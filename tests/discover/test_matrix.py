from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gate.discover.images import Found, Location
from gate.discover.matrix import compact_json, matrix, matrix_names, unique_images
from gate.oci.reference import parse_reference
from gate.policy.sarif_category import check_sarif_category

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "1" * 12 + "3" * 52  # shares its first 12 hex digits with D1
D4 = "sha256:" + "4" * 64


def found(text: str, path: str, line: int, instruction: str = "FROM") -> Found:
    ref = parse_reference(text, strict_digest=False)
    return Found(Location(path, line, instruction), text, str(ref), ref)


def test_dedupe_by_digest_ignoring_tags_and_by_reference_otherwise() -> None:
    images = unique_images(
        [
            found(f"alpine:3.20@{D1}", "b/Dockerfile", 2),
            found(f"docker.io/library/alpine:latest@{D1}", "a/Dockerfile", 9),
            found(f"alpine@{D2}", "a/Dockerfile", 1),
            found("alpine", "a/Dockerfile", 3),
            found("docker.io/library/alpine:latest", "c/Dockerfile", 1, "COPY"),
            found("alpine:3", "a/Dockerfile", 4),
            Found(Location("x", 1, "FROM"), "$X", "$X", None, "unresolved build argument"),
        ]
    )
    assert [(i.image, i.pinned, [(loc.path, loc.line) for loc in i.locations]) for i in images] == [
        ("docker.io/library/alpine:3", False, [("a/Dockerfile", 4)]),
        ("docker.io/library/alpine:latest", False, [("a/Dockerfile", 3), ("c/Dockerfile", 1)]),
        (f"docker.io/library/alpine:latest@{D1}", True, [("a/Dockerfile", 9), ("b/Dockerfile", 2)]),
        (f"docker.io/library/alpine@{D2}", True, [("a/Dockerfile", 1)]),
    ]
    assert images[0].name == "docker.io/library/alpine"


def test_matrix_is_compact_single_line_json() -> None:
    images = unique_images([found(f"ghcr.io/a/b:1@{D1}", "Dockerfile", 1)])
    text = compact_json(matrix(images))
    assert "\n" not in text and ": " not in text
    assert json.loads(text) == {
        "include": [
            {
                "image": f"ghcr.io/a/b:1@{D1}",
                "name": "ghcr.io/a/b",
                "sarif_category": "image-gate",
                "locations": [{"path": "Dockerfile", "line": 1, "instruction": "FROM"}],
            }
        ]
    }
    assert compact_json(matrix([])) == '{"include":[]}'


def entries(*texts: str) -> list[dict[str, Any]]:
    images = unique_images([found(text, "Dockerfile", line) for line, text in enumerate(texts, 1)])
    include: list[dict[str, Any]] = matrix(images)["include"]
    return include


def test_one_image_per_repository_is_named_by_its_repository() -> None:
    assert [(e["name"], e["sarif_category"]) for e in entries(f"golang:1.22@{D1}", f"alpine:3.20@{D2}")] == [
        ("docker.io/library/alpine", "image-gate"),
        ("docker.io/library/golang", "image-gate"),
    ]


def test_two_tags_of_one_repository_get_their_tags_and_categories_apart() -> None:
    found_entries = entries(f"golang:1.22@{D1}", f"golang:1.23@{D2}", f"alpine:3.20@{D1}")
    assert [(e["image"], e["name"], e["sarif_category"]) for e in found_entries] == [
        (f"docker.io/library/alpine:3.20@{D1}", "docker.io/library/alpine", "image-gate"),
        (f"docker.io/library/golang:1.22@{D1}", "docker.io/library/golang:1.22", "image-gate/1.22"),
        (f"docker.io/library/golang:1.23@{D2}", "docker.io/library/golang:1.23", "image-gate/1.23"),
    ]


def test_one_tag_pinned_to_two_digests_adds_the_digest_prefix_then_the_whole_reference() -> None:
    named = {
        e["image"]: (e["name"], e["sarif_category"])
        for e in entries(f"golang:1.22@{D1}", f"golang:1.22@{D2}", "golang:1.23", f"golang@{D4}")
    }
    golang = "docker.io/library/golang"
    assert named == {
        f"{golang}:1.22@{D1}": (f"{golang}:1.22@sha256:111111111111", "image-gate/1.22@sha256:111111111111"),
        f"{golang}:1.22@{D2}": (f"{golang}:1.22@sha256:222222222222", "image-gate/1.22@sha256:222222222222"),
        f"{golang}:1.23": (f"{golang}:1.23", "image-gate/1.23"),
        f"{golang}@{D4}": (f"{golang}@sha256:444444444444", "image-gate/sha256:444444444444"),
    }
    # Two digests alike in their first 12 hex digits: the whole reference.
    whole = {e["image"]: e["name"] for e in entries(f"golang:1.22@{D1}", f"golang:1.22@{D3}")}
    assert whole == {f"{golang}:1.22@{D1}": f"{golang}:1.22@{D1}", f"{golang}:1.22@{D3}": f"{golang}:1.22@{D3}"}


def test_names_are_unique_stable_and_their_categories_valid() -> None:
    texts = [
        f"golang:1.22@{D1}",
        f"golang:1.22@{D2}",
        f"golang:1.22@{D3}",
        "golang:1.22",
        "golang",
        f"golang@{D4}",
        "golang:1.22@sha256:not-a-digest",
        "golang:1.22@md5:abc",
        f"ghcr.io/a/golang:1@{D1}",
        "alpine",
    ]
    first = entries(*texts)
    names = [e["name"] for e in first]
    assert len(set(names)) == len(names)
    categories = [e["sarif_category"] for e in first]
    assert all(check_sarif_category(str(c), "test") == c for c in categories)
    # The order the Dockerfiles name them in does not matter.
    assert [(e["image"], e["name"]) for e in entries(*reversed(texts))] == [(e["image"], e["name"]) for e in first]
    images = unique_images([found(text, "Dockerfile", 1) for text in texts])
    assert matrix_names(images) == names


REPOSITORIES = st.sampled_from(["golang", "ghcr.io/a/golang", "alpine"])
TAGS = st.sampled_from(["", ":1.22", ":1.23", ":latest"])
DIGESTS = st.sampled_from(["", f"@{D1}", f"@{D2}", f"@{D3}", f"@{D4}", "@sha256:bad", "@md5:x"])


@given(st.lists(st.tuples(REPOSITORIES, TAGS, DIGESTS), max_size=12))
def test_any_images_get_unique_names_and_valid_categories_kept_apart(parts: list[tuple[str, str, str]]) -> None:
    include = entries(*("".join(p) for p in parts))
    names = [e["name"] for e in include]
    assert len(set(names)) == len(names)
    for entry in include:
        assert str(entry["image"]).startswith(str(entry["name"]).split("@")[0].rsplit(":", 1)[0])
        assert check_sarif_category(str(entry["sarif_category"]), "test") == entry["sarif_category"]
    # Entries of one repository never share a category prefix, so their SARIF ids differ.
    repositories = [str(e["image"]).split("@")[0].rsplit(":", 1)[0] for e in include]
    keys = list(zip(repositories, (e["sarif_category"] for e in include), strict=True))
    assert len(set(keys)) == len(keys)
