"""Find each platform's SBOM attestations, given content already addressable by descriptor.

Pure selection logic: all I/O goes through a ``SbomFetcher`` (``TargetFetcher`` adapts a
``gate.oci.target.Target``), so the scan command and the tests feed it the same way.

For every platform manifest of the image (index children with a real platform; a lone
manifest is one platform) the candidates are, in this order:
(a) its referrers, newest first (``org.opencontainers.image.created``), and its cosign
    ``sha256-<hex>.att`` tag (cosign's legacy attestations),
(b) BuildKit in-index attestation manifests (``vnd.docker.reference.type:
    attestation-manifest`` with ``vnd.docker.reference.digest: <platform digest>``),
(c) only for a platform none of (a) and (b) counts for: the SBOMs attested on the index itself
    (its referrers and ``.att`` tag), marked ``subject: index``.
A layer's predicate type is read from its ``in-toto.io/predicate-type`` annotation (cosign's
``predicateType`` on ``.att`` layers), else from the manifest's annotations or artifact type, else
from the unwrapped statement; the statement has the last word.

Every SBOM that counts is kept ("newest wins" would let anyone who can push a newer, emptier SBOM
decide), of the predicate types the selector prefers (``auto``: CycloneDX, else SPDX). Without a
policy an SBOM counts when its subject, if it names one, is the platform or the index. In verified
mode (``VerificationPolicy.enabled``) it counts only when its signature verifies and its signed
subject names the digest it is used for (``gate.attest.signed``); an in-index attestation only when
the index carries a signature that verifies. What does not count is kept as ``LeftOut``, with why.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from gate.attest.signed import counts_for, in_index_verification, index_signature, verify_layer
from gate.attest.unwrap import MAX_ATTESTATION_BYTES, Attestation, unwrap
from gate.attest.verify.policy import Reason, Verification, VerificationPolicy
from gate.errors import InputError
from gate.oci.http import NotFound
from gate.oci.manifest import MAX_CONFIG_BYTES, platform_from_config
from gate.oci.reference import fallback_tag, parse_descriptor
from gate.oci.target import (
    INDEX_TYPES,
    MAX_MANIFEST_BYTES,
    Descriptor,
    Platform,
    Target,
)
from gate.sbom.predicates import CYCLONEDX_PREDICATE, SPDX_PREDICATE, PredicateSelector, family_of

PREDICATE_ANNOTATION = "in-toto.io/predicate-type"
SIGSTORE_PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType"
COSIGN_PREDICATE_ANNOTATION = "predicateType"  # on the layers of cosign's legacy .att manifests
REFERENCE_TYPE = "vnd.docker.reference.type"
REFERENCE_DIGEST = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"
CREATED = "org.opencontainers.image.created"
# A registry lists what it likes: bound the work per platform (real images have a handful of
# attestations) and the platforms of one index. Reaching a cap fails closed: no SBOM found.
MAX_PLATFORMS = 128
MAX_ATTESTATION_MANIFESTS = 64
MAX_ATTESTATION_BLOBS = 64

_MEDIA_TYPE_PREDICATES = {
    "application/vnd.cyclonedx+json": CYCLONEDX_PREDICATE,
    "application/spdx+json": SPDX_PREDICATE,
    "text/spdx+json": SPDX_PREDICATE,
}
_NOT_ATTESTATIONS = frozenset(
    {
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        "application/vnd.dev.cosign.simplesigning.v1+json",
        "application/vnd.cncf.notary.signature",
    }
)

SbomSource = Literal["referrer", "cosign-tag", "in-index", "layers"]
"""Where an SBOM was found; ``layers``: none was, Trivy inventoried the layers (``gate.scan.layers``)."""
SbomSubject = Literal["platform", "index"]


class SbomFetcher(Protocol):
    """The content access the lookup needs; every method may raise a ``GateError``."""

    def manifest(self, descriptor: Descriptor) -> bytes:
        """A manifest's exact bytes, digest-verified and size-capped."""
        ...

    def blob(self, descriptor: Descriptor, limit: int) -> bytes:
        """A whole blob, digest-verified; larger than ``limit`` bytes is an ``InputError``."""
        ...

    def referrers(self, descriptor: Descriptor) -> Sequence[Descriptor]:
        """The manifests whose subject is ``descriptor``."""
        ...

    def tagged(self, tag: str) -> tuple[Descriptor, bytes] | None:
        """The manifest a tag names (descriptor and exact bytes), or None when there is no such tag."""
        ...


