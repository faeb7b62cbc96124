"""What an ODS code looks like, and what kind of organisation a published row is: by its ODS role
when the file gives one, else by its name and code, and only last by which report it came in."""

from __future__ import annotations

import re
from datetime import date

from intake_bot.domain.organisations import OrgKind

# ASCII only: str.isalnum() and str.upper() would let in Arabic digits and ligatures ("ﬁ" -> "FI").
_ODS_CODE = re.compile(r"[0-9A-Z]{3,10}")


def is_ods_code(text: str) -> bool:
    """Whether `text` (in any case) has the shape of an ODS code: 3 to 10 letters and digits."""
    return text.isascii() and _ODS_CODE.fullmatch(text.upper()) is not None


def ods_code(text: str, what: str) -> str:
    """`text` as an ODS code, in upper case; ValueError naming `what` when it is not one."""
    code = text.strip()
    if not code:
        raise ValueError(f"{what}: no ODS code given")
    if not is_ods_code(code):
        raise ValueError(f"{what} {text[:40]!r} is not an ODS code (3 to 10 letters and digits)")
    return code.upper()


# ODS primary and non-primary role codes (ODS Data Search and Export reference data catalogue).
ROLE_KINDS: dict[str, OrgKind] = {
    "RO98": OrgKind.CCG,  # CLINICAL COMMISSIONING GROUP
    "RO319": OrgKind.SUB_ICB,  # SUB ICB LOCATION
    "RO318": OrgKind.ICB,  # INTEGRATED CARE BOARD
    "RO213": OrgKind.CSU,  # COMMISSIONING SUPPORT UNIT
    "RO197": OrgKind.TRUST,  # NHS TRUST
    "RO57": OrgKind.TRUST,  # FOUNDATION TRUST
    "RO107": OrgKind.TRUST,  # CARE TRUST
    "RO209": OrgKind.REGION,  # NHS ENGLAND (REGION)
    "RO210": OrgKind.REGION,  # NHS ENGLAND (REGION, LOCAL OFFICE)
}

# Report names as ODS publishes them (eccg.csv, etr.csv...): a hint, never the only evidence.
_REPORT_KINDS = {
    "eccg": OrgKind.SUB_ICB,
    "ecsu": OrgKind.CSU,
    "etr": OrgKind.TRUST,
    "ect": OrgKind.TRUST,
    "enhsro": OrgKind.REGION,
    "eauth": OrgKind.REGION,
    "icb": OrgKind.ICB,
}
REPORT_NAMES = frozenset(_REPORT_KINDS)
_SUB_ICB_NAME = re.compile(r"\bICB\s*-\s*[0-9A-Z]{3,5}$", re.IGNORECASE)
_BY_NAME: tuple[tuple[re.Pattern[str], OrgKind], ...] = (
    (_SUB_ICB_NAME, OrgKind.SUB_ICB),
    (re.compile(r"\bsub[- ]icb\b", re.I), OrgKind.SUB_ICB),
    (re.compile(r"\b(integrated care board|icb)\b", re.I), OrgKind.ICB),
    (re.compile(r"\b(clinical commissioning group|ccg)\b", re.I), OrgKind.CCG),
    (re.compile(r"\b(commissioning support|csu)\b", re.I), OrgKind.CSU),
    (re.compile(r"\bnhs england\b|\bcommissioning region\b|\barea team\b", re.I), OrgKind.REGION),
    (re.compile(r"\btrust\b", re.I), OrgKind.TRUST),
)
# Code shapes where a name says nothing: trusts are R.., CSUs 0.., CCGs and sub-ICBs 99X.
_BY_CODE: tuple[tuple[re.Pattern[str], OrgKind], ...] = (
    (re.compile(r"R[0-9A-Z]{2}"), OrgKind.TRUST),
    (re.compile(r"0[A-Z]{2}"), OrgKind.CSU),
    (re.compile(r"[0-9]{2}[A-Z]|[0-9]{2}[A-Z][0-9][A-Z]"), OrgKind.SUB_ICB),
)
SUB_ICBS_FROM = date(2022, 7, 1)  # CCGs became sub-ICB locations of the ICBs


def kind_of(code: str, name: str, *, hint: str = "", closed_on: date | None = None) -> OrgKind:
    """The kind of the organisation `code` called `name` (`hint`: the report's name, if known)."""
    for pattern, kind in _BY_NAME:
        if pattern.search(name):
            return kind
    for pattern, kind in _BY_CODE:
        if pattern.fullmatch(code):
            return _ccg_or_sub_icb(kind, closed_on)
    return _ccg_or_sub_icb(_REPORT_KINDS.get(hint.casefold(), OrgKind.OTHER), closed_on)


def _ccg_or_sub_icb(kind: OrgKind, closed_on: date | None) -> OrgKind:
    # A commissioner listed with the CCGs that closed before July 2022 was a CCG.
    if kind is OrgKind.SUB_ICB and closed_on is not None and closed_on < SUB_ICBS_FROM:
        return OrgKind.CCG
    return kind


def kind_of_roles(roles: list[str]) -> tuple[str, OrgKind] | None:
    """The first role (in the order given) that says what the organisation is. A sub-ICB
    location keeps the CCG role it had (RO98) beside its own: RO319 says what it is now,
    whichever comes first in a file that does not mark the primary role."""
    if "RO319" in roles:
        return "RO319", OrgKind.SUB_ICB
    for role in roles:
        if role in ROLE_KINDS:
            return role, ROLE_KINDS[role]
    return None
