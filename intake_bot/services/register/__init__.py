"""The register of relationships: approved requests applied to it (apply.py), the listing and the
published spreadsheet (listing.py, sheets.py), and loading a register kept by hand (importing.py).

`Register` is the use case entry points call; other services apply approved requests inside
their own transaction with `apply_approved_request`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from intake_bot.domain.register import RegisterError
from intake_bot.domain.register_history import RelationshipHistory
from intake_bot.domain.register_view import ImportReport, RegisterRow
from intake_bot.ports import Clock, Store
from intake_bot.services.register.apply import apply_approved_request
from intake_bot.services.register.history import DEFAULT_EVENTS, relationship_history
from intake_bot.services.register.importing import import_register
from intake_bot.services.register.listing import Export, export_register, register_rows
from intake_bot.working_days import today_in_england

if TYPE_CHECKING:
    from intake_bot.services.notify import Notifier

__all__ = ["Export", "Register", "RegisterError", "apply_approved_request"]


class Register:
    """The register of relationships, as staff list, publish and load it."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        dscros: Sequence[str],
        office_aliases: Mapping[str, Sequence[str]] | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.dscros = tuple(dscros)  # the regional offices an imported DSCRO must name
        self.office_aliases = dict(office_aliases or {})  # or may name by an alias ("M&E")
        self.notifier = notifier  # tells the contacts of a loaded relationship's review items

    def rows(self, *, published_only: bool = True) -> list[RegisterRow]:
        """Today's register, by reference: the published relationships, or every one with why
        it is not published and whether its legal basis has expired."""
        return register_rows(self.store, self._today(), published_only=published_only)

    def export(self, path: Path, fmt: str | None = None) -> Export:
        """Write today's published register to `path`: .xlsx or .csv, as its extension says (a
        `fmt` given must agree). Raises RegisterError for any other name, before writing."""
        return export_register(self.store, self._today(), path, fmt)

    def import_file(self, path: Path, *, dry_run: bool, actor: str) -> ImportReport:
        """Load a register kept by hand (.xlsx or .csv), all rows in one transaction, and report
        each row: loaded, merged, unchanged or refused with every reason. A dry run writes
        nothing. Raises RegisterError for a file that cannot be read."""
        now = self.clock()
        report = import_register(
            self.store,
            path,
            now=now,
            dry_run=dry_run,
            actor=actor,
            dscros=self.dscros,
            office_aliases=self.office_aliases,
        )
        if not dry_run and (report.loaded or report.merged) and self.notifier is not None:
            # A relationship loaded may name an organisation ODS says has closed: its item now.
            from intake_bot.services.ods_reviews import follow_register

            touched = [line.reference for line in (*report.loaded, *report.merged)]
            follow_register(self.store, self.notifier, now, touched)
        return report

    def history(self, reference: str, *, limit: int = DEFAULT_EVENTS) -> RelationshipHistory:
        """A relationship's versions and the newest `limit` audit events about it, staff
        decisions on its review items included. Raises RegisterError for a reference the
        register lacks."""
        return relationship_history(self.store, reference, limit=limit)

    def _today(self) -> date:
        return today_in_england(self.clock())