@dataclass(frozen=True)
class FoundSbom:
    """An SBOM attestation that counts for a platform: what it says and where it was found.

    ``subject`` says what it is attached to and about: the platform manifest, or the index (an SBOM
    attested on the index, used for a platform nothing else names). ``verified``/``signer``: verified mode.
    """

    attestation: Attestation
    source: SbomSource
    attestation_digest: str
    """The referrer, cosign ``.att`` or in-index attestation manifest that carried it."""
    layer_digest: str
    subject: SbomSubject = "platform"
    verified: bool = False
    signer: str = ""


@dataclass(frozen=True)
class LeftOut:
    """An SBOM attestation found and left out of the verdict in verified mode, and why."""

    digest: str
    """The attestation manifest (referrer, cosign ``.att`` or in-index attestation manifest)."""
    layer: str
    subject: str
    """The digest it was looked up for: a platform manifest, or the index."""
    platform: str | None
    """The platform it was looked up for; None for one attested on the index."""
    predicate_type: str
    source: SbomSource
    reason: Reason
    detail: str
    signer: str = ""

    @classmethod
    def refused(
        cls,
        digest: str,
        layer: str,
        subject: str,
        platform: str | None,
        predicate_type: str,
        source: SbomSource,
        verification: Verification,
    ) -> LeftOut:
        """Left out because ``verification`` refused it (a refusal without a reason is ``malformed``)."""
        reason = verification.reason or Reason.MALFORMED
        return cls(
            digest, layer, subject, platform, predicate_type, source, reason, verification.detail, verification.signer
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "layer": self.layer,
            "subject": self.subject,
            "platform": self.platform,
            "predicate_type": self.predicate_type,
            "source": self.source,
            "reason": str(self.reason),
            "detail": self.detail,
            "signer": self.signer or None,
        }


@dataclass(frozen=True)
class PlatformSbom:
    """One platform of the image and the SBOM attestations that count for it (or why none does)."""

    platform: str
    digest: str
    sboms: tuple[FoundSbom, ...] = ()
    """Every SBOM that counts, in search order; the scan merges their findings."""
    reason_missing: str | None = None
    seen_predicate_types: tuple[str, ...] = ()
    """Predicate types of the attestations looked at, for the reason and the summary."""
    left_out: tuple[LeftOut, ...] = ()
    """Verified mode: this platform's own SBOM attestations that did not verify or name it."""
    none_verified: bool = False
    """Verified mode, no SBOM counts: SBOM attestations were found for it (or for the index), none verified."""

    @property
    def sbom(self) -> Attestation | None:
        """The first SBOM that counts (None when none does)."""
        return self.sboms[0].attestation if self.sboms else None

    @property
    def source(self) -> SbomSource | None:
        return self.sboms[0].source if self.sboms else None

    @property
    def attestation_digest(self) -> str | None:
        return self.sboms[0].attestation_digest if self.sboms else None

    @property
    def layer_digest(self) -> str | None:
        return self.sboms[0].layer_digest if self.sboms else None

    @property
    def subject(self) -> SbomSubject | None:
        """``platform``, or ``index`` when the SBOMs used are attested on the index."""
        return self.sboms[0].subject if self.sboms else None

    @property
    def verified(self) -> bool:
        """Every SBOM used verified under the policy (False without SBOM or without a policy)."""
        return bool(self.sboms) and all(found.verified for found in self.sboms)

    @property
    def signers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(found.signer for found in self.sboms if found.signer))


@dataclass(frozen=True)
class SbomLookup:
    """What the lookup found: one entry per platform, and what was left out of the index's own SBOMs."""

    platforms: tuple[PlatformSbom, ...]
    index_left_out: tuple[LeftOut, ...] = ()
    index_signature: Verification | None = None
    """Verified mode, when in-index attestations were looked at: the index's own signature."""

    @property
    def left_out(self) -> tuple[LeftOut, ...]:
        """Every SBOM attestation left out, the platforms' then the index's."""
        return (*(item for p in self.platforms for item in p.left_out), *self.index_left_out)


