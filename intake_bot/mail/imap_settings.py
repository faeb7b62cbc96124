"""What an IMAP mailbox's settings must be, and the name it goes by when it has none."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote

from intake_bot.mail.imap_login import Credential

TLS_MODES = ("ssl", "starttls", "none")


def check_settings(
    tls: str,
    host: str,
    password: str | None,
    oauth2_token: Credential | None,
    flag_keyword: str,
    allow_plain_auth: bool,
) -> None:
    """ValueError naming the first setting that is wrong."""
    if tls not in TLS_MODES:
        raise ValueError(f"tls must be one of {', '.join(TLS_MODES)}, not {tls!r}")
    if not password and not oauth2_token:
        raise ValueError("an IMAP password or an OAuth2 token is needed")
    if tls == "none" and not (allow_plain_auth or is_loopback(host)):
        raise ValueError(f"refusing to log in to {host} without TLS (allow_plain_auth is off)")
    if not flag_keyword or flag_keyword.startswith("\\") or set(flag_keyword) & set(' (){%*"]'):
        raise ValueError(f"flag_keyword must be an IMAP keyword, not {flag_keyword!r}")


def is_loopback(host: str) -> bool:
    """localhost or a loopback address: where a test server may go without TLS."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mailbox_name(username: str, host: str, port: int, folder: str) -> str:
    shown_host = f"[{host}]" if ":" in host else host
    return f"imap://{quote(username, safe='')}@{shown_host}:{port}/{quote(folder, safe='/')}"
