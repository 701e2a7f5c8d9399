"""The one error type for mistakes a user can fix (bad config, missing data file, bad CLI input).

The CLI prints its message on one line, without a traceback, and exits 2; everything else is a bug
and keeps its traceback.
"""


class UserError(Exception):
    """A mistake in what the user asked for; the message names the field or path and what is allowed."""

    exit_code = 2


class ConfigError(UserError):
    """An invalid configuration value."""

    def __init__(self, field: str, value, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}: {value!r} is not allowed; expected {allowed}")


class DataNotFoundError(UserError):
    """A dataset file is missing; the message lists every path tried and how to get the file."""

