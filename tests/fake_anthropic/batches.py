"""Message Batches: create → retrieve (in_progress, then ended) → results as JSONL.

Results are computed when the batch is created; the fake's current ``batch_processing_s`` only delays
when the batch reports ``ended`` (measured from its creation), so a client's polling loop can be
exercised, and a test can end a batch at once by setting it to 0.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Batch:
    id: str
    created_at: datetime
    results: list[dict[str, Any]]  # MessageBatchIndividualResponse objects

    def counts(self, ended: bool) -> dict[str, int]:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if not ended:
            counts["processing"] = len(self.results)
            return counts
        for item in self.results:
            counts[item["result"]["type"]] += 1
        return counts


class BatchStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: dict[str, Batch] = {}

    def clear(self) -> None:
        with self._lock:
            self._batches.clear()

    def create(self, batch_id: str, results: list[dict[str, Any]]) -> Batch:
        batch = Batch(batch_id, datetime.now(UTC), results)
        with self._lock:
            self._batches[batch_id] = batch
        return batch

    def get(self, batch_id: str) -> Batch | None:
        with self._lock:
            return self._batches.get(batch_id)

    @staticmethod
    def ends_at(batch: Batch, processing_s: float) -> datetime:
        return batch.created_at + timedelta(seconds=processing_s)

    def to_json(self, batch: Batch, base_url: str, processing_s: float) -> dict[str, Any]:
        ends_at = self.ends_at(batch, processing_s)
        ended = datetime.now(UTC) >= ends_at
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": batch.counts(ended),
            "created_at": _iso(batch.created_at),
            "expires_at": _iso(batch.created_at + timedelta(hours=24)),
            "ended_at": _iso(ends_at) if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            # Absolute, as the API gives it; the SDK fetches this URL as is.
            "results_url": f"{base_url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    @staticmethod
    def results_jsonl(batch: Batch) -> bytes:
        # Every line ends with a newline: the SDK's JSONL decoder drops an unterminated last line.
        return b"".join(json.dumps(item).encode() + b"\n" for item in batch.results)
