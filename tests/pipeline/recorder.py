"""Pipeline stages that record their calls instead of touching a registry (``gate.pipeline.chain.Stages``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from gate.errors import GateError, RuntimeFailure
from gate.outcome import Annotation, Outcome
from gate.pipeline.chain import Mirrored, Promoted, Scanned

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


@dataclass
class Recorder:
    """Stages that record their calls; ``fail`` names a stage that raises ``error``."""

    fail: str | None = None
    error: GateError = field(default_factory=lambda: RuntimeFailure("boom"))
    verdict: str = "pass"
    scanned_digest: str = DIGEST
    promoted_digest: str = DIGEST
    promoted: bool = True
    calls: list[str] = field(default_factory=list)

    def _maybe_fail(self, stage: str) -> None:
        self.calls.append(stage)
        if self.fail == stage:
            raise self.error

    def mirror(self) -> Mirrored:
        self._maybe_fail("mirror")
        outputs = {"digest": DIGEST, "referrers_copied": "5", "up_to_date": "false"}
        return Mirrored(DIGEST, Outcome(0, {"digest": DIGEST}, outputs, "### image-gate mirror: copied\n", ("m",)))

    def scan(self, digest: str) -> Scanned[str]:
        self._maybe_fail("scan")
        assert digest == DIGEST
        outputs = {"verdict": self.verdict, "blocking_count": "0" if self.verdict == "pass" else "1"}
        outcome = Outcome(
            0 if self.verdict == "pass" else 1,
            {"digest": self.scanned_digest, "verdict": self.verdict},
            {**outputs, "blocking_ids": "" if self.verdict == "pass" else "CVE-1", "sarif_file": "x.sarif"},
            "### image-gate scan: verdict\n#### Blocking findings\n",
            ("s",),
            (Annotation("error", "CVE-1 blocks"),) if self.verdict != "pass" else (),
        )
        return Scanned(self.scanned_digest, self.verdict, "the verdict document", outcome)

    def promote(self, scanned: Scanned[str]) -> Promoted:
        self._maybe_fail("promote")
        assert scanned.value == "the verdict document"
        outputs = {"promoted": "true", "report_digest": OTHER, "source_tag_deleted": "true"}
        return Promoted(self.promoted, self.promoted_digest, Outcome(0, {"promoted": True}, outputs, "### p\n"))
