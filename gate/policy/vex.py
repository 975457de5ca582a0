"""VEX: statements that a vulnerability does (not) affect a product, from OpenVEX or CycloneDX VEX.

- OpenVEX (``@context`` https://openvex.dev/ns, ``/v0.2.0``...), bare or inside an in-toto
  statement / DSSE envelope / sigstore bundle (unwrapped by ``gate.attest.unwrap``);
- CycloneDX VEX: ``vulnerabilities[].analysis.state`` mapped to OpenVEX statuses
  (``not_affected``/``false_positive`` -> not_affected, ``resolved``/``resolved_with_pedigree``
  -> fixed, ``exploitable`` -> affected, ``in_triage`` -> under_investigation), ``affects[].ref``
  resolved through the document's ``bom-ref``s to purls.

``VexSet.match(finding_id, aliases, product_identifiers)`` answers which statement applies to a
finding; products are the image digest, the image purl (``pkg:oci/...@sha256:...``) and the
package purl. ``not_affected`` and ``fixed`` suppress; ``affected`` and ``under_investigation``
do not (but a later one overrides an earlier suppression for the same product).

The operator's own files (``--vex``) win over documents attached to the image, whatever their
timestamps: an attached statement applies only to a finding no operator statement speaks of. An
attached statement also applies only to findings of the manifest it is attached to (the image's
index covers every platform): ``subject``.

``pkg:oci`` purls match as the purl spec's ``oci`` type says: the version (a digest) identifies the
content, wherever it lives; the name is the last segment of the repository, and where it lives is the
``repository_url`` qualifier. So a product without a digest names a repository: when it says where
(``repository_url``, or a namespace, which ``oci`` purls should not have but people write) it matches
only an image there, and when it does not, any repository of that name.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from packageurl import PackageURL

from gate.attest.unwrap import unwrap_document
from gate.errors import InputError
from gate.files import read_capped
from gate.oci.reference import parse_reference

OPENVEX_PREFIX = "https://openvex.dev/ns"
OPENVEX_PREDICATE_TYPES = frozenset({OPENVEX_PREFIX, f"{OPENVEX_PREFIX}/v0.2.0"})
STATUSES = frozenset({"not_affected", "affected", "fixed", "under_investigation"})
SUPPRESSING = frozenset({"not_affected", "fixed"})
MAX_VEX_BYTES = 64 * 1024 * 1024
WRAPPER_KEYS = ("_type", "payloadType", "payload", "mediaType")
"""A document with any of these keys is an attestation (statement, DSSE envelope or bundle) to unwrap."""
_CDX_STATES = {
    "not_affected": "not_affected",
    "false_positive": "not_affected",
    "resolved": "fixed",
    "resolved_with_pedigree": "fixed",
    "exploitable": "affected",
    "in_triage": "under_investigation",
}
# Qualifiers that say where an artefact lives, not what it is.
_LOCATION_QUALIFIERS = frozenset({"repository_url", "tag", "download_url", "vcs_url", "file_name"})


@dataclass(frozen=True)
class VexProduct:
    """A product a statement is about; with subcomponents, only those packages inside it."""

    identifier: str
    subcomponents: tuple[str, ...] = ()


@dataclass(frozen=True)
class VexStatement:
    vulnerability: str
    aliases: tuple[str, ...]
    products: tuple[VexProduct, ...]
    status: str
    justification: str | None = None
    impact: str | None = None
    action: str | None = None
    timestamp: str | None = None
    source: str = ""
    format: str = "openvex"
    origin: str = "file"
    """``file``: the operator's (``--vex``); ``attached``: found attached to the image (they never win over files)."""
    verified: bool | None = None
    """Attached: whether its signature was verified (verified mode); None for the operator's files."""
    subject: str | None = None
    """Attached: the digest of the manifest it is attached to; it applies only to findings of that manifest."""

    @property
    def suppresses(self) -> bool:
        return self.status in SUPPRESSING

    @property
    def product_identifiers(self) -> tuple[str, ...]:
        return tuple(p.identifier for p in self.products)

    def to_json(self) -> dict[str, Any]:
        return {
            "vulnerability": self.vulnerability,
            "aliases": list(self.aliases),
            "products": [{"id": p.identifier, "subcomponents": list(p.subcomponents)} for p in self.products],
            "status": self.status,
            "justification": self.justification,
            "impact": self.impact,
            "action": self.action,
            "source": self.source,
            "format": self.format,
            "origin": self.origin,
            "verified": self.verified,
            "subject": self.subject,
        }


