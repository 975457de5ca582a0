"""The mirror step summary: every name from the registry is escaped, each referrer listed once."""

from __future__ import annotations

from gate.mirror.summary import render_summary
from gate.oci.copy import CopyReport, PlatformEntry, ReferrerInfo

HOSTILE = "<img src=x onerror=alert(1)>|`x`\n::error::boom"


def report(**changes: object) -> CopyReport:
    referrer = ReferrerInfo(
        digest="sha256:" + "b" * 64,
        subject="sha256:" + "a" * 64,
        media_type="application/vnd.oci.image.manifest.v1+json",
        artifact_type=HOSTILE,
        predicate_types=(HOSTILE,),
        kind="referrer",
        copied=True,
        tag=HOSTILE,
    )
    values: dict[str, object] = {
        "source": f"ghcr.io/a/b:{HOSTILE}",
        "destination": "ghcr.io/q/b:1",
        "digest": "sha256:" + "a" * 64,
        "media_type": "application/vnd.oci.image.index.v1+json",
        "platforms": ("linux/amd64",),
        "manifests_copied": 3,
        "manifests_skipped": 0,
        "blobs_copied": 4,
        "blobs_mounted": 1,
        "blobs_skipped": 0,
        "bytes_copied": 5 * 1024 * 1024,
        "referrers_copied": 1,
        "referrers_total": 2,
        "up_to_date": False,
        "seconds": 1.5,
        "graph": (PlatformEntry(HOSTILE, "sha256:" + "c" * 64, "m", 2, 2048, (referrer,)),),
        "root_referrers": (referrer,),
    }
    values.update(changes)
    return CopyReport(**values)  # type: ignore[arg-type]


def test_untrusted_names_are_escaped() -> None:
    text = render_summary(report())
    assert "<img" not in text and "\n::error" not in text
    assert text.startswith("### image-gate mirror: copied\n")
    assert "5.0 MiB" in text and "1 copied / 2" in text
    assert text.count("<details>") == 2  # the platform's referrers and the index's


def test_state_and_filter() -> None:
    text = render_summary(report(up_to_date=True, filtered=True, graph=(), root_referrers=()))
    assert text.startswith("### image-gate mirror: up to date\n")
    assert "a platform-filtered index" in text
    assert "<details>" not in text
