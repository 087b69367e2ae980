"""The cost ledger: every model call recorded with its cost and tags, budgets, reports, tuning.

Server side: ``Ledger.open(config, workspace)`` once; per call ``await ledger.record(CallRecord.from_usage(...))``
then ``ledger.after_call(call)`` for notices; ``ledger.check_before(estimate, model)`` before a call;
``ledger.cost_summary()`` for ``aiCodingRouter/costSummary``. Commands: ``report`` and ``tune``.
"""

from .budget import BudgetDecision
from .errors import BudgetExceeded, LedgerCorrupt, LedgerError, LedgerLocked, LedgerMissing
from .records import CallRecord, CallRole, Outcome, new_call_id
from .schema import LEDGER_MIGRATIONS, Migration
from .service import Ledger, Notice
from .store import LedgerStore, ledger_path

__all__ = [
    "LEDGER_MIGRATIONS",
    "BudgetDecision",
    "BudgetExceeded",
    "CallRecord",
    "CallRole",
    "Ledger",
    "LedgerCorrupt",
    "LedgerError",
    "LedgerLocked",
    "LedgerMissing",
    "LedgerStore",
    "Migration",
    "Notice",
    "Outcome",
    "ledger_path",
    "new_call_id",
]
