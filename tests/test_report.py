"""Tests of scenario reports (solver.scenarios.report): HTML, Excel workbook, charts, atomic writes."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "scenario"


@pytest.fixture(scope="module")
def results():
    from solver.scenarios.run import run_scenario
    from solver.scenarios.scenario_result import compare
    from solver.scenarios.spec import load_scenario

    base = run_scenario(load_scenario(DATA / "small.toml"), paths=30)
    shock = run_scenario(load_scenario(DATA / "small_recession.toml"), paths=30)
    return shock, base, compare(shock, base)


class _Collect(HTMLParser):
    """Collects tables (by id, with their rows of cell text) and images."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[dict[str, str]] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id", f"table{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(attrs)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_html_report_has_kpi_table_and_embedded_charts(results, tmp_path):
    """Acceptance (c): report.html parses, has the KPI table (with deltas) and four
    embedded PNG charts (cash, NPL, recovery by tier, deltas), and references no external
    file."""
    from solver.scenarios.report import write_scenario_report

    shock, base, comparison = results
    write_scenario_report(shock, tmp_path, baseline=base, comparison=comparison)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(text)
    kpis = parser.tables["kpis"]
    header, rows = kpis[0], kpis[1:]
    assert "KPI" in header and "Mean" in header and "Delta" in header
    names = [r[0] for r in rows]
    assert "cash_collected_discounted" in names and "npl_ratio_at_horizon" in names
    assert len(parser.images) == 4
    assert all(img["src"].startswith("data:image/png;base64,") for img in parser.images)
    assert "http://" not in text and "https://" not in text and 'src="file' not in text
    assert "roll_rates" in parser.tables


def test_workbook_opens_with_sheets_kpis_and_formats(results, tmp_path):
    """Acceptance (c): report.xlsx opens in openpyxl with one sheet per table, readable
    headers, KPI rows and number formats by unit."""
    import openpyxl

    from solver.scenarios.report import write_scenario_report

    shock, base, comparison = results
    write_scenario_report(shock, tmp_path, baseline=base, comparison=comparison)
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    for sheet in (
        "About",
        "KPIs",
        "Deltas by segment",
        "By tier",
        "By product",
        "By dpd bucket",
        "Monthly",
        "Roll rates",
        "Accounts",
    ):
        assert sheet in book.sheetnames, sheet
    ws = book["KPIs"]
    header = [c.value for c in ws[1]]
    assert header[:4] == ["KPI", "Unit", "What it measures", "Mean"]
    rows = {row[0].value: row for row in ws.iter_rows(min_row=2)}
    cash = rows["cash_collected"]
    assert cash[3].number_format == "#,##0.00" and cash[3].value > 0
    assert rows["recovery_rate"][3].number_format == "0.00%"
    assert ws.freeze_panes == "A2"
    assert book["Accounts"].max_row == len(shock.accounts) + 1


def test_charts_are_pngs_and_outputs_are_deterministic(results, tmp_path):
    """Charts are valid PNGs; writing the same result twice gives identical bytes for the
    CSV, PNG and HTML files."""
    from solver.scenarios.report import write_scenario_report

    shock, base, comparison = results
    a, b = tmp_path / "a", tmp_path / "b"
    write_scenario_report(shock, a, baseline=base, comparison=comparison)
    write_scenario_report(shock, b, baseline=base, comparison=comparison)
    for name in ("cash_collected.png", "npl_ratio.png", "kpi_deltas.png"):
        assert (a / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in (
        "kpis.csv",
        "deltas.csv",
        "monthly.csv",
        "cash_collected.png",
        "report.html",
        "accounts.parquet",
    ):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_report_without_baseline_has_tier_chart(results, tmp_path):
    """Without a baseline the tier chart is recovery_by_tier.png; no deltas file or chart."""
    from solver.scenarios.report import write_scenario_report

    shock, _, _ = results
    files = {p.name for p in write_scenario_report(shock, tmp_path)}
    assert "recovery_by_tier.png" in files
    assert "kpi_deltas.png" not in files and "deltas.csv" not in files
    assert "Recovery rate by tier" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_failed_rendering_writes_nothing(results, tmp_path, monkeypatch):
    """If rendering fails, no file at all is written (everything renders before writing)."""
    from solver.scenarios import report

    shock, base, comparison = results

    def boom(*args, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(report, "scenario_html", boom)
    with pytest.raises(RuntimeError):
        report.write_scenario_report(shock, tmp_path / "out", baseline=base, comparison=comparison)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_kpis_csv_money_in_cents_and_totals_reconcile(results, tmp_path):
    """kpis.csv money has at most two decimals and cash = payments + recoveries to the cent."""
    import pandas as pd

    from solver.scenarios.report import write_scenario_report

    shock, _, _ = results
    write_scenario_report(shock, tmp_path)
    kpis = pd.read_csv(tmp_path / "kpis.csv")
    money = kpis[kpis["unit"] == "CNY"]["mean"]
    assert ((money * 100).round(6) % 1 == 0).all()
    total = kpis[kpis["segment_type"] == "total"].set_index("kpi")["mean"]
    assert abs(total["cash_collected"] - total["payments_collected"] - total["recoveries"]) <= 0.011
