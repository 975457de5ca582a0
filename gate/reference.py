"""Image references, parsed and normalised as distribution/reference does.

``alpine`` -> ``docker.io/library/alpine:latest``; ``index.docker.io`` -> ``docker.io``;
the first path component is a registry when it has a ``.`` or ``:``, is ``localhost``,
or has an upper-case letter. ``name:tag@digest`` keeps both tag and digest.

A digest counts as a pin only as ``sha256:`` + 64 lowercase hex or ``sha512:`` + 128;
``parse_reference(..., strict_digest=False)`` keeps any other digest text so the
caller can report it as an invalid digest instead of a bad reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from gate.errors import InputError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
LEGACY_DOCKER_HUB = "index.docker.io"

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
# All patterns are ASCII-only and used with fullmatch (``$`` would accept a trailing newline).
_DOMAIN = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?")
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_VALID_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
_HEX64 = re.compile(r"[a-f0-9]{64}")
MAX_NAME_LENGTH = 255


def is_valid_digest(digest: str) -> bool:
    """True for ``sha256:`` + 64 lowercase hex or ``sha512:`` + 128 lowercase hex."""
    return bool(_VALID_DIGEST.fullmatch(digest))


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
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


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
    if any(ch.isspace() for ch in text):
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
            raise InputError(
                f"invalid digest {digest!r} in {original!r}: expected sha256: and 64 lowercase hex digits (or sha512: and 128)"
            )

    name, tag = _split_tag(text)
    if tag is not None and not _TAG.fullmatch(tag):
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
