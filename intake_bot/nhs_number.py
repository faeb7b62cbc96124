"""The NHS number check: python-stdnum's, imported when a candidate number is first met.

stdnum's package imports `ssl` and `pydoc` (about 6 ms), which a command or an email that holds
no ten-digit run never needs; `domain.patient_data` finds the candidates and asks this.
"""

from __future__ import annotations


def nhs_number_valid(number: str) -> bool:
    """True if `number` (digits, spaces or dashes) is a valid NHS number (Modulus 11)."""
    from stdnum.gb.nhs import is_valid

    return bool(is_valid(number))
