"""gate.oci.reference: image references (parsed and normalised as distribution/reference's
ParseNormalizedNamed does), layout references, digests, tags and descriptors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gate.errors import InputError
from gate.oci.reference import (
    ImageReference,
    LayoutReference,
    compute_digest,
    descriptor_to_json,
    digest_hasher,
    fallback_tag,
    is_valid_digest,
    is_valid_tag,
    parse_descriptor,
    parse_descriptor_or_skip,
    parse_reference,
    parse_target_reference,
    split_digest,
)
from gate.oci.repository import checked_reference
from gate.oci.target import Descriptor, Platform

D256 = "sha256:" + "0123456789abcdef" * 4
D512 = "sha512:" + "0123456789abcdef" * 8
D1 = "sha256:" + "1" * 64


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("alpine", "docker.io", "library/alpine", "latest", None),
        ("alpine:3.19", "docker.io", "library/alpine", "3.19", None),
        ("library/alpine", "docker.io", "library/alpine", "latest", None),
        ("docker.io/alpine", "docker.io", "library/alpine", "latest", None),
        ("docker.io/library/alpine:edge", "docker.io", "library/alpine", "edge", None),
        ("index.docker.io/alpine", "docker.io", "library/alpine", "latest", None),
        ("index.docker.io/foo/bar:1", "docker.io", "foo/bar", "1", None),
        # Only index.docker.io is the legacy spelling of Docker Hub in distribution/reference.
        ("registry-1.docker.io/library/alpine", "registry-1.docker.io", "library/alpine", "latest", None),
        ("user/app", "docker.io", "user/app", "latest", None),
        ("user/team/app:v1", "docker.io", "user/team/app", "v1", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/app:v1", "localhost:5000", "app", "v1", None),
        ("localhost", "docker.io", "library/localhost", "latest", None),
        ("localhost:5000", "docker.io", "library/localhost", "5000", None),
        ("example.com/a/b/c:tag", "example.com", "a/b/c", "tag", None),
        ("example.com:443/a", "example.com:443", "a", "latest", None),
        ("ghcr.io/org/app", "ghcr.io", "org/app", "latest", None),
        ("127.0.0.1:5000/a", "127.0.0.1:5000", "a", "latest", None),
        ("[::1]:5000/a/b:t", "[::1]:5000", "a/b", "t", None),
        ("[2001:db8::1]/x", "[2001:db8::1]", "x", "latest", None),
        ("[fe80::1]/x", "[fe80::1]", "x", "latest", None),
        ("Foo/bar", "Foo", "bar", "latest", None),
        ("EXAMPLE/bar", "EXAMPLE", "bar", "latest", None),
        ("host/x", "docker.io", "host/x", "latest", None),
        ("a__b/c---d/e.f:T_1-.x", "docker.io", "a__b/c---d/e.f", "T_1-.x", None),
        (f"alpine@{D256}", "docker.io", "library/alpine", None, D256),
        (f"alpine:3.19@{D256}", "docker.io", "library/alpine", "3.19", D256),
        (f"ghcr.io/o/a:v1@{D512}", "ghcr.io", "o/a", "v1", D512),
        (f"localhost:5000/a@{D256}", "localhost:5000", "a", None, D256),
        ("a" * 64 + ":latest", "docker.io", "library/" + "a" * 64, "latest", None),
        ("library/" + "a" * 64, "docker.io", "library/" + "a" * 64, "latest", None),
        ("a" * 64 + f"@{D256}", "docker.io", "library/" + "a" * 64, None, D256),
        ("  alpine  ", "docker.io", "library/alpine", "latest", None),
    ],
)
def test_normalisation(text: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)
    assert parse_reference(str(ref)) == ref


def test_string_forms_and_properties() -> None:
    ref = parse_reference(f"alpine:3.19@{D256}")
    assert str(ref) == f"docker.io/library/alpine:3.19@{D256}"
    assert ref.name == "docker.io/library/alpine"
    assert ref.pinned
    assert ref.api_host == "registry-1.docker.io"
    assert ref.reference == D256
    assert ref.with_digest(D512).digest == D512
    assert ref.with_tag(None).tag is None
    plain = parse_reference("ghcr.io/o/a:v2")
    assert not plain.pinned and plain.reference == "v2" and plain.api_host == "ghcr.io"
    assert str(parse_reference("ghcr.io/o/a", default_tag=None)) == "ghcr.io/o/a"
    assert ImageReference("r.io", "x").reference == "latest"


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:" + "a" * 63,
        "sha256:" + "a" * 65,
        "sha256:" + "A" * 64,
        "sha256:" + "g" * 64,
        "sha512:" + "a" * 64,
        "sha384:" + "a" * 96,
        "md5:" + "a" * 32,
        "SHA256:" + "a" * 64,
        "sha256" + "a" * 64,
        "sha256:",
        "a" * 64,
        "sha256:" + "a" * 64 + "\n",
    ],
)
def test_invalid_digests(digest: str) -> None:
    assert not is_valid_digest(digest)
    if not digest.endswith("\n"):
        with pytest.raises(InputError, match="invalid digest"):
            parse_reference(f"alpine@{digest}")
        lax = parse_reference(f"alpine:1@{digest}", strict_digest=False)
        assert lax.digest == digest and lax.tag == "1" and not lax.pinned


def test_valid_digests() -> None:
    assert is_valid_digest(D256) and is_valid_digest(D512)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a" * 64, "64-hex"),
        ("ALPINE", "lowercase"),
        ("example.com/Alpine", "lowercase"),
        ("a b", "white space"),
        ("a//b", "path component"),
        ("a/", "path component"),
        ("-a", "path component"),
        ("a-", "path component"),
        ("a..b", "path component"),
        ("a___b", "path component"),
        ("a.-b", "path component"),
        ("_a", "path component"),
        ("example.com/", "no repository"),
        ("index.docker.io/", "no repository"),
        ("alpine:", "invalid tag"),
        ("alpine:-bad", "invalid tag"),
        ("alpine:.bad", "invalid tag"),
        ("alpine:" + "a" * 129, "invalid tag"),
        ("alpine:tëst", "invalid tag"),
        ("alpine@", "empty digest"),
        (f"alpine@{D256}@{D256}", "more than one"),
        ("exa_mple.com/x", "invalid registry"),
        ("-example.com/x", "invalid registry"),
        ("example-.com/x", "invalid registry"),
        ("example.com:port/x", "invalid registry"),
        ("example.com:/x", "invalid registry"),
        ("[::1/x", "invalid registry"),
        ("[1.2.3.4]/x", "invalid registry"),
        ("exämple.com/x", "invalid registry"),
        ("example.com/" + "a" * 250, "longer than 255"),
        ("alpine:a:b", None),
        ("ålpine", "path component"),
    ],
)
def test_bad_references(text: str, why: str | None) -> None:
    with pytest.raises(InputError) as info:
        parse_reference(text)
    if why:
        assert why in info.value.message
    if text.strip():
        assert repr(text) in info.value.message  # the error names the reference as written


def test_name_length_limit_is_inclusive() -> None:
    name = "example.com/" + "a" * (255 - len("example.com/"))
    assert parse_reference(name).name == name


@settings(max_examples=500)
@given(st.text())
def test_arbitrary_text_raises_only_input_error(text: str) -> None:
    try:
        ref = parse_reference(text, strict_digest=False)
    except InputError:
        return
    assert ref.repository and ref.registry


component = st.from_regex(r"[a-z0-9]{1,5}([._-][a-z0-9]{1,5}){0,2}", fullmatch=True)
registry = st.one_of(
    st.just(""),
    st.from_regex(r"[a-z0-9]{1,8}\.[a-z]{2,4}(:[0-9]{1,5})?", fullmatch=True),
    st.just("localhost:5000"),
    st.just("[::1]:5000"),
)


@settings(max_examples=200)
@given(
    registry,
    st.lists(component, min_size=1, max_size=3),
    st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)),
    st.one_of(st.none(), st.just(D256), st.just(D512)),
)
def test_valid_references_round_trip(host: str, path: list[str], tag: str | None, digest: str | None) -> None:
    text = (f"{host}/" if host else "") + "/".join(path)
    if tag:
        text += f":{tag}"
    if digest:
        text += f"@{digest}"
    # A first component with a dot would be read as a registry (tested above); and 64 hex is refused.
    assume(host or len(path) == 1 or "." not in path[0])
    assume(not (len(text) == 64 and all(c in "0123456789abcdef" for c in text)))
    ref = parse_reference(text)
    assert parse_reference(str(ref)) == ref
    assert ref.digest == digest
    assert ref.pinned == (digest is not None)
    assert ref.tag == (tag if tag else (None if digest else "latest"))
    if host:
        assert ref.registry == host
    else:
        assert ref.registry == "docker.io"
        assert ref.repository == ("/".join(path) if len(path) > 1 else f"library/{path[0]}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oci:/tmp/x", LayoutReference(Path("/tmp/x"), "latest")),
        ("oci:/tmp/x:v1", LayoutReference(Path("/tmp/x"), "v1")),
        ("oci:rel/dir:1.2-rc", LayoutReference(Path("rel/dir"), "1.2-rc")),
        ("oci:/tmp/x@sha256:" + "a" * 64, LayoutReference(Path("/tmp/x"), None, "sha256:" + "a" * 64)),
        ("oci:/tmp/x:v1@sha256:" + "a" * 64, LayoutReference(Path("/tmp/x"), "v1", "sha256:" + "a" * 64)),
        ("localhost:5000/a/b:v1", ImageReference("localhost:5000", "a/b", "v1")),
        ("alpine", ImageReference("docker.io", "library/alpine", "latest")),
    ],
)
def test_parse_target_reference(text: str, expected: object) -> None:
    assert parse_target_reference(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("oci:", "expected oci:PATH"),
        ("oci:/x:bad tag!", "invalid tag"),
        ("oci:/x@sha256:zz", "invalid digest"),
        ("UPPER/Case", "lowercase"),
    ],
)
def test_bad_target_references(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_target_reference(text)


def test_layout_reference_default_tag_none() -> None:
    assert parse_target_reference("oci:/x", default_tag=None) == LayoutReference(Path("/x"))


def test_split_digest() -> None:
    assert split_digest(D1) == ("sha256", "1" * 64)
    for bad in ("sha256:" + "A" * 64, "md5:" + "1" * 32, "sha256", "sha512:" + "1" * 64):
        with pytest.raises(InputError):
            split_digest(bad)


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@given(
    media_type=_text.filter(bool),
    size=st.integers(min_value=0, max_value=2**40),
    annotations=st.dictionaries(_text, _text, max_size=3),
    artifact_type=st.none() | _text.filter(bool),
    platform=st.none() | st.builds(Platform, _text.filter(bool), _text.filter(bool), st.none() | _text.filter(bool)),
)
def test_descriptor_json_round_trip(
    media_type: str, size: int, annotations: dict[str, str], artifact_type: str | None, platform: Platform | None
) -> None:
    descriptor = Descriptor(media_type, D1, size, annotations, artifact_type, platform)
    assert parse_descriptor(json.loads(json.dumps(descriptor_to_json(descriptor)))) == descriptor


def test_digest_helpers_agree() -> None:
    hasher = digest_hasher(D512)
    hasher.update(b"x")
    assert f"sha512:{hasher.hexdigest()}" == compute_digest(b"x", "sha512")
    with pytest.raises(InputError, match="invalid digest"):
        digest_hasher("md5:" + "a" * 32)
    long_bad = "sha256:" + "z" * 10_000
    with pytest.raises(InputError) as info:
        split_digest(long_bad)
    assert len(info.value.message) < 400  # a hostile digest is not echoed whole


@pytest.mark.parametrize("tag", ["latest", "v1.2.3-rc_1", "_x", "A" * 128, "1"])
def test_valid_tags(tag: str) -> None:
    assert is_valid_tag(tag)
    assert parse_reference(f"ghcr.io/o/a:{tag}").tag == tag
    assert parse_target_reference(f"oci:/x:{tag}") == LayoutReference(Path("/x"), tag)
    assert checked_reference(tag) == tag


@pytest.mark.parametrize("tag", ["tëst", "v١", "ｖ1", "-x", ".x", "a" * 129, "a b", "a/b", ""])
def test_tags_are_ascii_distribution_spec_tags_everywhere(tag: str) -> None:
    """One tag syntax for registry references, layout references and registry URLs: no non-ASCII
    letters or digits (``\\w`` would accept them), nothing past 128 characters."""
    assert not is_valid_tag(tag)
    with pytest.raises(InputError):
        parse_reference(f"ghcr.io/o/a:{tag}")
    if tag and "/" not in tag and tag.strip() == tag:
        with pytest.raises(InputError, match="invalid tag"):
            parse_target_reference(f"oci:/x:{tag}")
    with pytest.raises(InputError, match="invalid"):
        checked_reference(tag)


def test_a_tag_with_a_trailing_newline_never_reaches_a_url() -> None:
    assert not is_valid_tag("v1\n")  # fullmatch: ``$`` would have accepted it
    with pytest.raises(InputError, match="invalid tag"):
        checked_reference("v1\n")


def test_fallback_tag_follows_the_referrers_tag_schema() -> None:
    assert fallback_tag(D1) == "sha256-" + "1" * 64
    assert fallback_tag(D512) == "sha512-" + D512.partition(":")[2][:64]
    assert is_valid_tag(fallback_tag(D512))


GOOD = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": D1, "size": 3}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([GOOD], "must be a JSON object"),
        ({**GOOD, "mediaType": ""}, "mediaType missing"),
        ({**GOOD, "mediaType": 1}, "mediaType missing"),
        ({"mediaType": "m", "size": 1}, "digest missing"),
        ({**GOOD, "digest": "sha256:1"}, "invalid digest 'sha256:1'"),
        ({**GOOD, "digest": "sha256:../../x"}, "invalid digest"),
        ({**GOOD, "digest": "sha256:" + "A" * 64}, "invalid digest"),
        ({**GOOD, "size": -1}, "size must be a non-negative integer"),
        ({**GOOD, "size": True}, "size must be a non-negative integer"),
        ({**GOOD, "size": "3"}, "size must be a non-negative integer"),
        ({**GOOD, "size": 3.0}, "size must be a non-negative integer"),
        ({**GOOD, "annotations": {"a": 1}}, "annotations must map strings to strings"),
        ({**GOOD, "annotations": []}, "annotations must map strings to strings"),
        ({**GOOD, "artifactType": 5}, "artifactType must be a string"),
        ({**GOOD, "platform": "linux/amd64"}, "platform must be an object"),
        ({**GOOD, "platform": {"os": "linux"}}, "platform needs os and architecture"),
        ({**GOOD, "platform": {"os": "linux", "architecture": 1}}, "platform needs os and architecture"),
    ],
)
def test_descriptors_are_parsed_strictly(value: object, message: str) -> None:
    with pytest.raises(InputError, match=f"^where: .*{message}"):
        parse_descriptor(value, "where")
    logs: list[str] = []
    assert parse_descriptor_or_skip(value, "where", logs.append) is None
    assert len(logs) == 1 and logs[0].startswith("warning: where: ") and logs[0].endswith("; skipped")


def test_a_good_descriptor_is_read_whole_and_kept_by_the_skipping_parser() -> None:
    value = {
        **GOOD,
        "artifactType": "application/x-sbom",
        "annotations": {"a": "b"},
        "platform": {"os": "linux", "architecture": "arm64", "variant": "v8", "os.version": ""},
        "urls": ["ignored"],
    }
    expected = Descriptor(GOOD["mediaType"], D1, 3, {"a": "b"}, "application/x-sbom", Platform("linux", "arm64", "v8"))
    assert parse_descriptor(value) == expected
    logs: list[str] = []
    assert parse_descriptor_or_skip(value, "where", logs.append) == expected and logs == []
