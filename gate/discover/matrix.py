"""Unique production images and the job matrix built from them (each entry with a unique name and the
SARIF category prefix that keeps its code-scanning alerts apart)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gate.discover.images import Found, Location
from gate.oci.reference import is_valid_digest
from gate.policy.sarif_category import DEFAULT_SARIF_CATEGORY, category_segment

# GitHub refuses a matrix with more than 256 jobs.
MATRIX_CAP = 256


@dataclass(frozen=True)
class Image:
    """One unique image: its normalised reference, repository name and where it is used."""

    image: str
    name: str
    pinned: bool
    locations: tuple[Location, ...]
    tag: str | None = None
    digest: str | None = None

    def locations_json(self) -> list[dict[str, Any]]:
        return [location.to_json() for location in self.locations]

    def to_json(self) -> dict[str, Any]:
        return {"image": self.image, "pinned": self.pinned, "locations": self.locations_json()}

    def matrix_entry(self, name: str) -> dict[str, Any]:
        """The entry named ``name`` (``matrix_names``), with the SARIF category prefix that goes with it."""
        return {
            "image": self.image,
            "name": name,
            "sarif_category": _sarif_category(self.name, name),
            "locations": self.locations_json(),
        }


def _location_key(location: Location) -> tuple[str, int, str]:
    return (location.path, location.line, location.instruction)


def unique_images(found: Iterable[Found]) -> list[Image]:
    """Usable references deduplicated: by repository + digest when pinned (tags ignored),
    else by the normalised reference; sorted by reference, locations by path and line."""
    groups: dict[tuple[str, str], list[Found]] = {}
    for item in found:
        ref = item.reference
        if ref is None:
            continue
        key = (ref.name, "@" + (ref.digest or "")) if ref.pinned else (str(ref), "")
        groups.setdefault(key, []).append(item)
    images = []
    for items in groups.values():
        items.sort(key=lambda item: _location_key(item.location))
        first = items[0].reference
        assert first is not None
        locations = tuple(sorted({item.location for item in items}, key=_location_key))
        images.append(Image(str(first), first.name, first.pinned, locations, first.tag, first.digest))
    return sorted(images, key=lambda image: (image.image, image.name))


def matrix(images: Iterable[Image]) -> dict[str, Any]:
    """``{"include": [...]}``: per image its reference, its name (``matrix_names``), its SARIF category
    prefix (``image-gate``, or ``image-gate/<what the name adds to the repository>``) and locations."""
    listed = list(images)
    return {"include": [image.matrix_entry(name) for image, name in zip(listed, matrix_names(listed), strict=True)]}


def matrix_names(images: Sequence[Image]) -> list[str]:
    """A name per image, unique among them and the same for the same images, as short as that allows:

    1. the repository (``docker.io/library/golang``) when no other image is of that repository;
    2. else with the tag (``docker.io/library/golang:1.22``; an image pinned without a tag: with the
       first 12 hex digits of its digest, ``docker.io/library/golang@sha256:0123456789ab``);
    3. else with the tag and those 12 digits (``…golang:1.22@sha256:0123456789ab``);
    4. else the whole reference.

    A name changes only when another image of the same repository comes or goes.
    """
    refine: tuple[Callable[[Image], str], ...] = (_with_tag, _with_short_digest, lambda image: image.image)
    names = [image.name for image in images]
    for longer in refine:
        shared = Counter(names)
        names = [longer(image) if shared[name] > 1 else name for image, name in zip(images, names, strict=True)]
    return names


def _with_tag(image: Image) -> str:
    return f"{image.name}:{image.tag}" if image.tag else _with_short_digest(image)


def _with_short_digest(image: Image) -> str:
    tagged = f"{image.name}:{image.tag}" if image.tag else image.name
    if not image.digest:
        return tagged
    digest = image.digest
    if is_valid_digest(digest):
        algorithm, _, hex_digits = digest.partition(":")
        digest = f"{algorithm}:{hex_digits[:12]}"
    return f"{tagged}@{digest}"


def _sarif_category(repository: str, name: str) -> str:
    """The default prefix, plus what the name adds to the repository as one more segment (if anything)."""
    extra = name[len(repository) :].lstrip(":@") if name.startswith(repository) else name
    return f"{DEFAULT_SARIF_CATEGORY}/{category_segment(extra)}" if extra else DEFAULT_SARIF_CATEGORY


def compact_json(value: Any) -> str:
    """One line of JSON, ready for ``fromJSON`` in a workflow."""
    return json.dumps(value, separators=(",", ":"))