class VexSet:
    """Statements from any number of documents, matched against findings."""

    def __init__(self, statements: Iterable[VexStatement] = ()) -> None:
        self.statements: tuple[VexStatement, ...] = tuple(statements)

    def __len__(self) -> int:
        return len(self.statements)

    def __add__(self, other: VexSet) -> VexSet:
        return VexSet(self.statements + other.statements)

    def attached(self, subject: str, *, verified: bool) -> VexSet:
        """These statements as found attached to the manifest ``subject`` (verified or not)."""
        return VexSet(
            replace(s, origin="attached", verified=verified, subject=subject.lower()) for s in self.statements
        )

    def match(self, finding_id: str, aliases: Iterable[str], product_identifiers: Iterable[str]) -> VexStatement | None:
        """The statement that applies to this finding, or None.

        A statement applies when its vulnerability (or one of its aliases) is the finding's id or
        one of its aliases, and one of its products matches one of ``product_identifiers`` (and,
        when the product lists subcomponents, one of those matches too); an attached one only when
        its ``subject`` is one of the identifiers too. Among several, the operator's files win over
        attached documents whatever the timestamps; then the latest by timestamp wins; at equal time
        the last one read.
        """
        names = {_norm_id(finding_id), *(_norm_id(a) for a in aliases)}
        identifiers = [i for i in product_identifiers if i]
        best: tuple[tuple[bool, str, int], VexStatement] | None = None
        for order, statement in enumerate(self.statements):
            ids = {_norm_id(statement.vulnerability), *(_norm_id(a) for a in statement.aliases)}
            if not ids & names or not _applies(statement, identifiers):
                continue
            key = (statement.origin == "file", statement.timestamp or "", order)
            if best is None or key >= best[0]:
                best = (key, statement)
        return best[1] if best else None


def load_vex(path: Path) -> VexSet:
    """Read one VEX file (OpenVEX, CycloneDX VEX, or either inside an attestation)."""
    data = read_capped(path, MAX_VEX_BYTES, "the VEX file", regular_only=False)
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"VEX {path}: not JSON: {exc}") from exc
    return parse_vex(document, str(path))


def load_vex_files(paths: Sequence[Path]) -> VexSet:
    result = VexSet()
    for path in paths:
        result = result + load_vex(path)
    return result


def is_vex_predicate_type(predicate_type: str) -> bool:
    """True for OpenVEX predicate types (``https://openvex.dev/ns`` and versioned forms)."""
    return predicate_type == OPENVEX_PREFIX or predicate_type.startswith(OPENVEX_PREFIX + "/")


def parse_vex(document: Any, source: str) -> VexSet:
    """Statements of a parsed VEX document (see the module docstring for the accepted shapes)."""
    if not isinstance(document, dict):
        raise InputError(f"VEX {source}: expected a JSON object")
    if _is_openvex(document):
        return VexSet(_openvex(document, source))
    if document.get("bomFormat") == "CycloneDX":
        return VexSet(_cyclonedx(document, source))
    if any(k in document for k in WRAPPER_KEYS):
        attestation = unwrap_document(document, source)
        predicate = attestation.predicate
        if is_vex_predicate_type(attestation.predicate_type) or (
            isinstance(predicate, dict) and (_is_openvex(predicate) or predicate.get("bomFormat") == "CycloneDX")
        ):
            return parse_vex(predicate, source)
        raise InputError(f"VEX {source}: attestation predicate type {attestation.predicate_type!r} is not VEX")
    raise InputError(f"VEX {source}: neither OpenVEX (@context {OPENVEX_PREFIX}...) nor CycloneDX VEX")


def _is_openvex(document: Mapping[str, Any]) -> bool:
    context = document.get("@context")
    return isinstance(context, str) and context.startswith(OPENVEX_PREFIX)


def _openvex(document: Mapping[str, Any], source: str) -> list[VexStatement]:
    statements = document.get("statements")
    if not isinstance(statements, list):
        raise InputError(f"VEX {source}: OpenVEX document has no 'statements' list")
    document_time = document.get("timestamp") if isinstance(document.get("timestamp"), str) else None
    found = []
    for index, raw in enumerate(statements):
        where = f"VEX {source}: statements[{index}]"
        if not isinstance(raw, dict):
            raise InputError(f"{where} is not an object")
        vulnerability, aliases = _openvex_vulnerability(raw.get("vulnerability"), where)
        status = raw.get("status")
        if status not in STATUSES:
            raise InputError(f"{where}: status {status!r} is not one of {', '.join(sorted(STATUSES))}")
        products = _openvex_products(raw.get("products"), raw.get("subcomponents"), where)
        timestamp = raw.get("timestamp") if isinstance(raw.get("timestamp"), str) else document_time
        found.append(
            VexStatement(
                vulnerability=vulnerability,
                aliases=aliases,
                products=products,
                status=str(status),
                justification=_opt_text(raw.get("justification")),
                impact=_opt_text(raw.get("impact_statement")),
                action=_opt_text(raw.get("action_statement")),
                timestamp=timestamp,
                source=source,
                format="openvex",
            )
        )
    return found


