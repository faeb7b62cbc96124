"""The ODS organisation list: `ods import` (published files in, what changed out), and the staff's
succession reviews (`ods reviews`, `ods decide`).

An import reads every file first (a bad one changes nothing), then in one transaction brings the
list up to date, records the successions, opens a review item for each relationship in force
whose organisation has closed (and tells its requester and authoriser), and records one audit
event. Importing the same files again changes nothing and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path

from intake_bot.domain.ods_views import FileRead, ImportReport, ReviewItem
from intake_bot.domain.organisations import (
    OPEN,
    Change,
    OdsError,
    OdsFile,
    OrgEntry,
    Succession,
    SuccessionEntry,
    last_entries,
    merge_entry,
    new_organisation,
    succession_change,
)
from intake_bot.domain.staff import sees_office
from intake_bot.domain.succession_circles import same_day_circle
from intake_bot.ports import Clock, Store, Unit
from intake_bot.services import audit
from intake_bot.services.notify import Notifier
from intake_bot.services.ods_rechecks import recheck_decided
from intake_bot.services.ods_review_items import organisation_index, review_items
from intake_bot.services.ods_reviews import decide_review, open_reviews, withdraw_if_stale
from intake_bot.working_days import today_in_england

log = logging.getLogger(__name__)

IMPORT_ACTION = "ods_import"


@dataclass(kw_only=True)
class Organisations:
    """The ODS organisation list and the succession reviews, as operators and staff use them."""

    store: Store
    notifier: Notifier
    clock: Clock
    read_file: Callable[[Path], OdsFile]  # raises OdsError naming the file, line and problem

    def import_files(self, paths: Sequence[Path], *, actor: str) -> ImportReport:
        """Load ODS's published files; what changed (opened, closed, renamed, succeeded...)
        and the review items opened. Raises OdsError, before writing anything, for a bad file."""
        files, problems = [], []
        for path in paths:  # every file's problems named at once, not the first file's alone
            try:
                files.append(self.read_file(path))
            except OdsError as exc:
                problems.append(str(exc))
        if problems:
            raise OdsError("\n".join(problems))
        orgs, successions = last_entries(files)
        now = self.clock()
        with self.store.unit() as unit:
            unit.organisations.lock_list()
            changes = _apply_organisations(unit, orgs, now)
            reopened = {c.code for c in changes if c.what == "reopened"}
            changes += _apply_successions(unit, successions, reopened)
            _refuse_circles(unit, files)  # raised inside the unit: nothing is loaded
            reviews = open_reviews(unit, self.notifier, now, today_in_england(now), changes)
            changes += recheck_decided(unit, organisation_index(unit), now)
            report = ImportReport(tuple(_file_read(f) for f in files), tuple(changes), reviews)
            names = ", ".join(f.name for f in files)
            left = sum(len(f.left_out) for f in files)
            note = f"{names}: {report.summary()}" + (f"; records left out: {left}" if left else "")
            audit.record(unit, action=IMPORT_ACTION, at=now, actor=actor, note=note)
        log.info(
            "ods import: %d file%s, %s",
            len(files),
            "" if len(files) == 1 else "s",
            report.summary(),
        )
        return report

    def reviews(
        self, *, include_decided: bool = False, offices: Sequence[str] | None = None
    ) -> list[ReviewItem]:
        """The open review items (or every one), oldest first; those of the relationships of
        `offices` only, when given (a staff account's; None: every office)."""
        today = today_in_england(self.clock())
        with self.store.unit() as unit:
            return review_items(unit, None if include_decided else "open", today, offices)

    def waiting(self, offices: Sequence[str] | None = None) -> int:
        """How many review items wait for a decision (of `offices` only, when given), without
        reading the organisation list their full view names successors from."""
        with self.store.unit() as unit:
            if offices is None:
                return unit.organisations.count_reviews(OPEN)
            return sum(
                1
                for review in unit.organisations.reviews(OPEN)
                if (rel := unit.register.get(review.relationship_id)) is not None
                and sees_office(offices, rel.dscro)
            )

    def decide(
        self,
        review_id: int,
        decision: str,
        *,
        actor: str,
        to: str | None = None,
        note: str = "",
        offices: Sequence[str] | None = None,
    ) -> ReviewItem:
        """Staff's decision on a review item: "carry" the relationship over to the successor (a
        new version naming it; `to` picks one of several) or "end" it, and tell the relationship's
        requester and authoriser. Raises OdsError when the decision cannot be made (an unknown
        or decided item, another office's when `offices` is given, no single successor).
        Decisions and imports take the list's lock first: two decisions on one item at once
        are one decision and one "decided already"."""
        now = self.clock()
        with self.store.unit() as unit:  # its own unit: the withdrawal stands, the refusal too
            unit.organisations.lock_list()
            why = withdraw_if_stale(unit, self.notifier, review_id, now, offices)
        if why:
            raise OdsError(f"ODS-{review_id} was withdrawn: {why}; nothing to decide")
        with self.store.unit() as unit:
            unit.organisations.lock_list()
            return decide_review(
                unit,
                self.notifier,
                review_id,
                decision,
                now=now,
                actor=actor,
                to=to,
                note=note,
                offices=offices,
            )


def _refuse_circles(unit: Unit, files: Sequence[OdsFile]) -> None:
    circle = same_day_circle(unit.organisations.successions())
    if not circle:
        return
    steps = set(pairwise(circle))
    named = [f.name for f in files if any((s.old_code, s.new_code) in steps for s in f.successions)]
    if not named:  # a circle none of these files gives (loaded before this check): not theirs
        return
    where, path = ", ".join(named), " → ".join(circle)
    raise OdsError(
        f"{where}: the successions {path} take effect on one day and go round in a circle, so "
        "no organisation would hold the work: correct the file (nothing was loaded)"
    )


def _file_read(f: OdsFile) -> FileRead:
    return FileRead(f.name, f.format, len(f.organisations), len(f.successions), f.left_out)


def _apply_organisations(unit: Unit, entries: Sequence[OrgEntry], now: datetime) -> list[Change]:
    kept = {org.code: org for org in unit.organisations.all()}
    changes: list[Change] = []
    for entry in sorted(entries, key=lambda e: e.code):
        org = kept.get(entry.code)
        if org is None:
            org, change = new_organisation(entry, now)
            unit.add(org)
            changes.append(change)
        else:
            changes += merge_entry(org, entry, now)
    return changes


def _apply_successions(
    unit: Unit, entries: Sequence[SuccessionEntry], reopened: set[str]
) -> list[Change]:
    """The successions as the files give them. For each code the files list successors of
    (succ.csv, the old code's own FHIR record), they are the whole list: a successor they no
    longer give (a corrected file) is dropped; a successor's own record naming its predecessor
    only adds. Those of a code whose closure ODS withdrew (`reopened`) are dropped unless the
    files give them again: an open organisation with no close date has no successor yet."""
    kept = {(s.old_code, s.new_code): s for s in unit.organisations.successions()}
    given = {(e.old_code, e.new_code) for e in entries}
    named = {e.old_code for e in entries if not e.partial}
    covered = named | reopened
    changes: list[Change] = []
    for (old, new), succession in sorted(kept.items()):
        if old in covered and (old, new) not in given:
            unit.organisations.drop_succession(succession)
            why = "not in the files" if old in named else f"{old} no longer closes"
            changes.append(Change("succession dropped", old, f"{old} → {new}: {why}"))
    for entry in sorted(entries, key=lambda e: (e.old_code, e.new_code)):
        found = kept.get((entry.old_code, entry.new_code))
        if found is None:
            unit.add(Succession(entry.old_code, entry.new_code, entry.effective_on, entry.reason))
            changes.append(succession_change(entry))
            continue
        # What one file does not say (FHIR gives no reason) keeps what another said.
        said = (entry.effective_on or found.effective_on, entry.reason or found.reason)
        if (found.effective_on, found.reason) != said:
            found.effective_on, found.reason = said
            changes.append(Change("updated", entry.old_code, f"succession → {entry.new_code}"))
    unit.flush()
    return changes
