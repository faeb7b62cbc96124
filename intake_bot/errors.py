"""The errors an operator fixes, as opposed to bugs.

Each part keeps its own exception family (ConfigError, StoreError, MailboxError, …); those whose
cause is outside the code (settings, an unreachable database, a mailbox that refuses the login)
inherit from OperatorError, so that an entry point can print one line instead of a traceback.
"""

from __future__ import annotations

from typing import ClassVar


class OperatorError(Exception):
    """A problem the operator fixes: the message says what is wrong and how to fix it."""

    # The setting to look at when the message does not name one already.
    setting: ClassVar[str | None] = None


class DatabaseUnavailableError(OperatorError):
    """The database could not be reached (wrong host or port, server down, refused login)."""

    setting = "database.url"
