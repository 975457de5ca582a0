"""Names of content, in one place: image references, digests, tags and descriptors.

Image references are parsed and normalised as distribution/reference does: ``alpine`` ->
``docker.io/library/alpine:latest``; ``index.docker.io`` -> ``docker.io``; the first path
component is a registry when it has a ``.`` or ``:``, is ``localhost``, or has an upper-case
letter. ``name:tag@digest`` keeps both tag and digest. ``oci:PATH[:tag][@digest]`` names an
OCI image layout directory instead.

A digest is valid only as ``sha256:`` + 64 lowercase hex or ``sha512:`` + 128;
``parse_reference(..., strict_digest=False)`` keeps any other digest text so the caller can
report it as an invalid digest instead of a bad reference. A tag is the distribution spec's
``[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}``, ASCII only. A descriptor read from JSON is checked
strictly (``parse_descriptor``); a caller that must skip a bad entry of a list it does not
control, instead of failing, says so (``parse_descriptor_or_skip``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gate.errors import InputError
from gate.oci.target import Descriptor, Platform

if TYPE_CHECKING:
    from hashlib import _Hash

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
LEGACY_DOCKER_HUB = "index.docker.io"
LAYOUT_PREFIX = "oci:"
MAX_NAME_LENGTH = 255
DIGEST_ALGORITHMS = {"sha256": 64, "sha512": 128}  # algorithm -> length of its lowercase hex

# All patterns are ASCII-only and used with fullmatch (``$`` would accept a trailing newline).
DIGEST_PATTERN = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
TAG_PATTERN = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?")
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*")
_SPACE = re.compile(r"\s")  # what str.isspace() calls white space, found without a loop in Python
_HEX64 = re.compile(r"[a-f0-9]{64}")
_DIGEST_EXPECTED = "expected sha256: and 64 lowercase hex digits (or sha512: and 128)"


# --- digests and tags ---------------------------------------------------------------------------


def is_valid_digest(digest: str) -> bool:
    """True for ``sha256:`` + 64 lowercase hex or ``sha512:`` + 128 lowercase hex."""
    return bool(DIGEST_PATTERN.fullmatch(digest))


def split_digest(digest: str) -> tuple[str, str]:
    """``sha256:hex`` -> (``sha256``, ``hex``); ``InputError`` for anything but a valid digest."""
    if not is_valid_digest(digest):
        raise InputError(f"invalid digest {digest[:200]!r}: {_DIGEST_EXPECTED}")
    algorithm, _, hexpart = digest.partition(":")
    return algorithm, hexpart


def digest_hasher(digest: str) -> _Hash:
    """A fresh hash object of ``digest``'s algorithm, to verify content against it as it streams."""
    return hashlib.new(split_digest(digest)[0])


def compute_digest(data: bytes, algorithm: str = "sha256") -> str:
    """``algorithm:hex`` of ``data``."""
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def is_valid_tag(tag: str) -> bool:
    """True for a tag of the distribution spec: ``[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}``, ASCII only."""
    return bool(TAG_PATTERN.fullmatch(tag))


def fallback_tag(digest: str) -> str:
    """The referrers tag schema: ``sha256:abc...`` -> ``sha256-abc...`` (algorithm <= 32, hex <= 64 chars)."""
    algorithm, _, hexpart = digest.partition(":")
    return f"{algorithm[:32]}-{hexpart[:64]}"


