"""HTTP for registries: scheme choice, timeouts, retries, manual redirects, capped reads, errors.

- Loopback hosts (127.0.0.0/8, ::1, localhost) speak plain HTTP; every other host HTTPS
  unless it is listed as an insecure registry.
- Retries: 408, 429, 5xx and connection errors, plus 404 when the caller says a
  404 is transient (a blob that was just listed); exponential backoff with jitter, a
  ``Retry-After`` honoured up to a cap, a bounded number of attempts. A request whose body
  is a stream is never retried here (the caller re-opens its source).
- Redirects are followed by hand for GET and HEAD only, and ``Authorization`` is only
  ever sent to the host that was asked first (blob GETs redirect to storage elsewhere).
- Reading a body has a deadline besides the socket's per-read timeout (which a registry
  sending one byte at a time never trips): a capped read (manifest, list page, token) must
  end within the client's read deadline, and a streamed blob must deliver each chunk within
  the read timeout (the stall guard) and the whole within a budget proportional to its size.
  One watchdog thread shuts the socket of an answer whose time is up.
- Registry answers become one-line errors: the distribution error JSON
  (``errors[].code/message``) is read, 404 -> ``NotFound``, 401/403 -> ``Denied``, other 4xx
  -> ``BadRequest`` (all ``InputError``); 5xx and unreachable hosts -> ``RuntimeFailure``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol
from urllib.parse import urljoin, urlsplit

from gate.errors import InputError, RuntimeFailure
from gate.outcome import ignore

if TYPE_CHECKING:  # http.client (and the email parser it loads) come with the first connection: code that
    # only names this module's errors (most of image-gate, every --help) does not pay for them
    from gate.oci.connections import Answer

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_ERROR_BODY = 64 * 1024
MAX_BUFFERED_BODY = 4 * 1024 * 1024  # an answer nobody streams (PUT, POST, DELETE, token): read whole, capped
DEFAULT_READ_DEADLINE = 120.0
MIN_BLOB_RATE = 256 * 1024  # bytes per second a blob download must average (beyond the deadline floor)
USER_AGENT = "image-gate/0.1 (+https://github.com/)"


class NotFound(InputError):
    """The registry says the repository, manifest, blob or tag does not exist."""


class Denied(InputError):
    """The registry refused our credentials or our access (401/403)."""


class BadRequest(InputError):
    """The registry rejected what we asked (another 4xx): a bad reference, an invalid manifest."""


class RegistryFailure(RuntimeFailure):
    """The registry failed (5xx after retries, a protocol violation)."""


class Unreachable(RegistryFailure):
    """No answer at all: DNS, connection refused or reset, timeout (after retries)."""


class ResponseTooLarge(RegistryFailure):
    """An answer larger than the cap for its kind (manifest, token, error body)."""


class AnswerTooSlow(RegistryFailure):
    """A body that did not arrive in time: over its total deadline, or (``stalled``) no chunk
    within the read timeout."""

    def __init__(self, message: str, *, stalled: bool = False) -> None:
        super().__init__(message)
        self.stalled = stalled


class AnswerLike(Protocol):
    """What the error, retry and challenge readers need of an answer (a ``gate.oci.connections.Answer``,
    or a ``requests.Response`` of the callers that still use requests)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def reason(self) -> str | None: ...

    @property
    def content(self) -> bytes | None: ...

    def iter_content(self, chunk_size: int) -> Iterator[Any]: ...

    def close(self) -> None: ...


def network_errors() -> tuple[type[BaseException], ...]:
    """What a broken or timed-out connection raises (``gate.oci.connections.NETWORK_ERRORS``)."""
    from gate.oci.connections import NETWORK_ERRORS

    return NETWORK_ERRORS


def blob_read_budget(size: int, floor: float) -> float:
    """Seconds a blob of ``size`` bytes may take to arrive: ``floor`` plus ``MIN_BLOB_RATE``."""
    return floor + max(0, size) / MIN_BLOB_RATE


