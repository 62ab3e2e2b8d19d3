"""The errors srcgrad raises on purpose.

Every error names *what* went wrong, *where* in the user's code (file and line) and, where there is
one, *what to write instead*. `SrcgradError` is the base of them all, so one ``except`` catches every
deliberate failure while genuine bugs in srcgrad still surface as ordinary Python exceptions.
"""
import errno
from contextlib import contextmanager


class SrcgradError(Exception):
    """Base class of every error srcgrad raises on purpose."""


class UnsupportedError(SrcgradError):
    """The user's function uses a construct srcgrad cannot differentiate."""


class ArgumentError(SrcgradError, TypeError):
    """A srcgrad function was called with arguments of the wrong kind."""


class ShapeError(ArgumentError, ValueError):
    """Arrays whose shapes do not fit together (a seed and the output, labels and predictions).

    Compiled code raises it directly, so a call from Python needs no wrapper to translate it."""


class NonFiniteError(SrcgradError, FloatingPointError):
    """Under ``debug_nans=True``: a value or gradient became nan or inf; the message names the
    user's line. Compiled code raises it directly."""


class CompileError(SrcgradError):
    """Numba rejected the generated code; the message points at the user's line."""


class StaleCacheError(SrcgradError, FileNotFoundError):
    """Cached machine code names a generated module that is gone, changed, or from another srcgrad.

    Raised while Numba loads the cache entry of a function that calls generated code. It is an
    ``OSError`` (ENOENT) because Numba's cache takes one for a file removed under it and compiles
    the function again (:mod:`srcgrad.codegen.cache`); the message is for a Numba that would not."""

    def __init__(self, message):
        super().__init__(message)
        self.errno = errno.ENOENT


def located(message, origin, hint=None):
    """Format ``message`` with the user's file and line (``origin``) and an optional hint."""
    text = message
    if origin is not None:
        text = f"{origin.where()}: {message}"
        if origin.text:
            text += f"\n    {origin.text.strip()}"
    if hint:
        text += f"\n  hint: {hint}"
    return text


@contextmanager
def at_line(origin):
    """Give an UnsupportedError raised without a location (by a rule, say) the user's line."""
    try:
        yield
    except UnsupportedError as exc:
        if getattr(exc, "located", False):
            raise
        error = UnsupportedError(located(str(exc), origin))
        error.located = True
        raise error from None