def _openvex_vulnerability(value: Any, where: str) -> tuple[str, tuple[str, ...]]:
    if isinstance(value, str) and value.strip():  # OpenVEX v0.0.1
        return value.strip(), ()
    if isinstance(value, dict):
        name = value.get("name") or value.get("@id")
        aliases = value.get("aliases") or []
        if isinstance(name, str) and name.strip() and isinstance(aliases, list):
            return name.strip(), tuple(str(a) for a in aliases if isinstance(a, str))
    raise InputError(f"{where}: 'vulnerability' has no name")


def _openvex_products(value: Any, legacy_subcomponents: Any, where: str) -> tuple[VexProduct, ...]:
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: 'products' must be a non-empty list")
    legacy = tuple(s for s in legacy_subcomponents or [] if isinstance(s, str))
    products = []
    for item in value:
        if isinstance(item, str):  # OpenVEX v0.0.1: product ids, statement-level subcomponents
            products.append(VexProduct(item, legacy))
            continue
        if not isinstance(item, dict):
            raise InputError(f"{where}: a product is neither a string nor an object")
        ids = _component_ids(item)
        if not ids:
            raise InputError(f"{where}: a product has no @id, purl or hash")
        subs = tuple(i for sub in item.get("subcomponents") or [] if isinstance(sub, dict) for i in _component_ids(sub))
        products.extend(VexProduct(i, subs) for i in ids)
    return tuple(products)


def _component_ids(item: Mapping[str, Any]) -> list[str]:
    ids = [item["@id"]] if isinstance(item.get("@id"), str) else []
    identifiers = item.get("identifiers")
    if isinstance(identifiers, dict) and isinstance(identifiers.get("purl"), str):
        ids.append(identifiers["purl"])
    hashes = item.get("hashes")
    if isinstance(hashes, dict):
        for algorithm, value in hashes.items():
            if isinstance(value, str) and algorithm.lower().replace("-", "") in ("sha256", "sha512"):
                ids.append(f"{algorithm.lower().replace('-', '')}:{value.lower()}")
    return ids


def _cyclonedx(document: Mapping[str, Any], source: str) -> list[VexStatement]:
    refs: dict[str, str] = {}
    metadata = document.get("metadata")
    roots = (
        [metadata["component"]] if isinstance(metadata, dict) and isinstance(metadata.get("component"), dict) else []
    )
    stack = roots + [c for c in document.get("components") or [] if isinstance(c, dict)]
    while stack:
        component = stack.pop()
        if isinstance(component.get("bom-ref"), str) and isinstance(component.get("purl"), str):
            refs[component["bom-ref"]] = component["purl"]
        stack.extend(c for c in component.get("components") or [] if isinstance(c, dict))
    vulnerabilities = document.get("vulnerabilities")
    if not isinstance(vulnerabilities, list):
        raise InputError(f"VEX {source}: CycloneDX document has no 'vulnerabilities' list")
    found = []
    for index, raw in enumerate(vulnerabilities):
        where = f"VEX {source}: vulnerabilities[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise InputError(f"{where} has no id")
        analysis = raw.get("analysis")
        if not isinstance(analysis, dict) or "state" not in analysis:
            continue  # a plain vulnerability report entry, not a VEX statement
        state = analysis.get("state")
        if state not in _CDX_STATES:
            raise InputError(f"{where}: analysis.state {state!r} is not one of {', '.join(sorted(_CDX_STATES))}")
        products = []
        for affect in raw.get("affects") or []:
            ref = affect.get("ref") if isinstance(affect, dict) else None
            if isinstance(ref, str):
                products.append(VexProduct(refs.get(ref, ref)))
        if not products:
            raise InputError(f"{where}: 'affects' names no product")
        aliases = tuple(
            r["id"] for r in raw.get("references") or [] if isinstance(r, dict) and isinstance(r.get("id"), str)
        )
        responses = analysis.get("response")
        found.append(
            VexStatement(
                vulnerability=raw["id"],
                aliases=aliases,
                products=tuple(products),
                status=_CDX_STATES[str(state)],
                justification=_opt_text(analysis.get("justification")),
                impact=_opt_text(analysis.get("detail")),
                action=", ".join(r for r in responses if isinstance(r, str)) if isinstance(responses, list) else None,
                timestamp=_opt_text(analysis.get("lastUpdated")),
                source=source,
                format="cyclonedx",
            )
        )
    return found


