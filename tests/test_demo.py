"""``make demo`` (scripts/demo.sh) as a user runs it: a throwaway registry, the example image, one blocked
pipeline run and one promoted run, everything stopped at the end."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.registry
def test_demo_shows_one_blocked_and_one_promoted_run(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    for name in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        env.pop(name, None)
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh")], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    # discover first, then the two pipeline runs with their rendered step summaries
    assert "UNPINNED" in output and "services/worker/Dockerfile" in output
    assert output.count("IMAGE-GATE PIPELINE: BLOCKED") == 1
    assert output.count("IMAGE-GATE PIPELINE: PROMOTED") == 1
    assert "exit 1: BLOCKED" in output and "exit 0: PROMOTED" in output
    assert "CVE-2021-44906" in output  # the blocking finding, then excepted
    assert "production/app tags: (none" in output  # blocked: nothing in production
    assert re.search(r"production/app tags: 1\.4\.2", output)
    # the scan report attached at promotion: the in-toto vulnerability attestation, then in the referrers' tree
    report = re.search(r"attached scan report (sha256:[0-9a-f]{64}) \(pass, sbom, application/vnd\.in-toto\+json\)", output)
    assert report is not None
    assert f"{report.group(1)}: application/vnd.in-toto+json" in output
    assert "<code>" not in output and "&#" not in output  # the summaries are rendered, not raw markdown
    # everything it started is gone: the temp dir (registry storage) and the registry process
    assert list(tmp_path.iterdir()) == []
    port = re.search(r"registry at http://127\.0\.0\.1:(\d+)", output)
    assert port is not None
    probe = subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port.group(1)}"], capture_output=True)
    assert probe.returncode != 0, "the demo registry is still listening"
