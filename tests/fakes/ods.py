"""In-memory fake of the ODS organisation list's repository."""

from __future__ import annotations

from intake_bot.domain.organisations import (
    WITHDRAWN,
    OdsOrganisation,
    OrganisationIndex,
    Succession,
    SuccessionReview,
)
from tests.fakes import Memory


class FakeOrganisations:
    def __init__(self, memory: Memory) -> None:
        self.orgs = memory.all(OdsOrganisation)
        self.succs = memory.all(Succession)
        self.reviews_ = memory.all(SuccessionReview)

    def all(self) -> list[OdsOrganisation]:
        return sorted(self.orgs, key=lambda o: o.code)

    def successions(self) -> list[Succession]:
        return list(self.succs)

    def lock_list(self, wait_ms: int | None = None) -> None:
        pass  # one thread: nothing to wait for

    def drop_succession(self, succession: Succession) -> None:
        self.succs.remove(succession)

    def index(self, config_codes: frozenset[str]) -> frozenset[str]:
        if not self.orgs and not self.succs:
            return config_codes
        return OrganisationIndex(config_codes, self.all(), self.successions())

    def reviews(self, status: str | None = None) -> list[SuccessionReview]:
        return [r for r in self.reviews_ if status is None or r.status == status]

    def count_reviews(self, status: str) -> int:
        return len(self.reviews(status))

    def review(self, review_id: int) -> SuccessionReview | None:
        return next((r for r in self.reviews_ if r.id == review_id), None)

    def reviewed(self) -> set[tuple[int, str]]:
        return {(r.relationship_id, r.closed_code) for r in self.reviews_ if r.status != WITHDRAWN}
