from __future__ import annotations

from gate.discover.images import Location
from gate.discover.matrix import Image
from gate.discover.policy import Violation
from gate.discover.summary import INLINE_ROWS, render


def test_untrusted_text_is_escaped() -> None:
    hostile = "<img src=x onerror=alert(1)>|`x`\n::error::boom"
    text = render(
        [(f"{hostile}/Dockerfile", True)],
        [Image(f"ghcr.io/a/b:{hostile}", "ghcr.io/a/b", False, (Location(hostile, 2, "FROM"),))],
        [Violation(hostile, 2, hostile, f"invalid image reference: {hostile}")],
        verdict="failed",
        marker=hostile,
    )
    assert "<img" not in text
    assert "\n::error" not in text
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.count(" | ") + 2 == line.count("|") or "&#124;" in line or "\\|" in line


def test_long_lists_are_collapsed() -> None:
    dockerfiles = [(f"d{i}/Dockerfile", i % 2 == 0) for i in range(INLINE_ROWS + 1)]
    text = render(dockerfiles, [], [], verdict="passed", marker="m")
    assert "<details><summary>Dockerfiles" in text
    assert "No production image." in text
    assert "None." in text


def test_empty() -> None:
    text = render([], [], [], verdict="failed: nothing", marker="m")
    assert "No Dockerfile found." in text
