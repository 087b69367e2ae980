"""Reports on the fixture ledger (see fixture_ledger.py for the hand-worked figures): dict, text, JSON, HTML."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from ai_coding_router.commands import report_cmd
from ai_coding_router.ledger.report import build_report, parse_group_by, parse_since, percentile
from ai_coding_router.ledger.report_html import render_html
from ai_coding_router.ledger.report_text import render_text
from ai_coding_router.ledger.store import LedgerStore

from . import fixture_ledger
from .helpers import OPUS, SONNET, call

SONNET_COST = 0.0105 + 0.018 + 0.0045 + 0.0255 + 0.00141
OPUS_COST = 0.039 + 0.015


@pytest.fixture
def ledger_file(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite3"
    fixture_ledger.build(path)
    return path


def report_of(path: Path, by: str = "model") -> dict[str, Any]:
    store = LedgerStore.open(path, create=False)
    try:
        return build_report(store.report_input(by=by), by=by, tz=UTC)
    finally:
        store.close()


def group(report: dict[str, Any], key: str) -> dict[str, Any]:
    return next(g for g in report["groups"] if g["key"] == key)


def test_totals(ledger_file: Path) -> None:
    totals = report_of(ledger_file)["totals"]
    assert totals["calls"] == 8
    assert totals["input_tokens"] == 1000 + 2000 + 1000 + 500 + 1000 + 3000 + 300 + 100
    assert totals["output_tokens"] == 500 + 1000 + 1000 + 200 + 400 + 600 + 20 + 10
    assert (totals["cache_write_tokens"], totals["cache_read_tokens"]) == (2000, 8700)
    assert totals["cost_usd"] == pytest.approx(SONNET_COST + OPUS_COST)
    assert totals["unpriced_calls"] == 1
    assert totals["cache_hit_ratio"] == pytest.approx(8700 / (8900 + 8700 + 2000), abs=1e-4)
    # Six tasks; four finished validation (T1, T2 validated, T3 escalated then validated, T4 failed).
    assert (totals["tasks"], totals["finished_tasks"]) == (6, 4)
    assert (totals["success_rate"], totals["first_time_rate"], totals["escalation_rate"]) == (0.75, 0.5, 0.25)


def test_by_model_with_latency_percentiles(ledger_file: Path) -> None:
    report = report_of(ledger_file, "model")
    assert [g["key"] for g in report["groups"]] == [SONNET, OPUS, "mystery-model"]  # by cost
    sonnet, opus, mystery = (group(report, k) for k in (SONNET, OPUS, "mystery-model"))
    assert (sonnet["calls"], opus["calls"], mystery["calls"]) == (5, 2, 1)
    assert sonnet["cost_usd"] == pytest.approx(SONNET_COST) and opus["cost_usd"] == pytest.approx(OPUS_COST)
    assert (mystery["cost_usd"], mystery["unpriced_calls"]) == (0.0, 1)
    # Tasks count in the group of their first call: sonnet has T1, T3, T4 (finished) and C1.
    assert (sonnet["tasks"], sonnet["finished_tasks"], sonnet["success_rate"]) == (4, 3, 0.6667)
    assert sonnet["escalation_rate"] == 0.3333 and opus["success_rate"] == 1.0
    assert mystery["success_rate"] is None
    latency = {row["model"]: row for row in report["latency_by_model"]}
    # sonnet latencies 300, 1000, 1500, 2000, 2500: p50 1500, p95 at rank 3.8 -> 2000 + 0.8 * 500
    assert (latency[SONNET]["p50_ms"], latency[SONNET]["p95_ms"]) == (1500.0, 2400.0)
    assert (latency[OPUS]["p50_ms"], latency[OPUS]["p95_ms"]) == (3500.0, 3950.0)
    assert (latency[SONNET]["ttft_p50_ms"], latency["mystery-model"]["ttft_p50_ms"]) == (160.0, None)
    assert report["unpriced_models"] == ["mystery-model"]


def test_success_by_complexity_band(ledger_file: Path) -> None:
    bands = report_of(ledger_file)["success_by_band"]
    assert [(b["low"], b["high"], b["tasks"], b["success_rate"]) for b in bands] == [
        (0.0, 0.2, 0, None), (0.2, 0.4, 1, 1.0), (0.4, 0.6, 2, 0.5), (0.6, 0.8, 0, None), (0.8, 1.0, 1, 1.0),
    ]
    assert bands[2]["escalation_rate"] == 0.5 and bands[2]["first_time_rate"] == 0.0


def test_by_day_tag_variant_and_task_type(ledger_file: Path) -> None:
    days = report_of(ledger_file, "day")
    assert [(g["key"], g["calls"]) for g in days["groups"]] == [("2026-11-02", 2), ("2026-11-03", 6)]
    assert group(days, "2026-11-02")["cost_usd"] == pytest.approx(0.0495)
    assert days["cost_by_day_model"] == [
        {"day": "2026-11-02", "model": OPUS, "cost_usd": pytest.approx(0.039)},
        {"day": "2026-11-02", "model": SONNET, "cost_usd": pytest.approx(0.0105)},
        {"day": "2026-11-03", "model": OPUS, "cost_usd": pytest.approx(0.015)},
        {"day": "2026-11-03", "model": SONNET, "cost_usd": pytest.approx(0.018 + 0.0045 + 0.0255 + 0.00141)},
    ]
    teams = report_of(ledger_file, "tag:team")
    alpha, beta, untagged = group(teams, "alpha"), group(teams, "beta"), group(teams, "(none)")
    assert (alpha["calls"], beta["calls"], untagged["calls"]) == (4, 2, 2)
    assert alpha["cost_usd"] == pytest.approx(0.048) and beta["cost_usd"] == pytest.approx(0.0645)
    assert (alpha["success_rate"], alpha["first_time_rate"], alpha["escalation_rate"]) == (1.0, 0.5, 0.5)
    assert (beta["success_rate"], beta["escalation_rate"]) == (0.5, 0.0)
    variants = report_of(ledger_file, "variant")
    assert {g["key"]: g["calls"] for g in variants["groups"]} == {"A": 4, "B": 2, "(none)": 2}
    kinds = report_of(ledger_file, "task_type")
    assert {g["key"]: g["calls"] for g in kinds["groups"]} == {
        "refactor": 4, "tests": 1, "security_review": 1, "completion": 2,
    }


def test_text_shows_the_figures(ledger_file: Path) -> None:
    text = render_text(report_of(ledger_file), width=160)
    for expected in ("8,900", "3,730", "$0.1139", "44.4%", "75.0%", "25.0%", "66.7%", "1,500 ms", "2,400 ms",
                     "3,950 ms", "0.40-0.60", "50.0%", "1 call without a cost: no price for mystery-model"):
        assert expected in text, expected
    sonnet_line = next(line for line in text.splitlines() if SONNET in line and "$" in line)
    assert "$0.0599" in sonnet_line and " 5 " in sonnet_line
    mystery_line = next(line for line in text.splitlines() if "mystery-model" in line and " 1 " in line)
    assert "n/a" in mystery_line and "$0.0000" not in mystery_line  # no price is not a price of zero


class _Marks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rects: list[dict[str, str | None]] = []
        self.circles: list[dict[str, str | None]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "rect":
            self.rects.append(dict(attrs))
        elif tag == "circle":
            self.circles.append(dict(attrs))


def test_html_is_self_contained_with_charts_of_the_right_numbers(ledger_file: Path) -> None:
    page = render_html(report_of(ledger_file))
    marks = _Marks()
    marks.feed(page)
    bars = {(r["data-day"], r["data-model"]): float(r["data-cost"] or 0) for r in marks.rects}
    assert bars == {
        ("2026-11-02", OPUS): pytest.approx(0.039), ("2026-11-02", SONNET): pytest.approx(0.0105),
        ("2026-11-03", OPUS): pytest.approx(0.015), ("2026-11-03", SONNET): pytest.approx(0.04941),
    }
    success = {(c["data-low"], c["data-rate"], c["data-tasks"]) for c in marks.circles
               if c["data-series"] == "success_rate"}
    assert success == {("0.2", "1.0", "1"), ("0.5", "0.5", "2"), ("0.9", "1.0", "1")}
    assert "script" not in marks.tags and "link" not in marks.tags and "img" not in marks.tags
    assert "http" not in page  # nothing fetched: no URL at all
    assert "44.4%" in page and "$0.0599" in page and "2,400 ms" in page


def test_html_escapes_what_comes_from_the_ledger(tmp_path: Path) -> None:
    rows_path = tmp_path / "l.sqlite3"
    store = LedgerStore.open(rows_path)
    store.record([(call(model="<script>alert(1)</script>", tags={"team": "<b>x</b>"}), 0.5)])
    data = store.report_input(by="tag:team")
    store.close()
    page = render_html(build_report(data, by="tag:team"))
    assert "<script>" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    report_cmd.add_parser(parser.add_subparsers(dest="command"))
    return report_cmd.run(parser.parse_args(["report", *argv]))


def test_cli_json_and_html(ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    html = tmp_path / "out" / "report.html"
    html.parent.mkdir()
    assert run_cli("--ledger", str(ledger_file), "--by", "tag:team", "--json", "--html", str(html)) == 0
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert data["by"] == "tag:team" and data["ledger"] == str(ledger_file)
    assert data["totals"]["calls"] == 8 and data["totals"]["cost_usd"] == pytest.approx(SONNET_COST + OPUS_COST)
    assert {g["key"]: g["calls"] for g in data["groups"]} == {"alpha": 4, "beta": 2, "(none)": 2}
    assert f"wrote {html}" in out.err
    assert html.read_text().startswith("<!DOCTYPE html>")


def test_cli_since_filters_and_text_prints(ledger_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps at the terminal width
    assert run_cli("--ledger", str(ledger_file), "--since", "2026-11-03T00:00:00+00:00", "--json") == 0
    assert json.loads(capsys.readouterr().out)["totals"]["calls"] == 6
    assert run_cli("--ledger", str(ledger_file)) == 0
    assert "Model calls by model (all time)" in capsys.readouterr().out
    assert run_cli("--ledger", str(ledger_file), "--since", "2030-01-01T00:00:00+00:00") == 0
    assert "Model calls by model since 2030-01-01T00:00:00+00:00: no model calls" in capsys.readouterr().out


def test_cli_default_path_and_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli() == 1
    err = capsys.readouterr().err
    assert "no cost ledger here yet" in err and str(tmp_path / ".ai-coding-router" / "ledger.sqlite3") in err
    fixture_ledger.build(tmp_path / ".ai-coding-router" / "ledger.sqlite3")
    assert run_cli("--json") == 0  # found at the default path
    assert json.loads(capsys.readouterr().out)["totals"]["calls"] == 8
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"not a database" * 500)
    assert run_cli("--ledger", str(broken)) == 1
    assert "damaged" in capsys.readouterr().err
    assert run_cli("--by", "colour") == 2
    assert "cannot group by 'colour'" in capsys.readouterr().err
    assert run_cli("--since", "last tuesday") == 2


def test_parsers_and_percentile() -> None:
    now = datetime(2026, 11, 10, 12, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("24h", now) == now - timedelta(hours=24)
    assert parse_since("2w", now) == now - timedelta(weeks=2)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("2026-11-01T08:00:00+02:00", now) == datetime(2026, 11, 1, 6, tzinfo=UTC)
    assert parse_since("2026-11-01", now.astimezone(timezone(timedelta(hours=5)))).utcoffset() == timedelta(hours=5)
    assert parse_group_by("tag:team") == "tag:team"
    with pytest.raises(ValueError, match="tag name"):
        parse_group_by("tag")
    assert percentile([], 0.5) is None
    assert percentile([10.0], 0.95) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
