"""Sending through Microsoft Graph (`graph://MAILBOX` as the outgoing URL): each finished email
goes as it is, MIME and all, to the mailbox's sendMail, so its Message-ID and Auto-Submitted
headers reach the recipient as we wrote them."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Sequence
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from pathlib import Path

import httpx

from intake_bot.config_mail import GRAPH_API
from intake_bot.mail.graph_http import GraphClient, GraphError, segment
from intake_bot.mail.tokens import TokenProvider
from intake_bot.ports import SendError

log = logging.getLogger(__name__)

# Statuses that say nothing about the message: try it again later.
_TEMPORARY = frozenset({401, 408, 429})


class GraphTransport:
    """sendMail of one mailbox (`ports.MailTransport`). Connects on first use.

    Graph sends to the recipients the message's own To, Cc and Bcc name (there is no envelope),
    so an email whose envelope names anyone else is refused here rather than sent short.
    A refusal (4xx) is permanent; throttling, a server error, no answer or no token is not.
    One send, throttled waits included, takes at most `timeout`.
    """

    def __init__(
        self,
        *,
        mailbox: str,
        tokens: TokenProvider,
        api_url: str = GRAPH_API,
        timeout: float = 60.0,
        ca_file: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """ValueError for an API URL that is not https (or plain http to a loopback host)."""
        self._http = GraphClient(
            api_url, tokens, timeout=timeout, ca_file=ca_file, sleep=sleep, transport=transport
        )
        self._timeout = timeout
        self._url = self._http.url(f"/users/{segment(mailbox)}/sendMail")
        self.name = f"graph://{mailbox}"

    def send(self, *, sender: str, recipients: Sequence[str], raw: bytes, message_id: str) -> None:
        """Hand `raw` to Graph to send; raises SendError (see `permanent`)."""
        missing = not_addressed(raw, recipients)
        if not recipients or missing:
            raise SendError(
                f"{message_id}: Graph sends only to the addresses the message's own headers "
                f"name; {len(missing) or 'no'} recipient(s) missing from them",
                permanent=True,
            )
        deadline = time.monotonic() + self._timeout
        try:
            reply = self._http.request(
                "POST",
                self._url,
                what=f"{self.name}: sending {message_id}",
                body=base64.b64encode(raw),
                content_type="text/plain",
                deadline=deadline,
            )
        except GraphError as exc:  # the network or throttling; CredentialsError goes up as it
            # is: the sign-in failed, not this email (the sender hands the batch back untouched)
            raise SendError(str(exc), permanent=False) from exc
        if reply.ok:
            log.info("sent %s by %s to %d recipient(s)", message_id, self.name, len(recipients))
            return
        status = reply.status
        permanent = 400 <= status < 500 and status not in _TEMPORARY
        raise SendError(str(reply.fault(f"{self.name}: sending {message_id}")), permanent=permanent)

    def close(self) -> None:
        self._http.close()


def not_addressed(raw: bytes, recipients: Sequence[str]) -> list[str]:
    """The recipients that the message's To, Cc and Bcc headers do not name."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    named = {
        address.casefold()
        for field in ("To", "Cc", "Bcc")
        for _, address in getaddresses([str(v) for v in headers.get_all(field, [])])
    }
    return [r for r in recipients if r.casefold() not in named]