class _Watchdog:
    """One daemon thread that fires the callbacks of armed deadlines (it shuts sockets down).

    Memory is bounded by the number of answers being read at once: an answer holds at most one
    deadline, re-armed per read; the thread only wakes early when a sooner deadline arrives."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, Callable[[], None]]] = {}
        self._next_wake = math.inf
        self._thread: threading.Thread | None = None

    def arm(self, key: int, seconds: float, fire: Callable[[], None]) -> None:
        when = time.monotonic() + max(0.0, seconds)
        with self._cond:
            self._armed[key] = (when, fire)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="gate-http-watchdog", daemon=True)
                self._thread.start()
            if when < self._next_wake:
                self._cond.notify()

    def disarm(self, key: int) -> None:
        with self._cond:
            self._armed.pop(key, None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for key in [key for key, (when, _) in self._armed.items() if when <= now]:
                    _, fire = self._armed.pop(key)
                    with contextlib.suppress(Exception):  # the watchdog must outlive any one answer
                        fire()
                self._next_wake = min((when for when, _ in self._armed.values()), default=math.inf)
                self._cond.wait(None if self._next_wake == math.inf else self._next_wake - now)


_WATCHDOG = _Watchdog()


def _socket_of(response: AnswerLike) -> socket.socket | None:
    own = getattr(response, "socket", None)
    if isinstance(own, socket.socket):
        return own
    raw = getattr(response, "raw", None)
    connection = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        return sock
    fp = getattr(getattr(raw, "_fp", None), "fp", None)
    sock = getattr(getattr(fp, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


class ReadClock:
    """How long reading one body may take: ``budget`` seconds of reading in all (time the consumer
    spends between chunks does not count), and each chunk within ``stall`` seconds."""

    def __init__(self, budget: float, stall: float) -> None:
        self.budget = budget
        self.stall = stall
        self.spent = 0.0


def timed_chunks(response: AnswerLike, chunk_size: int, clock: ReadClock, what: str) -> Iterator[bytes]:
    """``response.iter_content(chunk_size)`` under ``clock``: when a chunk or the whole is late,
    the socket is shut down and ``AnswerTooSlow`` raised (``stalled`` for a late chunk)."""
    chunks = response.iter_content(chunk_size)
    key = id(chunks)
    fired: list[bool] = []  # [stalled] once the watchdog has cut the answer

    def cut(stalled: bool) -> Callable[[], None]:
        def fire() -> None:
            fired.append(stalled)
            sock = _socket_of(response)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        return fire

    def late() -> AnswerTooSlow:
        if fired[0]:
            return AnswerTooSlow(f"{what}: no data for {clock.stall:g} s (the answer stalled)", stalled=True)
        return AnswerTooSlow(f"{what}: the answer took longer than {clock.budget:g} s")

    while True:
        remaining = clock.budget - clock.spent
        if remaining <= 0:
            fired.append(False)
            raise late()
        stalls_first = clock.stall < remaining
        started = time.monotonic()
        _WATCHDOG.arm(key, min(clock.stall, remaining), cut(stalls_first))
        try:
            chunk = next(chunks, None)
        except network_errors() as exc:
            if fired:
                raise late() from exc
            raise
        finally:
            _WATCHDOG.disarm(key)
            clock.spent += time.monotonic() - started
        if fired:
            raise late()
        if chunk is None:
            return
        yield chunk


def is_loopback(host: str) -> bool:
    """``host`` (without port) is 127.0.0.0/8, ::1 or localhost."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_host(netloc: str) -> str:
    """``host[:port]`` or ``[v6]:port`` -> the host part."""
    if netloc.startswith("["):
        return netloc[1 : netloc.find("]")] if "]" in netloc else netloc
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


def scheme_for(registry: str, insecure_registries: Iterable[str] = ()) -> str:
    """``http`` for loopback and listed insecure registries (``host`` or ``host:port``), else ``https``."""
    insecure = {entry.strip().lower() for entry in insecure_registries if entry.strip()}
    netloc = registry.lower()
    if is_loopback(split_host(netloc)) or netloc in insecure or split_host(netloc) in insecure:
        return "http"
    return "https"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. ``attempts`` counts the first try."""

    attempts: int = 5
    initial_wait: float = 0.25
    max_wait: float = 8.0
    jitter: float = 0.25
    retry_after_cap: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Wait before try ``attempt + 1`` (``attempt`` >= 1): exponential with jitter, capped."""
        wait: float = min(self.max_wait, self.initial_wait * 2.0 ** (attempt - 1))
        return wait + random.uniform(0, self.jitter)


