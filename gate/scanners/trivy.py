"""The ``trivy`` scanner backend: ``trivy sbom --format sarif`` on an extracted BOM, and
``trivy image --input LAYOUT --format cyclonedx``, the inventory of an image's layers
(``TrivyScanner.inventory``, used by ``gate.scan.layers`` whatever the scanner).

Runs Trivy as a subprocess with an argument list (never a shell), a timeout, an
environment without the action's inputs or other credentials, and its output read with
a cap (Trivy is stopped past it); its stderr's tail becomes the error message when it fails
(with a hint when it had no vulnerability database). Trivy never calls home
(``--skip-version-check --disable-telemetry``). Options the user passes through
(VEX files, DB repositories, offline flags, cache directory) live in ``TrivyOptions``.
An SPDX SBOM whose operating system Trivy would not see gets it stated in Trivy's own way first
(``gate.scanners.trivy_spdx``), so its OS packages are scanned.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from gate.errors import InputError, RuntimeFailure
from gate.files import read_capped
from gate.outcome import ignore
from gate.sbom.bom import MAX_BOM_BYTES, read_bom, write_bom
from gate.scanners.base import Log, ScanRequest, ScanResult
from gate.scanners.trivy_spdx import prepare_spdx

MAX_SARIF_BYTES = 512 * 1024 * 1024
MAX_STDERR_BYTES = 64 * 1024
READ_CHUNK = 1024 * 1024
_KEPT_VARIABLES = frozenset(
    {
        "PATH", "HOME", "USER", "TMPDIR", "TZ", "LANG", "LANGUAGE", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    }
)  # fmt: skip
_KEPT_PREFIXES = ("TRIVY_", "LC_")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_VERSION = re.compile(r"^Version:\s*(\S+)", re.MULTILINE)
QUIET = ("--quiet", "--skip-version-check", "--disable-telemetry")
"""On every run: no progress bars, and no call to Aqua's server (version check, telemetry)."""
_NO_DATABASE = ("failed to download vulnerability DB", "--skip-db-update cannot be specified on the first run")
NO_DATABASE_HINT = (
    "Trivy has no vulnerability database: it downloads one (ghcr.io/aquasecurity/trivy-db, about 70 MB) "
    "unless skip_db_update is set, and could not. Give a reachable mirror "
    "(--trivy-db-repository REPO; trivy_options: {db_repositories: [REPO]}), or cache the database: "
    "`trivy image --download-db-only --cache-dir DIR` where the network is, keep DIR (actions/cache), and "
    "scan with --trivy-cache-dir DIR --trivy-skip-db-update (trivy_options: {cache_dir: DIR, skip_db_update: true}); "
    "or use scanner osv with an OSV database (--osv-db)"
)
INSTALL_HINT = (
    "install Trivy (https://github.com/aquasecurity/trivy/releases) and put it on PATH, "
    "or point the trivy executable option at it; the action's image ships a pinned Trivy"
)