def _applies(statement: VexStatement, identifiers: Sequence[str]) -> bool:
    if statement.subject is not None and statement.subject not in {i.lower() for i in identifiers}:
        return False  # attached to another manifest (another platform, or another image)
    for product in statement.products:
        if not any(identifier_matches(product.identifier, i) for i in identifiers):
            continue
        if not product.subcomponents:
            return True
        if any(identifier_matches(sub, i) for sub in product.subcomponents for i in identifiers):
            return True
    return False


def identifier_matches(pattern: str, identifier: str) -> bool:
    """Does a VEX product/subcomponent id name ``identifier`` (a digest or a purl)?

    Digests compare case-insensitively, and a digest matches a ``pkg:oci`` purl with that
    version. Purls match on type, namespace, name; a pattern without version matches every
    version; a ``pkg:oci`` pattern without version matches on name and where the image lives
    (``_same_oci_location``); other location qualifiers (tag, download_url...) are ignored and
    other qualifiers only conflict when both sides set them differently.
    """
    if pattern == identifier:
        return True
    left, right = _as_purl(pattern), _as_purl(identifier)
    if left is None and right is None:
        # ``host/repo@sha256:...`` names its digest: it matches that bare digest (content is identity).
        mine, theirs = pattern.strip().lower(), identifier.strip().lower()
        return mine == theirs or _pinned_digest(mine) == theirs or _pinned_digest(theirs) == mine
    if left is None or right is None:
        digest = (pattern if left is None else identifier).strip().lower()
        purl = right if left is None else left
        return purl is not None and purl.type == "oci" and (purl.version or "").lower() == digest
    if left.type != right.type:
        return False
    if left.type == "oci":
        # With a digest the pattern names content, wherever it lives; without, a repository: its location counts.
        if left.name.lower() != right.name.lower() or not (left.version or _same_oci_location(left, right)):
            return False
    elif (left.namespace or "", left.name) != (right.namespace or "", right.name):
        return False
    if left.version:
        fold = left.type == "oci"  # digests are case-insensitive hex
        mine, theirs = left.version, right.version or ""
        if (mine.lower() != theirs.lower()) if fold else (mine != theirs):
            return False
    lq = _qualifiers(left)
    rq = _qualifiers(right)
    return all(rq.get(key, value) == value for key, value in lq.items() if key not in _LOCATION_QUALIFIERS)


def _same_oci_location(pattern: PackageURL, identifier: PackageURL) -> bool:
    """Whether the image ``identifier`` names lives where the ``pkg:oci`` ``pattern`` says (anywhere, when
    it says nothing): its ``repository_url`` is the same repository, and its namespace (not in the spec,
    but written) is the repository path before the name."""
    wanted_url, wanted_namespace = _oci_location(pattern)
    if not wanted_url and not wanted_namespace:
        return True
    url, namespace = _oci_location(identifier)
    if wanted_url and wanted_url != url:
        return False
    if wanted_namespace:
        path = url.partition("/")[2].rpartition("/")[0] if url else ""
        return wanted_namespace in {namespace, path} - {""}
    return True


def _oci_location(purl: PackageURL) -> tuple[str, str]:
    """(the normalised ``repository_url``, the namespace) of a ``pkg:oci`` purl; empty when absent."""
    url = _qualifiers(purl).get("repository_url", "").strip().lower()
    url = url.split("://", 1)[-1].strip("/")
    if url:
        with contextlib.suppress(InputError):  # docker.io/library/x, index.docker.io -> docker.io
            url = parse_reference(url, default_tag=None).name
    return url, (purl.namespace or "").strip("/").lower()


def _pinned_digest(text: str) -> str | None:
    """The digest of ``name@algorithm:hex``; None for anything else (a bare digest included)."""
    name, at, digest = text.rpartition("@")
    return digest if at and name and ":" in digest else None


def _as_purl(text: str) -> PackageURL | None:
    if not text.startswith("pkg:"):
        return None
    try:
        return PackageURL.from_string(text)
    except ValueError:
        return None


def _qualifiers(purl: PackageURL) -> dict[str, str]:
    value = purl.qualifiers
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _norm_id(text: str) -> str:
    return text.strip().upper()


def _opt_text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
