"""Errors the user can act on: each carries one clear sentence, shown instead of a traceback."""


class UserError(Exception):
    """A problem the user can fix; its message is one clear sentence."""


class SourceBusy(UserError):
    """Another run of the same source is under way: this one does nothing. Worth trying again later."""
    retryable = True


class DatabaseUnavailable(RuntimeError):
    """The MIS database did not answer; the message says which one, without credentials (mis.db)."""
