"""The port of the ODS organisation list: its organisations, successions and succession reviews
(`Unit.organisations`). New records are added with `Unit.add`; a record read in a unit and
changed is written when the unit commits."""

from __future__ import annotations

from typing import Protocol

from intake_bot.domain.organisations import OdsOrganisation, Succession, SuccessionReview


class OrganisationRepository(Protocol):
    def lock_list(self, wait_ms: int | None = None) -> None:
        """Hold the list until the unit ends, taken before anything is read: two imports at
        once apply one after the other (the second sees the first's work, and changes nothing
        it already changed) rather than both insert the same organisations. OdsError when
        another holds it for longer than `wait_ms` (by default, long enough for an import)."""
        ...

    def all(self) -> list[OdsOrganisation]:
        """Every organisation ODS has listed, by code."""
        ...

    def successions(self) -> list[Succession]: ...

    def drop_succession(self, succession: Succession) -> None:
        """Forget a succession ODS's files no longer give (written at the unit's commit)."""
        ...

    def index(self, config_codes: frozenset[str]) -> frozenset[str]:
        """The codes validation knows: config/'s, plus (once an ODS list has been imported)
        ODS's, as a `domain.organisations.OrganisationIndex` with their records."""
        ...

    def reviews(self, status: str | None = None) -> list[SuccessionReview]:
        """Succession reviews by id, all or those in `status` (open, carried, ended,
        withdrawn)."""
        ...

    def review(self, review_id: int) -> SuccessionReview | None: ...

    def count_reviews(self, status: str) -> int:
        """How many succession reviews are in `status`, without reading them."""
        ...

    def reviewed(self) -> set[tuple[int, str]]:
        """(relationship id, closed code) of every review made and not withdrawn: none is made
        twice, but a closure ODS withdrew and then made again is reviewed again."""
        ...
