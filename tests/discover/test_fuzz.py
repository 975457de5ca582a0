"""Arbitrary text never makes discovery raise anything but a GateError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.discover.images import references
from gate.discover.matrix import unique_images
from gate.discover.parser import parse
from gate.discover.policy import has_marker, violations
from gate.errors import GateError

FRAGMENTS = st.sampled_from(
    [
        "FROM ",
        "from ",
        "COPY --from=",
        "RUN --mount=",
        "type=bind,from=",
        "ARG ",
        " AS ",
        "as ",
        "\n",
        "\r\n",
        "\\",
        "`",
        "# escape=`\n",
        "# syntax=x\n",
        "<<",
        "<<-",
        "EOF",
        "'",
        '"',
        "$",
        "${",
        "}",
        ":-",
        "+",
        "?",
        "@sha256:",
        "a" * 64,
        "alpine",
        "scratch",
        "0",
        "stage",
        "#",
        " ",
        "\t",
        "\ufeff",
        "=",
        ",",
        "ONBUILD ",
    ]
)
TEXT = st.one_of(st.text(), st.lists(st.one_of(FRAGMENTS, st.text(max_size=5)), max_size=40).map("".join))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(TEXT, st.dictionaries(st.from_regex(r"[A-Z]{1,3}", fullmatch=True), st.text(max_size=8), max_size=3))
def test_arbitrary_text(text: str, build_args: dict[str, str]) -> None:
    try:
        dockerfile = parse(text)
        has_marker(dockerfile, "image-gate: production-image")
        found = references(dockerfile, "Dockerfile", build_args)
        violations(found)
        unique_images(found)
    except GateError:
        pass