def find_platform_sboms(
    root: Descriptor,
    root_data: bytes,
    fetcher: SbomFetcher,
    selector: PredicateSelector,
    policy: VerificationPolicy | None = None,
) -> SbomLookup:
    """For the image whose root manifest is ``root`` (with bytes ``root_data``), one entry per platform.

    ``policy``: verified mode when it is enabled (an SBOM counts only when it verifies and names the
    digest it is used for); without one every SBOM found counts.
    """
    judge = _Judge(policy or VerificationPolicy(), selector, root, fetcher)
    document = _json_object(root_data, f"manifest {root.digest}", MAX_MANIFEST_BYTES)
    media_type = document.get("mediaType")
    media_type = media_type if isinstance(media_type, str) and media_type else root.media_type
    if not (media_type in INDEX_TYPES or ("manifests" in document and "layers" not in document)):
        name = _config_platform(root, fetcher, document)
        entry = _search(root, name, "platform", judge, ())
        return SbomLookup((_platform_result(root, name, entry, None, judge),))
    platforms, attestations = split_index(document, root.digest)
    if not platforms:
        raise InputError(f"index {root.digest}: no platform manifests (only attestations or unknown/unknown)")
    if len(platforms) > MAX_PLATFORMS:
        raise InputError(
            f"index {root.digest}: {len(platforms)} platform manifests, more than the {MAX_PLATFORMS} image-gate reads"
        )
    index_level: _Search | None = None
    results = []
    for child in platforms:
        if child.media_type in INDEX_TYPES:
            results.append(PlatformSbom(_platform_text(child.platform), child.digest, reason_missing="nested index"))
            continue
        name = _platform_text(child.platform) if child.platform else _config_platform(child, fetcher)
        entry = _search(child, name, "platform", judge, attestations)
        if not entry.chosen and index_level is None:
            index_level = _search(root, None, "index", judge, ())
        results.append(_platform_result(child, name, entry, index_level, judge))
    return SbomLookup(tuple(results), tuple(index_level.left_out) if index_level else (), judge.index_verification)


def _platform_result(
    platform: Descriptor, name: str, entry: _Search, index_level: _Search | None, judge: _Judge
) -> PlatformSbom:
    seen = tuple(entry.seen)
    if entry.chosen:
        return PlatformSbom(name, platform.digest, entry.chosen, None, seen, tuple(entry.left_out))
    if index_level is not None and index_level.chosen:
        return PlatformSbom(name, platform.digest, index_level.chosen, None, seen, tuple(entry.left_out))
    reason = _missing_reason(entry, index_level, judge.selector, judge.policy)
    none_verified = bool(entry.left_out or (index_level and index_level.left_out))
    return PlatformSbom(name, platform.digest, (), reason, seen, tuple(entry.left_out), none_verified)


def split_index(index: Mapping[str, Any], source: str) -> tuple[list[Descriptor], list[Descriptor]]:
    """An index's children -> (platform manifests, BuildKit attestation manifests)."""
    children = index.get("manifests")
    if not isinstance(children, list):
        raise InputError(f"index {source}: manifests must be a list")
    platforms: list[Descriptor] = []
    attestations: list[Descriptor] = []
    for i, item in enumerate(children):
        child = parse_descriptor(item, f"index {source} manifests[{i}]")
        if child.annotations.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST:
            attestations.append(child)
        elif child.platform is not None and (child.platform.os, child.platform.architecture) == ("unknown", "unknown"):
            continue
        else:
            platforms.append(child)
    return platforms, attestations


class _Judge:
    """Whether a found attestation counts: always in unverified mode (subject permitting), only when it
    verifies and names the digest it is used for in verified mode (``gate.attest.signed``)."""

    def __init__(self, policy: VerificationPolicy, selector: PredicateSelector, root: Descriptor, fetcher: SbomFetcher):
        self.policy = policy
        self.selector = selector
        self.root = root
        self.fetcher = fetcher
        self.index_verification: Verification | None = None

    def index_signature(self) -> Verification:
        if self.index_verification is None:
            self.index_verification = index_signature(self.root, self.fetcher, self.policy)
        return self.index_verification

    def verify(
        self, layer: Descriptor, blob: bytes, attestation: Attestation, source: SbomSource, used_for: str
    ) -> tuple[Verification, Attestation | None]:
        if source == "in-index":
            return in_index_verification(self.index_signature(), attestation, used_for)
        result = verify_layer(layer, blob, attestation.envelope, self.policy, legacy_tag=source == "cosign-tag")
        return counts_for(result, used_for, self.selector.matches, attestation.source)