def retry_after_seconds(response: AnswerLike, cap: float) -> float | None:
    """The ``Retry-After`` of an answer (seconds or HTTP date), capped; None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            from email.utils import parsedate_to_datetime

            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds:  # NaN
        return None
    return max(0.0, min(cap, seconds))


def describe_answer(response: AnswerLike) -> str:
    """``404 MANIFEST_UNKNOWN: manifest unknown`` from the distribution error JSON, or the status line.

    Reads at most ``MAX_ERROR_BODY`` bytes of a body nobody else needs (an error answer).
    """
    status = f"{response.status_code}"
    body = _error_body(response)
    details: list[str] = []
    try:
        document = json.loads(body) if body else None
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("errors"), list):
        for error in document["errors"][:3]:
            if isinstance(error, dict):
                code = str(error.get("code") or "").strip()
                message = str(error.get("message") or "").strip()
                details.append(": ".join(part for part in (code, message) if part))
    elif isinstance(document, dict) and isinstance(document.get("details") or document.get("error"), str):
        details.append(str(document.get("details") or document.get("error")))
    elif body and response.headers.get("Content-Type", "").startswith("text/"):
        details.append(body.decode("utf-8", "replace").strip())
    text = "; ".join(detail for detail in details if detail) or (response.reason or "").strip()
    text = " ".join(text.split())[:300]
    return f"{status} {text}".strip()


def _error_body(response: AnswerLike) -> bytes:
    if getattr(response, "_content_consumed", False):
        return (response.content or b"")[:MAX_ERROR_BODY]
    body = bytearray()
    clock = ReadClock(DEFAULT_READ_DEADLINE, DEFAULT_READ_DEADLINE)
    with contextlib.suppress(Exception):  # the status line alone still says enough
        for chunk in timed_chunks(response, 16 * 1024, clock, "an error answer"):
            body += chunk
            if len(body) >= MAX_ERROR_BODY:
                break
    return bytes(body[:MAX_ERROR_BODY])


def raise_for_answer(response: AnswerLike, what: str, registry: str) -> NoReturn:
    """Raise the error that fits ``response``: ``cannot <what>: <registry> answered <status> <code>: <message>``."""
    answer = describe_answer(response)
    response.close()
    raise_for_status(response.status_code, f"cannot {what}: {registry} answered {answer}")


def raise_for_status(status: int, message: str) -> NoReturn:
    """The one mapping of a registry's HTTP status to an error: 404 -> ``NotFound``, 401/403 ->
    ``Denied``, another 4xx that no retry could fix -> ``BadRequest`` (all ``InputError``);
    408, 429, 5xx and anything else -> ``RegistryFailure``."""
    if status == 404:
        raise NotFound(message)
    if status in (401, 403):
        raise Denied(message, hint="check the credentials for this registry and their access to the repository")
    if 400 <= status < 500 and status not in RETRY_STATUSES:
        raise BadRequest(message)
    raise RegistryFailure(message)


def read_capped(response: AnswerLike, limit: int, what: str, *, deadline: float = DEFAULT_READ_DEADLINE) -> bytes:
    """The whole body, refusing anything over ``limit`` bytes (checked as it arrives) or taking
    longer than ``deadline`` seconds (``AnswerTooSlow``)."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        response.close()
        raise ResponseTooLarge(f"{what}: the answer is {declared} bytes, over the {limit}-byte limit")
    buffer = bytearray()
    try:
        for chunk in timed_chunks(response, 64 * 1024, ReadClock(deadline, deadline), what):
            buffer += chunk
            if len(buffer) > limit:
                raise ResponseTooLarge(f"{what}: the answer is over the {limit}-byte limit")
    except network_errors() as exc:
        raise Unreachable(f"{what}: the connection broke while reading the answer ({type(exc).__name__})") from exc
    finally:
        response.close()
    return bytes(buffer)


