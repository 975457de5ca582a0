"""Which workflow run acquired an image, as the seed system records it (GitHub Actions' variables)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RunInfo:
    """The run, from ``GITHUB_*`` variables; every field is empty outside GitHub Actions."""

    run_url: str = ""
    run_id: str = ""
    run_attempt: str = ""
    actor: str = ""
    workflow: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RunInfo:
        server = environ.get("GITHUB_SERVER_URL", "").rstrip("/")
        repository = environ.get("GITHUB_REPOSITORY", "")
        run_id = environ.get("GITHUB_RUN_ID", "")
        url = f"{server}/{repository}/actions/runs/{run_id}" if server and repository and run_id else ""
        return cls(
            run_url=url,
            run_id=run_id,
            run_attempt=environ.get("GITHUB_RUN_ATTEMPT", ""),
            actor=environ.get("GITHUB_ACTOR", ""),
            workflow=environ.get("GITHUB_WORKFLOW", ""),
        )


def utc_timestamp(now: dt.datetime | None = None) -> str:
    """RFC 3339 UTC to the second (``2026-07-30T06:00:00Z``), as the seed writes it."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