@dataclass
class _Search:
    """What one platform's (or the index's) search found."""

    chosen: tuple[FoundSbom, ...] = ()
    left_out: list[LeftOut] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    candidates: int = 0
    reads: _Reads = field(default_factory=lambda: _Reads())


Candidate = tuple[SbomSource, Descriptor, "bytes | None"]


def _search(
    subject: Descriptor,
    platform: str | None,
    level: SbomSubject,
    judge: _Judge,
    in_index: Sequence[Descriptor],
) -> _Search:
    """Every SBOM attestation of ``subject`` (a platform manifest, or the index for ``level`` index): its
    referrers (newest first), its cosign ``.att`` tag, then the in-index attestations naming it."""
    found = _Search()
    fetcher, selector = judge.fetcher, judge.selector
    referrers = sorted(fetcher.referrers(subject), key=lambda d: d.annotations.get(CREATED, ""), reverse=True)
    candidates: list[Candidate] = [("referrer", d, None) for d in referrers]
    tagged = fetcher.tagged(f"{fallback_tag(subject.digest)}.att")
    if tagged is not None:
        candidates.append(("cosign-tag", tagged[0], tagged[1]))
    candidates += [
        ("in-index", d, None)
        for d in in_index
        if d.annotations.get(REFERENCE_DIGEST, "").lower() == subject.digest.lower()
    ]
    found.candidates = len(candidates)
    allowed = {subject.digest.lower()} | ({judge.root.digest.lower()} if level == "platform" else set())
    counted: list[FoundSbom] = []
    for source, manifest, data in candidates:
        if found.reads.exhausted:
            break
        for layer, blob, attestation in _attestations(manifest, data, subject, fetcher, selector, found):
            if not judge.policy.enabled:
                if attestation.subjects and not (attestation.subject_digests & allowed):
                    found.notes.append(f"{layer.digest}: its subject does not name {subject.digest}")
                    continue
                counted.append(FoundSbom(attestation, source, manifest.digest, layer.digest, level))
                continue
            verification, signed = judge.verify(layer, blob, attestation, source, subject.digest)
            if signed is not None:  # what the signature covers, in the envelope it was found in
                signed = replace(signed, envelope=attestation.envelope)
                counted.append(
                    FoundSbom(signed, source, manifest.digest, layer.digest, level, True, verification.signer)
                )
                continue
            found.left_out.append(
                LeftOut.refused(
                    manifest.digest, layer.digest, subject.digest, platform, attestation.predicate_type, source,
                    verification,
                )
            )  # fmt: skip
    keep = selector.preferred(item.attestation.predicate_type for item in counted)
    found.chosen = tuple(item for item in counted if item.attestation.predicate_type in keep)
    return found


def _missing_reason(
    entry: _Search, index_level: _Search | None, selector: PredicateSelector, policy: VerificationPolicy
) -> str:
    """Why a platform has no SBOM: what was found, and the ``sbom_predicate_type`` that would select it."""
    left_out = [*entry.left_out, *(index_level.left_out if index_level else ())]
    if left_out:
        reasons = ", ".join(sorted({str(item.reason) for item in left_out}))
        reason = (
            f"no verified SBOM: {len(left_out)} SBOM attestation(s) found, none verified under the policy for this "
            f"platform ({reasons}; see unverified_attestations)"
        )
    elif not entry.candidates and not (index_level and index_level.candidates):
        reason = "no referrers and no in-index attestation manifest"
        if index_level is not None:
            reason += ", and no SBOM attested on the index"
    elif entry.seen or (index_level and index_level.seen):
        seen = sorted({*entry.seen, *(index_level.seen if index_level else ())})
        reason = f"no attestation with predicate type {selector} (found: {_found_text(seen)})"
    else:
        count = entry.candidates + (index_level.candidates if index_level else 0)
        reason = f"no attestation with predicate type {selector} among {count} attached manifest(s)"
    for search in (entry, index_level):
        if search is not None and search.reads.exhausted:
            reason += (
                f"; stopped after {search.reads.manifests} attestation manifest(s) and {search.reads.blobs} layer(s) "
                f"(caps {MAX_ATTESTATION_MANIFESTS} and {MAX_ATTESTATION_BLOBS}) of {search.candidates} candidate(s)"
            )
    notes = [*entry.notes, *(index_level.notes if index_level else ())]
    if notes:
        reason += "; " + "; ".join(notes[:5])
    return reason


