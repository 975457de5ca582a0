from __future__ import annotations

import json

from gate.discover.images import Found, Location
from gate.discover.matrix import compact_json, matrix, unique_images
from gate.oci.reference import parse_reference

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


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
                "locations": [{"path": "Dockerfile", "line": 1, "instruction": "FROM"}],
            }
        ]
    }
    assert compact_json(matrix([])) == '{"include":[]}'
