"""Errors of the cost ledger. They live here (not in ``errors.py``) so the ledger stays one package.

    RouterError
    └── LedgerError              the ledger file cannot be used; the server keeps serving without it
        ├── LedgerCorrupt        not an SQLite database, or it fails its integrity check
        ├── LedgerLocked         another process holds the database lock past the busy timeout
        └── LedgerMissing        a report was asked for a ledger file that does not exist
    BudgetExceeded               a deep call refused by ``budget_policy: block`` (the message says which
                                 budget, how much is spent and how to lift it)
"""

from __future__ import annotations

from ..errors import RouterError


class LedgerError(RouterError):
    """The ledger cannot be opened, read or written. ``path`` names the file when known."""

    def __init__(self, message: str, path: str = "") -> None:
        self.path = path
        super().__init__(f"{message} ({path})" if path else message)


class LedgerCorrupt(LedgerError):
    pass


class LedgerLocked(LedgerError):
    pass


class LedgerMissing(LedgerError):
    pass


class BudgetExceeded(RouterError):
    """Raised by ``BudgetDecision.raise_if_blocked()``: the caller falls back to the fast model or fails
    the request with this message — never silently."""