@dataclass(frozen=True)
class TrivyOptions:
    """Passthrough options for ``trivy sbom``."""

    executable: str = "trivy"
    timeout_seconds: float = 900.0
    vex: tuple[Path, ...] = ()
    """VEX documents applied to every scan (``--vex``), before the request's own."""
    db_repositories: tuple[str, ...] = ()
    java_db_repositories: tuple[str, ...] = ()
    skip_db_update: bool = False
    skip_java_db_update: bool = False
    offline_scan: bool = False
    cache_dir: Path | None = None

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> TrivyOptions:
        """Build from a plain mapping (config values); unknown or ill-typed keys are an ``InputError``."""
        known: dict[str, type | tuple[type, ...]] = {
            "executable": str,
            "timeout_seconds": (int, float),
            "vex": (list, tuple),
            "db_repositories": (list, tuple),
            "java_db_repositories": (list, tuple),
            "skip_db_update": bool,
            "skip_java_db_update": bool,
            "offline_scan": bool,
            "cache_dir": (str, Path),
        }
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise InputError(f"unknown trivy option(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        values: dict[str, Any] = {}
        for key, given in options.items():
            value: Any = given
            if value is None:
                continue
            if not _is_instance(value, known[key]) or (key == "timeout_seconds" and isinstance(value, bool)):
                raise InputError(f"trivy option {key}: unexpected value {value!r}")
            if key == "timeout_seconds" and not value > 0:
                raise InputError(f"trivy option timeout_seconds must be positive, got {value!r}")
            if key == "vex":
                if not all(isinstance(v, str | Path) and str(v) for v in value):
                    raise InputError("trivy option vex: every entry must be a file path")
                value = tuple(Path(v) for v in value)
            elif key in ("db_repositories", "java_db_repositories"):
                if not all(isinstance(v, str) and v.strip() for v in value):
                    raise InputError(f"trivy option {key}: every entry must be a non-empty string")
                value = tuple(v.strip() for v in value)
            elif key == "cache_dir":
                value = Path(value)
            values[key] = value
        return cls(**values)


class TrivyScanner:
    """``gate.scanners.base.Scanner`` over the Trivy CLI."""

    name = "trivy"

    def __init__(self, options: TrivyOptions | None = None, *, max_output: int = MAX_SARIF_BYTES) -> None:
        self.options = options or TrivyOptions()
        self.max_output = max_output
        self._version: str | None = None

    def command(self, request: ScanRequest) -> list[str]:
        """The exact argument list ``scan`` runs (for logs and tests)."""
        o = self.options
        args = [o.executable, "sbom", "--format", "sarif", *QUIET]
        for vex in (*o.vex, *request.vex_paths):
            args += ["--vex", str(vex)]
        for repo in o.db_repositories:
            args += ["--db-repository", repo]
        if o.skip_db_update:
            args.append("--skip-db-update")
        args += self._java_db_and_cache_args()
        args += ["--", str(request.bom_path)]
        return args

    def version(self) -> str:
        """Trivy's version, from ``trivy --version`` (cached)."""
        if self._version is None:
            out = self._run([self.options.executable, "--version"], "trivy --version", timeout=60)
            text = _ANSI.sub("", out.decode("utf-8", "replace"))
            match = _VERSION.search(text)
            if not match:
                raise RuntimeFailure(f"trivy --version printed no 'Version:' line: {_tail(text)!r}")
            self._version = match.group(1)
        return self._version

    def scan(self, request: ScanRequest) -> ScanResult:
        """Run ``trivy sbom`` on ``request.bom_path`` and return its single SARIF run."""
        if not request.bom_path.is_file():
            raise InputError(f"SBOM file {request.bom_path} does not exist")
        for vex in (*self.options.vex, *request.vex_paths):
            if not vex.is_file():
                raise InputError(f"VEX file {vex} does not exist")
        version = self.version()
        what = f"trivy sbom on {request.bom_path} ({request.image} {request.platform})"
        if request.bom_format != "spdx":
            out = self._run(self.command(request), what, timeout=self.options.timeout_seconds)
            return ScanResult(run=parse_sarif_run(out, what), scanner=self.name, scanner_version=version)
        bom = read_bom(
            read_capped(request.bom_path, MAX_BOM_BYTES, f"the SBOM file {request.bom_path}"), str(request.bom_path)
        )
        prepared = prepare_spdx(bom.document, str(request.bom_path))
        with tempfile.TemporaryDirectory(prefix="image-gate-trivy-") as directory:
            if prepared.document is not None:  # the same SBOM, its operating system stated in Trivy's way
                path = write_bom(replace(bom, document=prepared.document), Path(directory) / request.bom_path.name)
                request = replace(request, bom_path=path)
            out = self._run(self.command(request), what, timeout=self.options.timeout_seconds)
        run = parse_sarif_run(out, what)
        return ScanResult(run=run, scanner=self.name, scanner_version=version, unchecked=prepared.unchecked)

    def inventory_command(self, layout: Path, output: Path) -> list[str]:
        """The exact argument list ``inventory`` runs: no vulnerability scanning (so no vulnerability
        database), a cache in memory (nothing of the image left on disk), the Java database options."""
        o = self.options
        args = [o.executable, "image", "--input", str(layout), "--format", "cyclonedx", "--output", str(output)]
        args += [*QUIET, "--cache-backend", "memory"]
        return args + self._java_db_and_cache_args()

    def _java_db_and_cache_args(self) -> list[str]:
        """The Java database, offline and cache options, which both the scan and the inventory take."""
        o = self.options
        args: list[str] = []
        for repo in o.java_db_repositories:
            args += ["--java-db-repository", repo]
        if o.skip_java_db_update:
            args.append("--skip-java-db-update")
        if o.offline_scan:
            args.append("--offline-scan")
        if o.cache_dir is not None:
            args += ["--cache-dir", str(o.cache_dir)]
        return args

    def inventory(self, layout: Path, output: Path, what: str) -> None:
        """Write the CycloneDX inventory of the one image in the OCI layout ``layout`` to ``output``
        (Trivy's packages of every layer; its version is in the SBOM's ``metadata.tools``). Trivy runs in
        ``layout``'s parent, so a ``trivy.yaml`` in the caller's directory does not change what it does."""
        self._run(self.inventory_command(layout, output), what, timeout=self.options.timeout_seconds, cwd=layout.parent)
        if not output.is_file():
            raise RuntimeFailure(f"{what}: trivy wrote no SBOM to {output}")

    def _run(self, args: list[str], what: str, *, timeout: float, cwd: Path | None = None) -> bytes:
        try:
            # A session of its own, so a timeout kills Trivy and anything it started.
            process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                env=scanner_environment(os.environ),
                cwd=cwd,
            )
        except FileNotFoundError:
            raise RuntimeFailure(f"{what}: trivy executable {args[0]!r} not found", hint=INSTALL_HINT) from None
        except PermissionError:
            raise RuntimeFailure(f"{what}: trivy executable {args[0]!r} is not executable", hint=INSTALL_HINT) from None
        except OSError as exc:
            raise RuntimeFailure(f"{what}: cannot run {args[0]!r}: {exc.strerror or exc}", hint=INSTALL_HINT) from None
        assert process.stdout is not None and process.stderr is not None
        deadline = time.monotonic() + timeout
        with process:
            stdout = _CappedReader(process.stdout, self.max_output, on_overflow=lambda: _kill_group(process))
            stderr = _CappedReader(process.stderr, MAX_STDERR_BYTES, keep_tail=True)
            try:
                process.wait(timeout=timeout)
                # Trivy has ended; a child it left holding the pipes gets the rest of the time.
                stdout.join(max(0.0, deadline - time.monotonic()))
                stderr.join(max(0.0, deadline - time.monotonic()))
                if stdout.alive() or stderr.alive():
                    raise subprocess.TimeoutExpired(args, timeout)
            except subprocess.TimeoutExpired:
                _kill_group(process)
                process.wait()
                stderr.join(5)
                raise RuntimeFailure(
                    f"{what}: timed out after {timeout:g} s{_stderr_note(stderr.data())}",
                    hint="raise the trivy timeout, or pre-populate the DB cache and use skip_db_update/offline_scan",
                ) from None
            except BaseException:  # Ctrl-C, SIGTERM: Trivy runs in a session of its own and must not outlive us
                _kill_group(process)
                raise
        if stdout.overflowed:
            raise RuntimeFailure(f"{what}: output exceeds {self.max_output} bytes; trivy was stopped")
        if process.returncode != 0:
            note = _stderr_note(stderr.data())
            hint = NO_DATABASE_HINT if any(marker in note for marker in _NO_DATABASE) else None
            raise RuntimeFailure(f"{what}: exit status {process.returncode}{note}", hint=hint)
        return stdout.data()


