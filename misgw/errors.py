"""Errors the user can act on: each carries one clear sentence, shown instead of a traceback."""


class UserError(Exception):
    """A problem the user can fix; its message is one clear sentence."""
