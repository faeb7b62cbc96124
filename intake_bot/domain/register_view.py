"""What the register shows: a relationship as listed (and exported), and what an import did with
each row of a spreadsheet. Pure: no I/O; the register service builds these, entry points show them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from intake_bot.domain.legal_basis import Expiring, approvals_relied_on, legal_basis_expired
from intake_bot.domain.records import Relationship, RelationshipVersion
from intake_bot.domain.register import (
    EXPORT_COLUMNS,
    publishable,
    status_on,
    stored_date,
    stored_list,
    stored_text,
)


@dataclass(frozen=True)
class RegisterRow:
    """One relationship as listed: the published columns, then its state and why it is not
    published (empty when it is)."""

    reference: str
    commissioner_name: str
    commissioner_ods: str
    commissioner_type: str
    processor_name: str
    processor_ods: str
    processor_type: str
    dscro: str
    purposes: tuple[str, ...]
    s251_references: tuple[str, ...]
    contract_reference: str
    contract_start: date | None
    contract_end: date | None
    effective_from: date | None
    status: str
    ended_on: date | None
    version: int
    not_published: tuple[str, ...] = ()
    # The approvals relied on whose expiry day has come (domain/legal_basis.py).
    expired_approvals: tuple[str, ...] = ()

    @property
    def published(self) -> bool:
        """Whether the relationship is in the published register."""
        return not self.not_published

    @property
    def legal_basis(self) -> str:
        """The export's "Legal basis" column: "expired: CAG 7-04(a)/2013", or blank."""
        return f"expired: {', '.join(self.expired_approvals)}" if self.expired_approvals else ""

    def cells(self) -> list[object]:
        """The values of the published columns, in EXPORT_COLUMNS order."""
        return [getattr(self, column.key) for column in EXPORT_COLUMNS]

    def as_dict(self) -> dict[str, object]:
        """Everything, ready for JSON: dates in ISO form."""
        return {
            **{
                column.key: _json(value)
                for column, value in zip(EXPORT_COLUMNS, self.cells(), strict=True)
            },
            "status": self.status,
            "ended_on": _json(self.ended_on),
            "version": self.version,
            "published": self.published,
            "not_published": list(self.not_published),
            "legal_basis_expired": list(self.expired_approvals),
        }


def _json(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    return list(value) if isinstance(value, tuple) else value


def in_force(versions: Sequence[RelationshipVersion], today: date) -> RelationshipVersion | None:
    """The version in force on `today`: the newest that has begun (one with no date has always
    been in force); None when none has begun yet."""
    begun = [v for v in versions if v.effective_from is None or v.effective_from <= today]
    return max(begun, key=lambda v: v.version, default=None)


def terms_on(versions: Sequence[RelationshipVersion], day: date) -> RelationshipVersion | None:
    """The version whose terms hold on `day`, or, for a relationship whose terms all begin
    later, the first to begin (a decision dated before it takes effect when it does)."""
    found = in_force(versions, day)
    if found is not None or not versions:
        return found
    first = min(versions, key=lambda v: (v.effective_from or date.min, v.version))
    return in_force(versions, first.effective_from or day) or first


def in_force_after(versions: Sequence[RelationshipVersion], day: date) -> list[RelationshipVersion]:
    """The versions that come into force after `day`, each from its own date, in order: the
    history a version dated `day` would hide (a newer version wins from its date on), so
    a change inserted there repeats them after it. A version no day shows is left out."""
    later = sorted(
        {v.effective_from for v in versions if v.effective_from and v.effective_from > day}
    )
    shown: list[RelationshipVersion] = []
    for begins in later:
        version = in_force(versions, begins)
        if version is not None and version.effective_from == begins and version not in shown:
            shown.append(version)
    return shown


def register_row(
    rel: Relationship,
    version: RelationshipVersion,
    today: date,
    approvals: Iterable[Expiring] = (),
) -> RegisterRow:
    """One relationship as listed on `today`; `approvals`: the s251 register (legal basis)."""
    values = version.values
    text = {key: stored_text(values.get(key)) for key in _TEXT_KEYS}
    return RegisterRow(
        reference=rel.reference,
        commissioner_name=text["commissioner_name"],
        commissioner_ods=text["commissioner_ods"],
        commissioner_type=text["commissioner_type"],
        processor_name=text["processor_name"],
        processor_ods=text["processor_ods"],
        processor_type=text["processor_type"],
        dscro=text["dscro"],
        purposes=tuple(stored_list(values.get("purposes"))),
        s251_references=tuple(stored_list(values.get("s251_references"))),
        contract_reference=text["contract_reference"],
        contract_start=stored_date(values.get("contract_start")),
        contract_end=stored_date(values.get("contract_end")),
        effective_from=version.effective_from,
        status=status_on(rel.ended_on, today),
        ended_on=rel.ended_on,
        version=version.version,
        not_published=tuple(publishable(values, ended_on=rel.ended_on, today=today)),
        expired_approvals=tuple(legal_basis_expired(approvals_relied_on(values), approvals, today)),
    )


_TEXT_KEYS = (
    "commissioner_name",
    "commissioner_ods",
    "commissioner_type",
    "processor_name",
    "processor_ods",
    "processor_type",
    "dscro",
    "contract_reference",
)


# --- what an import did -------------------------------------------------------------------------


class ImportLine(NamedTuple):
    """A row that was loaded, merged or left unchanged."""

    row: int  # the row number in the sheet, as the spreadsheet program shows it
    reference: str
    note: str


class Refusal(NamedTuple):
    """A row that was refused, with every reason."""

    row: int
    reference: str  # "" when the row gave none
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, on a dry run, would do) with each row."""

    source: str
    sheet: str
    dry_run: bool
    loaded: tuple[ImportLine, ...] = ()
    merged: tuple[ImportLine, ...] = ()
    unchanged: tuple[ImportLine, ...] = ()
    refused: tuple[Refusal, ...] = ()
    ignored_columns: tuple[str, ...] = ()

    def lines(self) -> list[tuple[int, str, str, str]]:
        """(row, reference, outcome, detail) for every row, in sheet order."""
        found = [
            *((line.row, line.reference, "loaded", line.note) for line in self.loaded),
            *((line.row, line.reference, "merged", line.note) for line in self.merged),
            *((line.row, line.reference, "unchanged", line.note) for line in self.unchanged),
            *((r.row, r.reference, "refused", "; ".join(r.reasons)) for r in self.refused),
        ]
        return sorted(found)

    def summary(self) -> str:
        """ "2 loaded, 1 merged, 0 unchanged, 1 refused"."""
        return (
            f"{len(self.loaded)} loaded, {len(self.merged)} merged, "
            f"{len(self.unchanged)} unchanged, {len(self.refused)} refused"
        )

    def as_dict(self) -> dict[str, object]:
        """The report, ready for JSON."""
        return {
            "source": self.source,
            "sheet": self.sheet,
            "dry_run": self.dry_run,
            "loaded": [line._asdict() for line in self.loaded],
            "merged": [line._asdict() for line in self.merged],
            "unchanged": [line._asdict() for line in self.unchanged],
            "refused": [{**r._asdict(), "reasons": list(r.reasons)} for r in self.refused],
            "ignored_columns": list(self.ignored_columns),
        }