# --- registry references ------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageReference:
    """A normalised registry reference."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``registry/repository``, the identity of a repository."""
        return f"{self.registry}/{self.repository}"

    @property
    def pinned(self) -> bool:
        return self.digest is not None and is_valid_digest(self.digest)

    @property
    def api_host(self) -> str:
        """The host that serves the registry API (Docker Hub is served elsewhere)."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> ImageReference:
        return replace(self, digest=digest)

    def with_tag(self, tag: str | None) -> ImageReference:
        return replace(self, tag=tag)

    def __str__(self) -> str:
        return _spelled(self.name, self.tag, self.digest)


def parse_reference(text: str, *, strict_digest: bool = True, default_tag: str | None = "latest") -> ImageReference:
    """Parse and normalise ``[registry[:port]/]repository[:tag][@digest]``.

    Raises ``InputError`` naming the reference and what is wrong with it. Without a
    tag and a digest the tag is ``default_tag``. With ``strict_digest=False`` a
    digest that is not a valid pin is kept as written (``pinned`` is then False).
    """
    original = text
    text = text.strip()
    if not text:
        raise InputError("empty image reference")
    if _SPACE.search(text):
        raise InputError(f"invalid image reference {original!r}: it contains white space")
    # As ParseNormalizedNamed: only a reference that is 64 hex digits as a whole is refused.
    if _HEX64.fullmatch(text):
        raise InputError(f"invalid image reference {original!r}: a 64-hex name looks like an image id")

    digest: str | None = None
    if "@" in text:
        text, _, digest = text.partition("@")
        if "@" in digest:
            raise InputError(f"invalid image reference {original!r}: more than one '@'")
        if not digest:
            raise InputError(f"invalid image reference {original!r}: empty digest after '@'")
        if strict_digest and not is_valid_digest(digest):
            raise InputError(f"invalid digest {digest!r} in {original!r}: {_DIGEST_EXPECTED}")

    name, tag = _split_tag(text)
    if tag is not None and not is_valid_tag(tag):
        raise InputError(f"invalid tag {tag!r} in image reference {original!r}")

    registry, remainder = _split_registry(name)
    if not _DOMAIN.fullmatch(registry):
        raise InputError(f"invalid registry {registry!r} in image reference {original!r}")
    if registry == LEGACY_DOCKER_HUB:
        registry = DOCKER_HUB
    if not remainder:
        raise InputError(f"invalid image reference {original!r}: no repository name")
    if registry == DOCKER_HUB and "/" not in remainder:
        remainder = f"library/{remainder}"
    if remainder != remainder.lower():
        raise InputError(f"invalid image reference {original!r}: repository name must be lowercase")
    for component in remainder.split("/"):
        if not _PATH_COMPONENT.fullmatch(component):
            raise InputError(f"invalid image reference {original!r}: bad repository path component {component!r}")
    if len(f"{registry}/{remainder}") > MAX_NAME_LENGTH:
        raise InputError(f"invalid image reference {original!r}: name longer than {MAX_NAME_LENGTH} characters")

    if tag is None and digest is None:
        tag = default_tag
    return ImageReference(registry=registry, repository=remainder, tag=tag, digest=digest)


def _spelled(name: str, tag: str | None, digest: str | None) -> str:
    """``name[:tag][@digest]``."""
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def _split_tag(name: str) -> tuple[str, str | None]:
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, None


def _split_registry(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if not sep:
        return DOCKER_HUB, name
    if "." in first or ":" in first or first == "localhost" or first != first.lower() or first.startswith("["):
        return first, rest
    return DOCKER_HUB, name


def is_registry_host(text: str) -> bool:
    """Whether ``text`` is a registry ``host[:port]`` as a reference would name it: a domain or IP
    with a ``.`` or a port, or ``localhost`` (a single word is a Docker Hub path, not a host)."""
    host = text.lower()
    return bool(_DOMAIN.fullmatch(host)) and ("." in host or ":" in host or host == "localhost")


# --- image layout references --------------------------------------------------------------------


@dataclass(frozen=True)
class LayoutReference:
    """``oci:PATH[:tag][@digest]``: an OCI image layout directory and what to read or write in it."""

    path: Path
    tag: str | None = None
    digest: str | None = None

    @property
    def reference(self) -> str:
        """The digest when there is one, else the tag (``latest`` by default)."""
        return self.digest or self.tag or "latest"

    @property
    def name(self) -> str:
        return f"{LAYOUT_PREFIX}{self.path}"

    def __str__(self) -> str:
        return _spelled(self.name, self.tag, self.digest)


TargetReference = ImageReference | LayoutReference


def parse_target_reference(text: str, *, default_tag: str | None = "latest") -> TargetReference:
    """A registry reference (``parse_reference``) or ``oci:PATH[:tag][@digest]``.

    In a layout reference the text after the last ``:`` of the last path component is the
    tag when it is a valid tag; without tag and digest the tag is ``default_tag``.
    """
    stripped = text.strip()
    if not stripped.startswith(LAYOUT_PREFIX):
        return parse_reference(stripped, default_tag=default_tag)
    rest = stripped[len(LAYOUT_PREFIX) :]
    digest: str | None = None
    if "@" in rest:
        rest, _, digest = rest.rpartition("@")
        if not is_valid_digest(digest):
            raise InputError(f"invalid digest {digest!r} in {text!r}: {_DIGEST_EXPECTED}")
    tag: str | None = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        candidate = rest[colon + 1 :]
        if not is_valid_tag(candidate):
            raise InputError(f"invalid tag {candidate!r} in image layout reference {text!r}")
        rest, tag = rest[:colon], candidate
    if not rest:
        raise InputError(f"invalid image layout reference {text!r}: expected oci:PATH[:tag]")
    if tag is None and digest is None:
        tag = default_tag
    return LayoutReference(Path(rest), tag, digest)


# --- descriptors --------------------------------------------------------------------------------


def parse_descriptor(value: Any, where: str = "descriptor") -> Descriptor:
    """A descriptor from its JSON object, checked: a media type, a valid digest, a non-negative
    integer size, string annotations and artifact type, a platform with os and architecture.
    Anything else is an ``InputError`` naming ``where``."""
    if not isinstance(value, dict):
        raise InputError(f"{where}: a descriptor must be a JSON object")
    media_type = value.get("mediaType")
    digest = value.get("digest")
    size = value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise InputError(f"{where}: mediaType missing")
    if not isinstance(digest, str):
        raise InputError(f"{where}: digest missing")
    try:
        split_digest(digest)
    except InputError as exc:
        raise InputError(f"{where}: {exc.message}") from None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InputError(f"{where}: size must be a non-negative integer")
    raw_platform = value.get("platform")
    return Descriptor(
        media_type=media_type,
        digest=digest,
        size=size,
        annotations=parse_annotations(value.get("annotations"), where),
        artifact_type=optional_string(value, "artifactType", where),
        platform=None if raw_platform is None else parse_platform_object(raw_platform, where),
    )


def parse_descriptor_or_skip(value: Any, where: str, log: Callable[[str], None]) -> Descriptor | None:
    """``parse_descriptor`` for an entry of a list we do not control (a registry's referrers):
    a bad entry is logged as a warning and skipped (None) instead of failing the whole list."""
    try:
        return parse_descriptor(value, where)
    except InputError as exc:
        log(f"warning: {exc.message[:300]}; skipped")
        return None


def parse_platform_object(value: Any, where: str) -> Platform:
    """A platform JSON object (in a descriptor, or an image config's os/architecture/variant)."""
    if not isinstance(value, dict):
        raise InputError(f"{where}: platform must be an object")
    os_name = value.get("os")
    architecture = value.get("architecture")
    if not isinstance(os_name, str) or not isinstance(architecture, str):
        raise InputError(f"{where}: platform needs os and architecture")
    variant = value.get("variant")
    os_version = value.get("os.version")
    return Platform(
        os_name,
        architecture,
        variant if isinstance(variant, str) and variant else None,
        os_version if isinstance(os_version, str) and os_version else None,
    )


def parse_annotations(value: Any, where: str) -> dict[str, str]:
    """An ``annotations`` object: strings to strings (absent: empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InputError(f"{where}: annotations must map strings to strings")
    return dict(value)


def optional_string(document: Mapping[str, Any], key: str, where: str) -> str | None:
    """``document[key]``: a string, or None when absent; anything else is an ``InputError``."""
    value = document.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{where}: {key} must be a string")
    return value


def descriptor_to_json(descriptor: Descriptor) -> dict[str, Any]:
    """The JSON object of a descriptor, in the field order the specs show."""
    result: dict[str, Any] = {"mediaType": descriptor.media_type, "digest": descriptor.digest, "size": descriptor.size}
    if descriptor.artifact_type:
        result["artifactType"] = descriptor.artifact_type
    if descriptor.platform is not None:
        platform: dict[str, str] = {"architecture": descriptor.platform.architecture, "os": descriptor.platform.os}
        if descriptor.platform.os_version:
            platform["os.version"] = descriptor.platform.os_version
        if descriptor.platform.variant:
            platform["variant"] = descriptor.platform.variant
        result["platform"] = platform
    if descriptor.annotations:
        result["annotations"] = dict(descriptor.annotations)
    return result
