"""``gate.discover.pin``: digests written where references are, every other byte kept."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.discover.images import references
from gate.discover.outdated import tag_reference
from gate.discover.parser import parse
from gate.discover.pin import (
    FileChanged,
    PinnedFile,
    pin_dockerfile,
    read_snapshot,
    render_diff,
    write_pinned,
)
from gate.errors import EXIT_RUNTIME, InputError
from tests.discover.test_corpus import CASES as CORPUS_CASES
from tests.discover.test_corpus import load as load_corpus
from tests.discover.test_fuzz import FRAGMENTS

OLD = "sha256:" + "1" * 64
NEW = "sha256:" + "2" * 64
HUB = "docker.io/library/"


def digests_for(*names: str, digest: str = NEW) -> dict[str, str]:
    """``tag_reference`` -> digest for short Docker Hub names like ``alpine:3.20``."""
    return {HUB + name if "/" not in name.split(":")[0] else name: digest for name in names}


def pin(text: str, digests: dict[str, str], **options: object) -> PinnedFile:
    return pin_dockerfile("Dockerfile", text.encode(), digests, **options)  # type: ignore[arg-type]


def test_an_unpinned_reference_gets_the_digest_after_its_tag() -> None:
    result = pin("FROM alpine:3.20\n", digests_for("alpine:3.20"))
    assert result.data == f"FROM alpine:3.20@{NEW}\n".encode()
    assert [c.to_json() for c in result.changes] == [
        {"file": "Dockerfile", "line": 1, "from": "alpine:3.20", "to": f"alpine:3.20@{NEW}"}
    ]
    assert result.refused == ()
    assert result.changed


def test_a_reference_without_tag_gets_latest_written() -> None:
    result = pin("FROM alpine\nFROM ghcr.io/acme/tool AS t\n", digests_for("alpine:latest", "ghcr.io/acme/tool:latest"))
    assert result.data.decode() == f"FROM alpine:latest@{NEW}\nFROM ghcr.io/acme/tool:latest@{NEW} AS t\n"


def test_crlf_spacing_and_comments_are_kept_byte_for_byte() -> None:
    text = (
        "# image-gate: production-image\r\n"
        "  #  a comment   \r\n"
        "FROM   --platform=$BUILDPLATFORM   alpine:3.20    AS   build \t\r\n"
        "\r\n"
        "RUN echo hi   # not a comment\r\n"
        "FROM build\r\n"
        "COPY  --from=busybox:1   /a  /b\r\n"
    )
    result = pin(text, digests_for("alpine:3.20", "busybox:1"))
    expected = text.replace("alpine:3.20", f"alpine:3.20@{NEW}").replace("busybox:1", f"busybox:1@{NEW}")
    assert result.data == expected.encode()
    assert result.data.count(b"\r\n") == text.count("\r\n")
    assert [c.line for c in result.changes] == [3, 7]


def test_backtick_escape_and_continuations() -> None:
    text = (
        "# escape=`\n"
        "FROM `\n"
        "  # a comment inside the continuation\n"
        "\n"
        "  alpine:3.20 `\n"
        "  AS base\n"
        "RUN dir C:\\ `\n"
        "  && echo done\n"
        "COPY --chown=1:1 `\n"
        "     --from=ghcr.io/acme/tool:1 `\n"
        "     /a /b\n"
    )
    result = pin(text, digests_for("alpine:3.20", "ghcr.io/acme/tool:1"))
    expected = text.replace("alpine:3.20 `", f"alpine:3.20@{NEW} `").replace("tool:1 `", f"tool:1@{NEW} `")
    assert result.data.decode() == expected
    assert [c.line for c in result.changes] == [5, 10]


def test_a_reference_split_over_lines_gets_the_digest_at_its_end() -> None:
    text = "FROM alpi\\\n  # inside\nne:3.20 AS x\n"
    result = pin(text, digests_for("alpine:3.20"))
    assert result.data.decode() == f"FROM alpi\\\n  # inside\nne:3.20@{NEW} AS x\n"
    assert result.changes[0].line == 3
    assert result.changes[0].before == "alpine:3.20"


def test_heredoc_bodies_are_not_rewritten() -> None:
    text = (
        "FROM alpine:3.20\n"
        "RUN --mount=type=bind,from=busybox:1,target=/b <<EOF bash\n"
        "FROM alpine:3.20\n"
        "COPY --from=alpine:3.20 / /\n"
        "EOF\n"
        "COPY <<-'X' /etc/x\n"
        "\tFROM nginx:1\n"
        "\tX\n"
    )
    result = pin(text, digests_for("alpine:3.20", "busybox:1", "nginx:1"))
    lines = result.data.decode().split("\n")
    assert lines[0] == f"FROM alpine:3.20@{NEW}"
    assert lines[1] == f"RUN --mount=type=bind,from=busybox:1@{NEW},target=/b <<EOF bash"
    assert lines[2:] == text.split("\n")[2:]


def test_several_references_on_one_line() -> None:
    text = (
        "FROM scratch AS s\n"
        f"COPY --from=alpine:3.20 --chown=0:0 --from=nginx:1@{OLD} --from=s /a /b\n"
        "RUN --mount=type=cache,target=/c --mount=from=busybox:1,type=bind,target=/b "
        "--mount=type=bind,target=/d,from=redis:7 true\n"
    )
    digests = digests_for("alpine:3.20", "nginx:1", "busybox:1", "redis:7")
    result = pin(text, digests)
    assert result.data.decode() == (
        "FROM scratch AS s\n"
        f"COPY --from=alpine:3.20@{NEW} --chown=0:0 --from=nginx:1@{OLD} --from=s /a /b\n"
        f"RUN --mount=type=cache,target=/c --mount=from=busybox:1@{NEW},type=bind,target=/b "
        f"--mount=type=bind,target=/d,from=redis:7@{NEW} true\n"
    )
    updated = pin(text, digests, update=True)
    assert f"--from=nginx:1@{NEW} " in updated.data.decode()
    assert len(updated.changes) == 4


def test_update_replaces_only_a_moved_digest() -> None:
    text = f"FROM alpine:3.20@{OLD} AS a\nFROM busybox:1@{NEW}\n"
    digests = digests_for("alpine:3.20", "busybox:1")
    assert not pin(text, digests).changed  # without update a pinned reference stays
    result = pin(text, digests, update=True)
    assert result.data.decode() == f"FROM alpine:3.20@{NEW} AS a\nFROM busybox:1@{NEW}\n"
    assert [(c.before, c.after) for c in result.changes] == [(f"alpine:3.20@{OLD}", f"alpine:3.20@{NEW}")]


def test_quoted_from_image_and_bom_are_kept() -> None:
    text = "\ufeffFROM \"alpine:3.20\" AS a\nFROM 'busybox:1'\n"
    result = pin(text, digests_for("alpine:3.20", "busybox:1"))
    assert result.data.decode() == f"\ufeffFROM \"alpine:3.20@{NEW}\" AS a\nFROM 'busybox:1@{NEW}'\n"
    assert result.data.startswith(b"\xef\xbb\xbf")


def test_an_arg_with_a_literal_default_is_pinned_once() -> None:
    text = (
        "# syntax=docker/dockerfile:1\n"
        "ARG OTHER=1 BASE=alpine:3.20\n"
        "FROM $BASE AS a\n"
        "COPY --from=${BASE} /x /x\n"
        'FROM "${BASE}"\n'
    )
    result = pin(text, digests_for("alpine:3.20"))
    assert result.data.decode() == text.replace("BASE=alpine:3.20", f"BASE=alpine:3.20@{NEW}")
    assert [c.to_json() for c in result.changes] == [
        {"file": "Dockerfile", "line": 2, "from": "alpine:3.20", "to": f"alpine:3.20@{NEW}"}
    ]
    assert result.refused == ()


def test_a_quoted_arg_default_and_the_last_assignment() -> None:
    text = 'ARG BASE=busybox:1\nARG BASE="alpine:3.20"\nFROM ${BASE}\n'
    result = pin(text, digests_for("alpine:3.20"))
    assert result.data.decode() == f'ARG BASE=busybox:1\nARG BASE="alpine:3.20@{NEW}"\nFROM ${{BASE}}\n'


@pytest.mark.parametrize(
    ("text", "build_args", "reason"),
    [
        (
            "ARG REG=docker.io\nARG BASE=$REG/alpine:3.20\nFROM $BASE\n",
            {},
            "default of ARG BASE (line 2) is not a plain",
        ),
        ("ARG REG=docker.io\nFROM $REG/alpine:3.20\n", {}, "built from build arguments"),
        ("ARG BASE=alpine:3.20\nFROM ${BASE:-busybox}\n", {}, "built from build arguments"),
        ("ARG BASE=busybox:1\nFROM $BASE\n", {"BASE": "alpine:3.20"}, "ARG BASE is set by --build-arg"),
        ("FROM ${TARGETOS}\n", {"TARGETOS": "alpine:3.20"}, "set by --build-arg"),
        ("ARG BASE=alpine:3.20\nFROM $BASE AS a\nFROM ${BASE}-slim\n", {}, "ARG BASE is also used in '${BASE}-slim'"),
        ("ARG BASE=alpine\nARG FULL=${BASE}:3.20\nFROM $BASE\n", {}, "also used in '${BASE}:3.20'"),
        ("FROM $MISSING\n", {}, "unresolved build argument"),
        ("ARG BASE\nFROM alpine:3.20 AS a\nARG BASE=alpine:3.20\nFROM a\n", {}, ""),
    ],
)
def test_arg_references_that_are_not_rewritten(text: str, build_args: dict[str, str], reason: str) -> None:
    result = pin(text, digests_for("alpine:3.20", "alpine:latest", "busybox:1"), build_args=build_args)
    if not reason:  # a stage ARG is not the global one; the literal FROM is pinned
        assert result.data.decode() == text.replace("FROM alpine:3.20", f"FROM alpine:3.20@{NEW}")
        return
    assert not result.changed
    assert any(reason in refusal.reason for refusal in result.refused), result.refused


def test_references_pin_refuses_with_a_reason() -> None:
    text = (
        'COPY --from="alpine:3.20" /a /b\n'
        'RUN --mount="type=bind,from=alpine:3.20" true\n'
        "FROM alpine:3.20@sha256:abc AS bad\n"
        f"FROM busybox@{OLD} AS untagged\n"
        "FROM nginx:1 AS unknown\n"
        "FROM redis:7 AS failed\n"
        f"FROM golang:1.22@sha256:{'1' * 30}\\\n{'1' * 34} AS split\n"
    )
    digests = digests_for("alpine:3.20", "busybox:latest", "golang:1.22")
    errors = {HUB + "redis:7": "registry said 503"}
    result = pin(text, digests, update=True, errors=errors)
    assert not result.changed
    reasons = {refusal.line: refusal.reason for refusal in result.refused}
    assert "--from flag is written with quotes" in reasons[1]
    assert "--mount flag is written with quotes" in reasons[2]
    assert "invalid digest 'sha256:abc'" in reasons[3]
    assert "pinned by digest without a tag" in reasons[4]
    assert "current digest of docker.io/library/nginx:1 is unknown" in reasons[5]
    assert reasons[6] == "registry said 503"
    assert "split over continuation lines" in reasons[7]
    assert all(r.path == "Dockerfile" for r in result.refused)
    assert result.refused[0].to_json().keys() == {"file", "line", "image", "reason"}


def test_a_file_with_a_syntax_error_is_left_alone() -> None:
    text = "FROM alpine:3.20\nRUN <<EOF\nnever ends\n"
    result = pin(text, digests_for("alpine:3.20"))
    assert not result.changed
    assert result.data == text.encode()
    assert "unterminated heredoc" in result.refused[0].reason


def test_an_invalid_digest_from_the_resolver_is_not_written() -> None:
    result = pin("FROM alpine:3.20\n", {HUB + "alpine:3.20": "sha256:nothex"})
    assert not result.changed
    assert "not a valid digest" in result.refused[0].reason


def test_not_utf8_is_an_input_error() -> None:
    with pytest.raises(InputError, match="Dockerfile: not valid UTF-8"):
        pin_dockerfile("Dockerfile", b"FROM \xff\n", {})


def test_render_diff() -> None:
    text = "FROM alpine:3.20\r\nRUN true\r\nFROM busybox:1"
    result = pin(text, digests_for("alpine:3.20", "busybox:1"))
    diff = render_diff([result, pin("FROM scratch\n", {})])
    assert diff == (
        "--- a/Dockerfile\n+++ b/Dockerfile\n@@ -1,3 +1,3 @@\n"
        f"-FROM alpine:3.20\r\n+FROM alpine:3.20@{NEW}\r\n RUN true\r\n"
        "-FROM busybox:1\n\\ No newline at end of file\n"
        f"+FROM busybox:1@{NEW}\n\\ No newline at end of file\n"
    )
    assert render_diff([pin("FROM scratch\n", {})]) == ""


# --- writing ---------------------------------------------------------------------------------------


def test_write_replaces_the_file_keeping_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"FROM alpine:3.20\r\n")
    path.chmod(0o640)
    snapshot = read_snapshot(tmp_path, "Dockerfile")
    result = pin_dockerfile(snapshot.name, snapshot.data, digests_for("alpine:3.20"))
    inode = path.stat().st_ino
    assert write_pinned(snapshot, result) is True
    assert path.read_bytes() == f"FROM alpine:3.20@{NEW}\r\n".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Dockerfile"]
    unchanged = pin_dockerfile(snapshot.name, path.read_bytes(), digests_for("alpine:3.20"))
    assert write_pinned(read_snapshot(tmp_path, "Dockerfile"), unchanged) is False


def test_a_file_edited_between_read_and_write_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"FROM alpine:3.20\n")
    snapshot = read_snapshot(tmp_path, "Dockerfile")
    result = pin_dockerfile(snapshot.name, snapshot.data, digests_for("alpine:3.20"))
    edit = b"FROM alpine:3.21\n"  # the same size, and the same mtime: only the content tells
    times = path.stat()
    path.write_bytes(edit)
    os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))
    with pytest.raises(FileChanged, match="Dockerfile: changed since it was read; not overwritten") as caught:
        write_pinned(snapshot, result)
    assert caught.value.exit_code == EXIT_RUNTIME
    assert path.read_bytes() == edit
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Dockerfile"]
    path.unlink()
    with pytest.raises(FileChanged):
        write_pinned(snapshot, result)
    assert not path.exists()


def test_a_link_is_followed_inside_the_root_only(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "real").mkdir(parents=True)
    (root / "real" / "Dockerfile").write_bytes(b"FROM alpine:3.20\n")
    (root / "Dockerfile").symlink_to("real/Dockerfile")
    snapshot = read_snapshot(root, "Dockerfile")
    write_pinned(snapshot, pin_dockerfile(snapshot.name, snapshot.data, digests_for("alpine:3.20")))
    assert (root / "Dockerfile").is_symlink()
    assert (root / "real" / "Dockerfile").read_bytes() == f"FROM alpine:3.20@{NEW}\n".encode()
    (tmp_path / "outside").write_bytes(b"FROM alpine:3.20\n")
    (root / "Other.Dockerfile").symlink_to(tmp_path / "outside")
    with pytest.raises(InputError, match="leads outside"):
        read_snapshot(root, "Other.Dockerfile")


def test_write_refuses_content_from_another_snapshot(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(b"FROM alpine:3.20\n")
    snapshot = read_snapshot(tmp_path, "Dockerfile")
    with pytest.raises(ValueError, match="not made from this snapshot"):
        write_pinned(snapshot, pin("FROM busybox:1\n", digests_for("busybox:1")))


# --- properties --------------------------------------------------------------------------------------

NAMES = ["alpine", "ghcr.io/acme/tool", "localhost:5000/team/app", "registry.example.com:443/a/b-c"]
TAGS = [None, "3.20", "latest", "v1.2.3-rc_1"]
DIGEST = st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: f"sha256:{h}")
_DIGEST_TEXT = re.compile(r"@sha256:[0-9a-f]{64}|@sha512:[0-9a-f]{128}")


@st.composite
def references_text(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(NAMES))
    tag = draw(st.sampled_from(TAGS))
    digest = draw(st.one_of(st.none(), DIGEST)) if tag else None
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


@st.composite
def dockerfiles(draw: st.DrawFn) -> str:
    escape = draw(st.sampled_from(["\\", "`"]))
    lines: list[str] = []
    if escape == "`":
        lines.append("# escape=`")
    lines.append("# image-gate: production-image")

    def broken(*words: str) -> str:
        """Words joined by blanks, or by a continuation with an optional comment line inside."""
        out = words[0]
        for word in words[1:]:
            if draw(st.booleans()):
                comment = draw(st.sampled_from(["", "  # inside\n", "\n"]))
                out += f" {escape}\n{comment}  {word}"
            else:
                out += draw(st.sampled_from([" ", "   ", "\t"])) + word
        return out

    use_arg = draw(st.booleans())
    if use_arg:
        lines.append(f"ARG BASE={draw(references_text())}")
    for number in range(draw(st.integers(1, 4))):
        image = "${BASE}" if use_arg and number == 0 else draw(references_text())
        lines.append(broken("FROM", image, "AS", f"s{number}"))
        for _ in range(draw(st.integers(0, 2))):
            sources = [f"--from={draw(references_text())}" for _ in range(draw(st.integers(1, 3)))]
            lines.append(broken("COPY", *sources, "/a", "/b"))
        if draw(st.booleans()):
            mount = f"--mount=type=bind,from={draw(references_text())},target=/m"
            lines.append(broken("RUN", mount, "<<EOF", "sh"))
            lines += [f"FROM {draw(references_text())}", "EOF"]
    endings = draw(st.lists(st.sampled_from(["\n", "\r\n"]), min_size=len(lines), max_size=len(lines)))
    body = "".join(line.replace("\n", ending) + ending for line, ending in zip(lines, endings, strict=True))
    return ("\ufeff" if draw(st.booleans()) else "") + body


def current_digests(text: str, draw_digest: st.DataObject) -> dict[str, str]:
    found = references(parse(text), "Dockerfile", {})
    keys = {tag_reference(item.reference) for item in found if item.reference is not None}
    return {key: draw_digest.draw(DIGEST) for key in sorted(k for k in keys if k)}


def normalised(text: str) -> str:
    return re.sub(r":latest\b", "", _DIGEST_TEXT.sub("", text))


@settings(max_examples=300)
@given(dockerfiles(), st.booleans(), st.data())
def test_pin_then_discover_shows_every_reference_pinned(text: str, update: bool, data: st.DataObject) -> None:
    digests = current_digests(text, data)
    result = pin_dockerfile("Dockerfile", text.encode(), digests, update=update)
    assert result.refused == ()
    new_text = result.data.decode()
    before = references(parse(text), "Dockerfile", {})
    after = references(parse(new_text), "Dockerfile", {})
    assert [item.location for item in after] == [item.location for item in before]
    for old, new in zip(before, after, strict=True):
        assert old.reference is not None and new.reference is not None
        assert new.reference.pinned
        key = tag_reference(old.reference)
        if old.reference.digest is None or (update and key is not None):
            assert new.reference.digest == digests[tag_reference(new.reference) or ""]
        else:
            assert new.reference == old.reference
    # Nothing but digests (and the implicit :latest) was written: same lines, same line endings.
    assert normalised(new_text) == normalised(text)
    assert new_text.count("\r\n") == text.count("\r\n") and new_text.count("\n") == text.count("\n")
    again = pin_dockerfile("Dockerfile", result.data, digests, update=update)  # the same pin again: no-op
    assert not again.changed and again.changes == ()


MESSY = st.lists(
    st.one_of(FRAGMENTS, references_text(), st.sampled_from(["\nFROM ", "\nCOPY --from=", "BASE", "=", " "])),
    max_size=40,
).map("".join)


@settings(max_examples=500)
@given(MESSY, st.data())
def test_pin_on_messy_text_changes_only_references(text: str, data: st.DataObject) -> None:
    digests = current_digests(text, data)
    result = pin_dockerfile("Dockerfile", text.encode(), digests, update=True)
    new_text = result.data.decode()
    assert new_text.count("\n") == text.count("\n") and new_text.count("\r") == text.count("\r")
    if not result.changed:
        return
    before = references(parse(text), "Dockerfile", {})
    after = references(parse(new_text), "Dockerfile", {})
    assert len(after) == len(before)
    for old, new in zip(before, after, strict=True):
        if new.reference is not None and new.reference != old.reference:
            assert old.reference is not None
            assert new.reference.digest == digests[tag_reference(old.reference) or ""]
            assert (new.reference.name, new.reference.tag) == (old.reference.name, old.reference.tag)
        else:
            assert new.written == old.written
    again = pin_dockerfile("Dockerfile", result.data, digests, update=True)
    assert not again.changed


@pytest.mark.parametrize("name", CORPUS_CASES)
def test_the_discover_corpus_round_trips(name: str) -> None:
    text, expected = load_corpus(name)
    build_args = expected.get("build_args", {})
    found = references(parse(text), "Dockerfile", build_args)
    keys = sorted({key for item in found if item.reference and (key := tag_reference(item.reference))})
    digests = {key: f"sha256:{number:064x}" for number, key in enumerate(keys, 1)}
    result = pin_dockerfile("Dockerfile", text.encode(), digests, update=True, build_args=build_args)
    if "error_line" in expected:
        assert not result.changed and "syntax error" in result.refused[0].reason
        return
    assert normalised(result.data.decode()) == normalised(text)
    after = references(parse(result.data.decode()), "Dockerfile", build_args)
    assert [item.location for item in after] == [item.location for item in found]
    refused_lines = {refusal.line for refusal in result.refused}
    for item in after:
        if item.reference is not None and item.location.line not in refused_lines:
            assert item.reference.pinned, item
    assert not pin_dockerfile("Dockerfile", result.data, digests, update=True, build_args=build_args).changed