def _found_text(seen: Sequence[str]) -> str:
    """The predicate types found, each SBOM kind with the ``sbom_predicate_type`` value that selects it."""
    parts = []
    for kind in seen[:10]:
        family = family_of(kind)
        shown = kind[:200]
        parts.append(f"{shown}, which sbom_predicate_type {family} (or auto) selects" if family else shown)
    return "; ".join(parts)


class _Reads:
    """What one search has fetched, against the caps."""

    def __init__(self) -> None:
        self.manifests = 0
        self.blobs = 0
        self.exhausted = False

    def take_manifest(self) -> bool:
        if self.manifests >= MAX_ATTESTATION_MANIFESTS:
            self.exhausted = True
            return False
        self.manifests += 1
        return True

    def take_blob(self) -> bool:
        if self.blobs >= MAX_ATTESTATION_BLOBS:
            self.exhausted = True
            return False
        self.blobs += 1
        return True


def _attestations(
    manifest_descriptor: Descriptor,
    manifest_data: bytes | None,
    subject: Descriptor,
    fetcher: SbomFetcher,
    selector: PredicateSelector,
    found: _Search,
) -> Iterator[tuple[Descriptor, bytes, Attestation]]:
    """Every matching attestation in one referrer or attestation manifest (within the search's caps), with
    its layer's exact bytes."""
    seen, notes, reads = found.seen, found.notes, found.reads
    if (manifest_descriptor.artifact_type or "") in _NOT_ATTESTATIONS:
        return
    hint = annotated_type(manifest_descriptor.annotations)
    if hint is not None and not selector.matches(hint):
        seen.append(hint)
        return
    where = f"attestation manifest {manifest_descriptor.digest} (for {subject.digest})"
    if not reads.take_manifest():
        return
    data = manifest_data if manifest_data is not None else fetcher.manifest(manifest_descriptor)
    document = _json_object(data, where, MAX_MANIFEST_BYTES)
    annotations = _string_map(document.get("annotations"))
    artifact_type = _string(document.get("artifactType")) or _config_type(document) or manifest_descriptor.artifact_type
    if artifact_type in _NOT_ATTESTATIONS:
        return
    hint = annotated_type(annotations) or hint or _MEDIA_TYPE_PREDICATES.get(_bare(artifact_type))
    layers = document.get("layers")
    if not isinstance(layers, list):
        notes.append(f"{manifest_descriptor.digest}: not an image manifest (no layers)")
        return
    for i, item in enumerate(layers):
        layer = parse_descriptor(item, f"{where} layers[{i}]")
        declared = annotated_type(layer.annotations) or hint or _MEDIA_TYPE_PREDICATES.get(_bare(layer.media_type))
        if declared is not None and not selector.matches(declared):
            seen.append(declared)
            continue
        if declared is None and not _json_like(layer.media_type):
            continue
        source = f"{layer.digest} (in {manifest_descriptor.digest} for {subject.digest})"
        if layer.size > MAX_ATTESTATION_BYTES:
            raise InputError(f"attestation {source}: {layer.size} bytes exceeds the cap of {MAX_ATTESTATION_BYTES}")
        if not reads.take_blob():
            return
        blob = fetcher.blob(layer, MAX_ATTESTATION_BYTES)
        try:
            attestation = unwrap(blob, source, predicate_type=declared)
        except InputError as exc:
            if declared is not None:
                raise
            notes.append(f"{layer.digest}: unreadable ({exc.message.split(': ', 1)[-1][:120]})")
            continue
        seen.append(attestation.predicate_type)
        if selector.matches(attestation.predicate_type):
            yield layer, blob, attestation
        elif declared is not None:
            notes.append(f"{layer.digest}: annotated {declared} but its statement says {attestation.predicate_type}")


def _platform_text(platform: Platform | None) -> str:
    return str(platform) if platform else "unknown"


