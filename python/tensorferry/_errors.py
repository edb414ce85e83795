"""The exceptions of tensorferry: one class per exit code of the `tensorferry` command, each
carrying where it happened (path, tensor, offset) where that is known."""
from __future__ import annotations

import builtins
from typing import Any, Optional


class Error(Exception):
    """Base class. `exit_code` is the CLI's for the same failure; `path`, `tensor` and `offset`
    (a byte offset in `path`) are None where unknown; str(error) is the message the CLI prints."""

    exit_code: int = 0

    def __init__(self, text: str, message: str = "", path: Optional[str] = None,
                 tensor: Optional[str] = None, offset: Optional[int] = None):
        super().__init__(text)
        self.message = message or text
        self.path = path or None
        self.tensor = tensor or None
        self.offset = offset

    def __str__(self) -> str:
        return str(self.args[0])


class VerifyError(Error):
    """A conversion was checked and does not hold (exit code 1). `report` is the conversion's
    report, whose `verify` says which stage diverged."""

    exit_code = 1

    def __init__(self, text: str, report: Any = None, path: Optional[str] = None):
        super().__init__(text, text, path)
        self.report = report


class UsageError(Error, ValueError):
    """The call asked for something that cannot be done (exit code 2)."""

    exit_code = 2


class BadInputError(Error, ValueError):
    """A file is malformed, hostile, truncated or unsupported (exit code 3)."""

    exit_code = 3


class IOError(Error, builtins.OSError):  # noqa: A001 - the CLI's name for exit code 4
    """The operating system refused: open, read, write, rename, disk full (exit code 4). Also an
    OSError (the built-in IOError)."""

    exit_code = 4

    def __init__(self, text: str, message: str = "", path: Optional[str] = None,
                 tensor: Optional[str] = None, offset: Optional[int] = None):
        Error.__init__(self, text, message, path, tensor, offset)
        self.filename = self.path


_BY_EXIT_CODE = {c.exit_code: c for c in (VerifyError, UsageError, BadInputError, IOError)}


def error_from_core(exit_code: int, text: str, message: str, path: str, tensor: str,
                    offset: Optional[int]) -> Error:
    """The exception for a tensorferry::Error thrown by the C++ core (called by _core)."""
    cls = _BY_EXIT_CODE.get(exit_code, BadInputError)
    if cls is VerifyError:
        return VerifyError(text, None, path or None)
    return cls(text, message, path, tensor, offset)
