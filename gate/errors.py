"""The one error base of image-gate.

Every failure the tool reports on purpose is a ``GateError``: it carries the exit
code the CLI returns and a human ``diagnostics()`` text naming what was wrong and
where (file, line, reference, registry answer). Anything else reaching the CLI is
a bug and is reported as such.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_POLICY = 1
EXIT_INPUT = 2
EXIT_RUNTIME = 3


class GateError(Exception):
    """Base of every error image-gate raises on purpose."""

    exit_code: int = EXIT_RUNTIME

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """A human text: what went wrong and, when known, what to do about it."""
        text = self.message
        if self.hint:
            text += f"\nhint: {self.hint}"
        return text


class InputError(GateError):
    """Bad usage or bad input: a file, a reference, an option value (exit 2)."""

    exit_code = EXIT_INPUT


class RuntimeFailure(GateError):
    """The environment failed us: unreachable registry, a tool that crashed (exit 3)."""

    exit_code = EXIT_RUNTIME