def _config_platform(descriptor: Descriptor, fetcher: SbomFetcher, document: Mapping[str, Any] | None = None) -> str:
    """A manifest without a platform in its descriptor: read os/architecture from its image config."""
    if descriptor.platform is not None:
        return str(descriptor.platform)
    if document is None:
        document = _json_object(fetcher.manifest(descriptor), f"manifest {descriptor.digest}", MAX_MANIFEST_BYTES)
    config = document.get("config")
    if not isinstance(config, dict):
        return "unknown"
    config_descriptor = parse_descriptor(config, f"manifest {descriptor.digest} config")
    if not config_descriptor.media_type.endswith(("image.config.v1+json", "container.image.v1+json")):
        return "unknown"
    if config_descriptor.size > MAX_CONFIG_BYTES:
        return "unknown"
    platform = platform_from_config(
        fetcher.blob(config_descriptor, MAX_CONFIG_BYTES), f"config {config_descriptor.digest}"
    )
    return str(platform) if platform else "unknown"


def annotated_type(annotations: Mapping[str, Any]) -> str | None:
    """The predicate type an in-toto, sigstore or cosign annotation declares (None when none does)."""
    for key in (PREDICATE_ANNOTATION, SIGSTORE_PREDICATE_ANNOTATION, COSIGN_PREDICATE_ANNOTATION):
        value = annotations.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _config_type(document: Mapping[str, Any]) -> str | None:
    config = document.get("config")
    media_type = config.get("mediaType") if isinstance(config, dict) else None
    return media_type if isinstance(media_type, str) and media_type in _MEDIA_TYPE_PREDICATES else None


def _bare(media_type: str | None) -> str:
    return (media_type or "").split(";", 1)[0].strip().lower()


def _json_like(media_type: str) -> bool:
    bare = _bare(media_type)
    return bare.endswith(("+json", "/json")) or "in-toto" in bare


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _json_object(data: bytes, where: str, cap: int) -> dict[str, Any]:
    if len(data) > cap:
        raise InputError(f"{where}: {len(data)} bytes exceeds the cap of {cap} bytes")
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise InputError(f"{where}: not valid JSON") from None
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a JSON object")
    return value


class TargetFetcher:
    """Feeds the lookup from a ``gate.oci.target.Target`` (registry or OCI layout).

    Referrer lists and tags are asked once: the SBOM lookup, the index signature and the VEX search look at
    the same subjects. One scan uses a fetcher from one thread.
    """

    def __init__(self, target: Target) -> None:
        self._target = target
        self._referrers: dict[str, tuple[Descriptor, ...]] = {}
        self._tagged: dict[str, tuple[Descriptor, bytes] | None] = {}

    def manifest(self, descriptor: Descriptor) -> bytes:
        return self._target.fetch_manifest(descriptor.digest).data

    def blob(self, descriptor: Descriptor, limit: int) -> bytes:
        if descriptor.size > limit:
            raise InputError(
                f"blob {descriptor.digest} in {self._target.display_name}: {descriptor.size} bytes exceeds the cap of {limit}"
            )
        parts: list[bytes] = []
        total = 0
        with self._target.open_blob(descriptor) as chunks:
            for chunk in chunks:
                total += len(chunk)
                if total > limit:
                    raise InputError(
                        f"blob {descriptor.digest} in {self._target.display_name}: more than {limit} bytes"
                    )
                parts.append(chunk)
        return b"".join(parts)

    def referrers(self, descriptor: Descriptor) -> Sequence[Descriptor]:
        return self.referrers_of(descriptor.digest)

    def referrers_of(self, digest: str) -> tuple[Descriptor, ...]:
        """The manifests whose subject is ``digest``."""
        if digest not in self._referrers:
            self._referrers[digest] = tuple(self._target.referrers(digest))
        return self._referrers[digest]

    def tagged(self, tag: str) -> tuple[Descriptor, bytes] | None:
        if tag not in self._tagged:
            self._tagged[tag] = self._fetch_tagged(tag)
        return self._tagged[tag]

    def _fetch_tagged(self, tag: str) -> tuple[Descriptor, bytes] | None:
        try:
            found = self._target.fetch_manifest(tag)
        except NotFound:
            return None
        except InputError:
            if tag in self._target.list_tags():  # an OCI layout says "no image tagged": absent, unless listed
                raise
            return None
        return found.descriptor, found.data
