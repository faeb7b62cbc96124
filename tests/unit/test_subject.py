"""The watched subject is recognised however people and mail systems mangle it."""

from __future__ import annotations

import pytest

from intake_bot.domain.subject import strip_prefixes, subject_matches

WATCHED = "Data Services for Commissioners - Legitimate Relationships"

ACCEPTED = [
    "Data Services for Commissioners - Legitimate Relationships",
    "data services for commissioners - legitimate relationships",
    "DATA SERVICES FOR COMMISSIONERS - LEGITIMATE RELATIONSHIPS",
    "Data Services for Commissioners – Legitimate Relationships",  # en dash
    "Data Services for Commissioners — Legitimate Relationships",  # em dash
    "Data Services for Commissioners − Legitimate Relationships",  # minus sign
    "Data Services for Commissioners -- Legitimate Relationships",
    "Data Services for Commissioners-Legitimate Relationships",
    "Data Services for Commissioners Legitimate Relationships",
    "Data Services for Commissioners: Legitimate Relationships",
    "  Data  Services\tfor Commissioners  -  Legitimate   Relationships  ",
    "Data\u00a0Services for\u00a0Commissioners\u00a0-\u00a0Legitimate Relationships",  # NBSP
    "Data Services for Commissioners\u200b - Legitimate Relationships",  # zero-width space
    "RE: Data Services for Commissioners - Legitimate Relationships",
    "Re : Data Services for Commissioners - Legitimate Relationships",
    "Fw: Data Services for Commissioners - Legitimate Relationships",
    "FWD: Data Services for Commissioners - Legitimate Relationships",
    "RE: FW: Re: Fwd: Data Services for Commissioners - Legitimate Relationships",
    "AW: WG: Data Services for Commissioners - Legitimate Relationships",
    "SV: Antw: TR: Data Services for Commissioners - Legitimate Relationships",
    "Re[2]: Data Services for Commissioners - Legitimate Relationships",
    "[EXTERNAL] Data Services for Commissioners - Legitimate Relationships",
    "RE: [EXTERNAL] FW: Data Services for Commissioners - Legitimate Relationships",
    "[secure] Data Services for Commissioners - Legitimate Relationships",
    "Data Services for Commissioners - Legitimate Relationships [SECURE]",
    "Data Services for Commissioners [secure] - Legitimate Relationships",
    "RE: [SECURE] Data Services for Commissioners – Legitimate Relationships",
    "Data Services for Commissioners - Legitimate Relationships - NHS Leeds CCG",
    "Data Services for Commissioners - Legitimate Relationships [LR-000123]",
    "Data Services for Commissioners - Legitimate Relationships (new request)",
    "Ｄata Services for Commissioners ： Legitimate Relationships",  # full-width forms
    # Anywhere in the subject: replies to our own acknowledgements, and robots (told apart by
    # their headers, not their subject).
    "RE: [LR-000123] Request received - Data Services for Commissioners - Legitimate Relationships",
    "Automatic reply: Data Services for Commissioners - Legitimate Relationships",
    "Undeliverable: Data Services for Commissioners - Legitimate Relationships",
    "About Data Services for Commissioners - Legitimate Relationships",
]

NEAR_MISSES = [
    "Data Services for Commissioners - Newsletter",
    "Data Services for Commissioners",
    "Legitimate Relationships",
    "Data Services for Commissioners - Legitimate Relationship",
    "Data Services for Commissioners - Legitimate Relationshipsx",
    "Data Service for Commissioners - Legitimate Relationships",
    "Data Services for Commissioning - Legitimate Relationships",
    "Legitimate Relationships - Data Services for Commissioners",
    "Data Services for Commissioners - Legitimate",
    "Re: Legitimate Relationships (Data Services)",
    "",
]


@pytest.mark.parametrize("subject", ACCEPTED)
def test_accepts_spelling_of_watched_subject(subject: str) -> None:
    assert subject_matches(subject, WATCHED)


@pytest.mark.parametrize("subject", NEAR_MISSES)
def test_rejects_near_miss(subject: str) -> None:
    assert not subject_matches(subject, WATCHED)


def test_enough_variants_are_covered() -> None:
    assert len(ACCEPTED) >= 25
    assert len(NEAR_MISSES) >= 10


def test_empty_watched_phrase_matches_nothing() -> None:
    assert not subject_matches("anything", "")
    assert not subject_matches("anything", " - ")


@pytest.mark.parametrize(
    ("subject", "stripped"),
    [
        ("RE: Fw : AW[2]: Data request", "Data request"),
        ("[EXTERNAL] RE: Data request [SECURE]", "Data request"),
        ("*** EXTERNAL *** Data request", "Data request"),
        ("EXTERNAL: Data request", "Data request"),
        ("Data request: Re: something", "Data request: Re: something"),
        ("Rex: Data request", "Rex: Data request"),
        ("Data – request", "Data – request"),
    ],
)
def test_strip_prefixes_removes_only_leading_markers(subject: str, stripped: str) -> None:
    assert strip_prefixes(subject) == stripped