class HttpClient:
    """Registry requests with the rules above, over pooled keep-alive connections
    (``gate.oci.connections``). Thread-safe for concurrent requests."""

    def __init__(
        self,
        *,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 120.0),
        read_deadline: float | None = None,
        max_redirects: int = 5,
        pool_size: int = 16,
        log: Callable[[str], None] = ignore,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        # A whole capped answer must arrive within this (default: the read timeout); a blob
        # within this plus its size at MIN_BLOB_RATE.
        self.read_deadline = read_deadline if read_deadline is not None else timeout[1]
        self.max_redirects = max_redirects
        self.log = log
        self.sleep = sleep
        from gate.oci.connections import ConnectionPool

        self.connections = ConnectionPool(size=pool_size, timeout=timeout, user_agent=USER_AGENT)

    def close(self) -> None:
        self.connections.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | list[str]] | None = None,
        data: bytes | Iterable[bytes] | None = None,
        stream: bool = False,
        authorization: str | None = None,
        transient_not_found: bool = False,
        what: str = "reach the registry",
    ) -> Answer:
        """Send with retries and manual redirects; returns the final answer (any status).

        A retryable status still present after the last attempt is returned, so the caller
        reports the registry's own words; a network failure after the last attempt raises
        ``Unreachable``. ``what`` names the operation in that message.
        """
        replayable = data is None or isinstance(data, bytes)
        attempts = self.retry.attempts if replayable else 1
        statuses = RETRY_STATUSES | ({404} if transient_not_found else frozenset())
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._follow(method, url, headers, params, data, authorization)
                if response.status_code not in statuses:
                    if not stream:
                        self._buffer(response, what)
                    return response
                if attempt >= attempts:
                    return response
                wait = retry_after_seconds(response, self.retry.retry_after_cap)
                reason = f"answer {response.status_code}"
                response.close()
            except network_errors() as exc:
                if attempt >= attempts:
                    raise Unreachable(
                        f"cannot {what}: {url_host(url)} is unreachable after {attempts} attempt(s) "
                        f"({_network_reason(exc)})"
                    ) from exc
                wait, reason = None, type(exc).__name__
            self.log(f"{method} {redact_url(url)}: {reason}; retry {attempt}/{attempts - 1}")
            self.sleep(self.retry.backoff(attempt) if wait is None else wait)

    def _buffer(self, response: Answer, what: str) -> None:
        """Read an answer the caller does not stream, capped and under the read deadline; a broken
        connection propagates (the request may be retried)."""
        buffer = bytearray()
        clock = ReadClock(self.read_deadline, self.read_deadline)
        try:
            for chunk in timed_chunks(response, 64 * 1024, clock, f"cannot {what}"):
                buffer += chunk
                if len(buffer) > MAX_BUFFERED_BODY:
                    raise ResponseTooLarge(f"cannot {what}: the answer is over the {MAX_BUFFERED_BODY}-byte limit")
        finally:
            response.close()
        response._content = bytes(buffer)
        response._content_consumed = True

    def _follow(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str | list[str]] | None,
        data: bytes | Iterable[bytes] | None,
        authorization: str | None,
    ) -> Answer:
        origin = urlsplit(url)
        current = url
        current_params = params
        length = len(data) if isinstance(data, Sized) else None
        for _ in range(self.max_redirects + 1):
            target = urlsplit(current)
            send_headers = dict(headers or {})
            # Credentials only to the host we were asked to talk to, and never in clear text
            # to a host reached by a redirect.
            if authorization and target.netloc == origin.netloc and target.scheme == origin.scheme:
                send_headers["Authorization"] = authorization
            response = self.connections.send(
                method, current, headers=send_headers, params=current_params, body=data, length=length
            )
            if response.status_code not in REDIRECT_STATUSES or method not in ("GET", "HEAD"):
                return response
            location = response.headers.get("Location")
            if not location:
                return response
            response.close()
            next_url = urljoin(response.url, location)
            if urlsplit(next_url).scheme not in ("http", "https"):
                raise RegistryFailure(f"{url_host(url)} redirected to an unsupported URL scheme")
            if target.scheme == "https" and urlsplit(next_url).scheme == "http":
                raise RegistryFailure(f"{url_host(url)} redirected from HTTPS to plain HTTP; refusing to follow")
            current = next_url
            current_params = None
        raise RegistryFailure(f"{url_host(url)}: more than {self.max_redirects} redirects for {method} {origin.path}")


def _network_reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "reset by peer", "Read timed out"):
        if marker.lower() in text.lower():
            return marker.lower()
    return type(exc).__name__


def url_host(url: str) -> str:
    """``host[:port]`` of ``url`` for messages: never the userinfo (``user:password@``) a URL may carry."""
    netloc = urlsplit(url).netloc.rpartition("@")[2]
    return netloc or "(no host)"


def redact_url(url: str) -> str:
    """``url`` for messages: no userinfo, no query (upload state, signed storage URLs with
    ``X-Amz-Signature`` and the like), no fragment."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{url_host(url)}{parts.path}"
