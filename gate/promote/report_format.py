"""The formats of the scan report attached to a promoted image, with no dependency: the promote options
(``gate.options.promote``) read them for ``--help`` without importing the referrer (``gate.promote.referrer``,
which signs with cryptography), which uses them too."""

from __future__ import annotations

from typing import Literal

ReportFormat = Literal["vuln", "cssc-v1"]
REPORT_FORMATS: tuple[ReportFormat, ...] = ("vuln", "cssc-v1")
DEFAULT_REPORT_FORMAT: ReportFormat = "vuln"
