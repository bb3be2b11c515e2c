"""Numbers people type in chat or that come back in a button's value: approval ids,
ratings, a numbered choice. One parser, always range-checked.

Any Unicode decimal digit counts (full-width `３` and Arabic-Indic `٣` are what some
input methods type, and `int()` reads them); characters that are digits only to
`str.isdigit()` (`²`, `①`) do not, since `int()` refuses them. Ticket references have
their own pattern (`bot.tickets.model.parse_ticket_ref`, at most 9 digits).
"""

from __future__ import annotations

ROW_ID_MAX = 2**63 - 1
"""The largest id SQLite stores (INTEGER is 64-bit signed): a bigger one overflows it."""
_MAX_DIGITS = 19


def whole_number(text: str, low: int = 1, high: int = ROW_ID_MAX) -> int | None:
    """`text` as a whole number in `low..high`; None for anything else."""
    text = text.strip()
    if not text.isdecimal() or len(text) > _MAX_DIGITS:
        return None
    number = int(text)
    return number if low <= number <= high else None