class _CappedReader:
    """Reads a pipe in a thread: at most ``limit`` bytes kept (the first, or with ``keep_tail`` the
    last); past the limit without ``keep_tail`` it calls ``on_overflow`` and stops reading."""

    def __init__(
        self, pipe: IO[bytes], limit: int, *, keep_tail: bool = False, on_overflow: Callable[[], None] | None = None
    ) -> None:
        self.limit = limit
        self.keep_tail = keep_tail
        self.on_overflow = on_overflow
        self.overflowed = False
        self._buffer = bytearray()
        self._pipe = pipe
        self._thread = threading.Thread(target=self._read, name="trivy-output", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            chunk = self._pipe.read1(READ_CHUNK) if hasattr(self._pipe, "read1") else self._pipe.read(READ_CHUNK)
            if not chunk:
                return
            self._buffer += chunk
            if len(self._buffer) <= self.limit:
                continue
            if self.keep_tail:
                del self._buffer[: len(self._buffer) - self.limit]
                continue
            self.overflowed = True
            del self._buffer[self.limit :]
            if self.on_overflow is not None:
                self.on_overflow()
            return

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def data(self) -> bytes:
        return bytes(self._buffer)


def scanner_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment Trivy runs with: what it needs (PATH, HOME, TRIVY_*, proxies, CA
    certificates, locale, temp and cache dirs), never the action's inputs (INPUT_* holds the
    registry passwords and tokens) or other credentials (GITHUB_TOKEN, ACTIONS_*, cloud keys)."""
    return {
        name: value
        for name, value in environ.items()
        if name in _KEPT_VARIABLES or name.upper() in _KEPT_VARIABLES or name.startswith(_KEPT_PREFIXES)
    }


def _is_instance(value: Any, types: type | tuple[type, ...]) -> bool:
    return isinstance(value, types)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        process.kill()


def parse_sarif_run(data: bytes, what: str) -> Mapping[str, Any]:
    """Trivy's stdout -> its one SARIF run; anything else is a ``RuntimeFailure``."""
    try:
        log = json.loads(data)
    except (ValueError, RecursionError):
        raise RuntimeFailure(f"{what}: output is not JSON: {_tail(data.decode('utf-8', 'replace'))!r}") from None
    if not isinstance(log, dict) or not isinstance(log.get("runs"), list):
        raise RuntimeFailure(f"{what}: output is not a SARIF log (no runs list)")
    runs = log["runs"]
    if len(runs) != 1 or not isinstance(runs[0], dict):
        raise RuntimeFailure(f"{what}: expected exactly one SARIF run, got {len(runs)}")
    run = runs[0]
    tool = run.get("tool")
    driver = tool.get("driver") if isinstance(tool, dict) else None
    if not isinstance(driver, dict) or not isinstance(driver.get("name"), str):
        raise RuntimeFailure(f"{what}: SARIF run has no tool.driver.name")
    if not isinstance(run.get("results", []), list):
        raise RuntimeFailure(f"{what}: SARIF run results is not a list")
    return run


def _stderr_note(stderr: bytes | None) -> str:
    text = _tail(_ANSI.sub("", (stderr or b"").decode("utf-8", "replace")))
    return f": {text}" if text else ""


def _tail(text: str, limit: int = 2000) -> str:
    text = "".join(c if c.isprintable() or c == "\n" else " " for c in text).strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def from_options(options: Mapping[str, Any], log: Log = ignore) -> TrivyScanner:
    """The registry's factory: ``gate.scanners.base.get_scanner("trivy", options)``; Trivy logs nothing through ``log``."""
    return TrivyScanner(TrivyOptions.from_mapping(options))
