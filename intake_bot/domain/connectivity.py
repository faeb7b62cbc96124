"""What `intake-bot check` found: one finding per step of reaching a mailbox or the outgoing
server (DNS, TCP, TLS, login, folders, ...), each saying in plain words what happened and, for a
fault, what to do. Plain data: the probes that make findings live with the mail adapters."""

from __future__ import annotations

from dataclasses import dataclass

OUTGOING = "outgoing"  # the subject of the outgoing server's findings


def mailbox_subject(name: str) -> str:
    """The subject of a mailbox's findings, as `run` and `status` name it."""
    return f"mailbox {name}"


@dataclass(frozen=True)
class Finding:
    """One step of one subject. A warning (a certificate about to expire) is `ok`, and said."""

    subject: str  # "mailbox enquiries", "outgoing"
    step: str  # "DNS", "TCP", "TLS", "login", "folder", ...
    ok: bool
    detail: str  # what was found, in plain words
    fix: str = ""  # what to do, for a fault or a warning
    warning: bool = False


@dataclass(frozen=True)
class CheckReport:
    """Every finding, in the order the steps ran (subject by subject)."""

    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """Everything works: no step failed (warnings do not count)."""
        return all(f.ok for f in self.findings)

    @property
    def faults(self) -> list[Finding]:
        return [f for f in self.findings if not f.ok]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.ok and f.warning]

    def by_subject(self) -> list[tuple[str, list[Finding]]]:
        """The findings grouped by subject, in the order the subjects were checked."""
        groups: dict[str, list[Finding]] = {}
        for finding in self.findings:
            groups.setdefault(finding.subject, []).append(finding)
        return list(groups.items())
