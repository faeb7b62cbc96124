"""What staff can get wrong when they move requests and messages along.

The requests, queues, messages and digests use cases raise these; each message says what was
wrong in words staff can act on. An unknown name (a reference, a queue, an office) is a
`NotFoundError`; anything else is a refusal.
"""

from __future__ import annotations

from collections.abc import Sequence


class WorkflowError(Exception):
    """Staff asked for something that cannot be done; the message says why."""


class NotFoundError(WorkflowError):
    """A reference or a name that names nothing."""


class LifecycleError(WorkflowError):
    """A request cannot change as asked (e.g. an illegal status change)."""


class UnknownRequestError(LifecycleError, NotFoundError):
    """No request has that reference."""


class MessageError(WorkflowError):
    """An archived message cannot be handled as asked (e.g. it is not awaiting staff)."""


class UnknownMessageError(MessageError, NotFoundError):
    """No archived message has that id."""


class UnknownOfficeError(NotFoundError):
    """No regional office has that name or alias."""


class UnknownQueueError(NotFoundError):
    """A queue name that matches no queue; `known` lists the real ones."""

    def __init__(self, name: str, message: str, known: Sequence[str]) -> None:
        super().__init__(message)
        self.name = name
        self.known = tuple(known)
