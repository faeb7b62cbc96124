"""Where a signed-in mailbox's tokens live between runs: one file, encrypted with the token key.

The refresh token in it stands for a person's sign-in to the enquiries mailbox, so it is never
on disk in clear: Fernet (AES-128-CBC with HMAC-SHA256) under a key from INTAKE_BOT_TOKEN_KEY or
`token_key_file`, written atomically and readable by the service's user only. Workers that share
the file take an exclusive lock while they renew a token, so that two of them never spend the
same rotating refresh token (the second would be refused, and the mailbox stop).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from intake_bot.ports_mail import CredentialsError


def fernet_key(secret: str) -> bytes:
    """A Fernet key from any secret string (a generated key or a long passphrase)."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


class EncryptedFile:
    def __init__(self, path: Path, key: str, *, fix: str) -> None:
        """`fix` says what to do when the file cannot be read (sign in again)."""
        self.path = path
        self._fernet = Fernet(fernet_key(key))
        self._fix = fix

    def read(self) -> str | None:
        """The stored text; None when nothing is stored yet. CredentialsError if unreadable."""
        try:
            sealed = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CredentialsError(
                f"cannot read the stored tokens in {self.path}: {exc.strerror}", fix=self._fix
            ) from exc
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken as exc:
            raise CredentialsError(
                f"the stored tokens in {self.path} do not open with this token key "
                "(INTAKE_BOT_TOKEN_KEY or token_key_file)",
                permanent=True,
                fix=f"restore the key that wrote them, or {self._fix}",
            ) from exc

    def write(self, text: str) -> None:
        """Replace the file in one step (a crash leaves the old or the new one, never half)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(self._fernet.encrypt(text.encode()))
            out.flush()
            os.fsync(out.fileno())
        partial.replace(self.path)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive across processes (flock on a lock file beside it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(f".{self.path.name}.lock")
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the lock

    def fingerprint(self) -> str:
        """Changes whenever the file is rewritten (a new sign-in, a renewed token)."""
        try:
            stat = self.path.stat()
        except OSError:
            return "none"
        return f"{stat.st_mtime_ns}:{stat.st_size}"
