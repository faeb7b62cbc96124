"""Does a subject line name the watched request subject? Decided on the decoded subject.

The mail server's own subject search misses en dashes and the like, so the final say is here:
tolerant of case, spacing, dashes and punctuation, reply/forward prefixes in many languages,
mail-system tags such as NHSmail's ``[secure]``, and text added after the watched phrase.
"""

from __future__ import annotations

import re
import unicodedata

# Reply and forward markers of common mail clients, in English, German, Nordic, Dutch, French,
# Italian, Polish, Spanish and Portuguese, each with an optional counter: "Re[2]:", "AW(3):".
_REPLY_WORDS = (
    "re|fwd?|aw|wg|sv|vs|vb|antw|antwort|doorst|tr|ref|rif|r|i|odp|pd|enc|res|rv|fs|external"
)
_PREFIX = re.compile(
    rf"""^\s*(?:
        (?:{_REPLY_WORDS})\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*:   # RE: Fw : AW[2]:
      | \[[^\[\]]{{0,40}}\]                                   # [EXTERNAL], [SPAM], [secure]
      | \*{{1,3}}\s*external\s*\*{{1,3}}                       # *** EXTERNAL ***
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_SECURE_TAG = re.compile(r"\[\s*secure\s*\]", re.IGNORECASE)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_WORD = re.compile(r"\w+")


def strip_prefixes(subject: str) -> str:
    """The subject without leading reply/forward prefixes and tags, and without ``[secure]``.

    "RE: Fw: [EXTERNAL] Data request [SECURE]" gives "Data request". Case is kept.
    """
    text = _SECURE_TAG.sub(" ", _clean(subject))
    while match := _PREFIX.match(text):
        text = text[match.end() :]
    return " ".join(text.split())


def subject_matches(subject: str, watched: str) -> bool:
    """Whether `subject`, once prefixes and tags are set aside, contains the watched phrase.

    Words are compared without regard to case, punctuation or dashes; text after the phrase is
    allowed ("... Legitimate Relationships - NHS Leeds CCG"). An empty phrase matches nothing.
    """
    wanted = _words(watched)
    if not wanted:
        return False
    words = _words(strip_prefixes(subject))
    n = len(wanted)
    # Anywhere in the subject: our own replies carry it after "[LR-000123] Request received -",
    # and a person's reply to one must come back to us. Robots are told apart by their headers.
    return any(words[i : i + n] == wanted for i in range(len(words) - n + 1))


def _clean(text: str) -> str:
    # NFKC turns no-break and full-width characters into plain ones ("：" into ":").
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


def _words(text: str) -> list[str]:
    return _WORD.findall(_clean(text).casefold())


# Subjects of delivery failures (Postfix, Exim, qmail, Gmail, Exchange, Domino): such a report
# of one of our emails rarely keeps our subject, yet must reach the request it is about.
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery\s+(?:status|fail|has\s+failed|report)|returned\s+mail|failure\s+notice"
    r"|mail\s+delivery|non[\s-]?delivery|not\s+delivered",
    re.IGNORECASE,
)


def looks_like_bounce(subject: str) -> bool:
    """Whether the subject is a delivery failure's ("Undelivered Mail Returned to Sender")."""
    return bool(_BOUNCE_SUBJECT.search(_clean(subject)))
