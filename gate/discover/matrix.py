"""Unique production images and the job matrix built from them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gate.discover.images import Found, Location

# GitHub refuses a matrix with more than 256 jobs.
MATRIX_CAP = 256


@dataclass(frozen=True)
class Image:
    """One unique image: its normalised reference, repository name and where it is used."""

    image: str
    name: str
    pinned: bool
    locations: tuple[Location, ...]

    def locations_json(self) -> list[dict[str, Any]]:
        return [location.to_json() for location in self.locations]

    def to_json(self) -> dict[str, Any]:
        return {"image": self.image, "pinned": self.pinned, "locations": self.locations_json()}

    def matrix_entry(self) -> dict[str, Any]:
        return {"image": self.image, "name": self.name, "locations": self.locations_json()}


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
        images.append(Image(str(first), first.name, first.pinned, locations))
    return sorted(images, key=lambda image: (image.image, image.name))


def matrix(images: Iterable[Image]) -> dict[str, Any]:
    return {"include": [image.matrix_entry() for image in images]}


def compact_json(value: Any) -> str:
    """One line of JSON, ready for ``fromJSON`` in a workflow."""
    return json.dumps(value, separators=(",", ":"))
