"""Data Docs a person can read offline: one page per run (Excel file, sheet and row, the Vietnamese reason,
ID numbers masked), the GX suite beside the domain rules, and an index of every run kept."""
from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path

import pandas as pd

from expectations.gx_suite import folder_lock, suite_spec
from expectations.validate import rule_book

VIETNAM = dt.timezone(dt.timedelta(hours=7))
SHOWN_ROWS = 5000          # a page stays readable; the ledger and the fix-up workbook hold every row
_STYLE = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px;color:#1b2430;font-size:14px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:24px 0 8px;border-bottom:1px solid #cfd6e0}
table{border-collapse:collapse;width:100%;margin:6px 0} th,td{border:1px solid #cfd6e0;padding:4px 6px;
vertical-align:top;text-align:left} th{background:#e8eef7} td.n{text-align:right;white-space:nowrap}
.reject{color:#a11d1d;font-weight:bold} .warning{color:#8a5a00;font-weight:bold} .muted{color:#5b6675}
.ok{color:#1d6b2f;font-weight:bold} a{color:#1f4e9c}
"""


def write_run_page(folder: str | Path, run_name: str, source_id: str, run_id: str, failures: pd.DataFrame,
                   rows_judged: int, households_held: int) -> Path:
    """The run's page (runs/<run_name>.html) and the index of all runs kept. failures: the run's failures
    with their lineage (file, sheet, Excel row) and messages; ID values are masked already."""
    runs = Path(folder) / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(VIETNAM)
    rules = rule_book()
    counts = failures.groupby(["rule", "severity"]).size().reset_index(name="n") if len(failures) else \
        pd.DataFrame(columns=["rule", "severity", "n"])
    summary = {"run_name": run_name, "source_id": source_id, "run_id": run_id, "rows_judged": int(rows_judged),
               "households_held": int(households_held), "written_at": now.isoformat(timespec="seconds"),
               "rejects": int(counts.loc[counts["severity"] == "reject", "n"].sum()),
               "warnings": int(counts.loc[counts["severity"] == "warning", "n"].sum())}
    gx_rules = {e["meta"]["rule"]: e for e in suite_spec()["expectations"]}
    body = [f"<h1>Kết quả kiểm tra dữ liệu: nguồn {_e(source_id)}</h1>",
            f"<p class=muted>Lần chạy {_e(run_id)} · {now:%d/%m/%Y %H:%M} (giờ Việt Nam) · "
            f"<a href='../index.html'>tất cả các lần chạy</a></p>",
            f"<p>{rows_judged} dòng được kiểm tra · <span class=reject>{summary['rejects']} lỗi</span> · "
            f"<span class=warning>{summary['warnings']} cảnh báo</span> · {households_held} hộ chưa được nhận.</p>"]
    body.append("<h2>Theo quy tắc</h2><table><tr><th>Quy tắc</th><th>Kiểm tra bởi</th><th>Mức</th>"
                "<th>Số dòng</th><th>Ví dụ</th></tr>")
    example = failures.drop_duplicates("rule").set_index("rule")["message_vi"] if len(failures) else {}
    for r in counts.sort_values(["severity", "n"], ascending=[True, False]).itertuples():
        by = "Great Expectations" if r.rule in gx_rules else "quy tắc nghiệp vụ"
        body.append(f"<tr><td>{_e(r.rule)}</td><td>{by}</td><td class={r.severity}>{_severity(r.severity)}</td>"
                    f"<td class=n>{r.n}</td><td>{_e(example.get(r.rule, ''))}</td></tr>")
    if counts.empty:
        body.append("<tr><td colspan=5 class=ok>Không có lỗi nào.</td></tr>")
    body.append("</table>")
    shown = failures.sort_values(["file", "sheet", "row"]).head(SHOWN_ROWS) if len(failures) else failures
    body.append("<h2>Từng dòng (số dòng như trong Excel)</h2>")
    if len(failures) > SHOWN_ROWS:
        body.append(f"<p class=muted>{SHOWN_ROWS} dòng đầu trên {len(failures)}; đủ danh sách trong tệp sửa lỗi "
                    "và `misgw rejects list`.</p>")
    body.append("<table><tr><th>Tệp</th><th>Trang tính</th><th>Dòng</th><th>Mã hộ</th><th>Mức</th>"
                "<th>Lý do</th></tr>")
    for r in shown.itertuples():
        body.append(f"<tr><td>{_e(r.file)}</td><td>{_e(r.sheet)}</td><td class=n>{_e(r.row)}</td>"
                    f"<td>{_e(r.household_code)}</td><td class={r.severity}>{_severity(r.severity)}</td>"
                    f"<td>{_e(r.message_vi)}</td></tr>")
    body.append("</table>")
    body.append("<h2>Bộ kiểm tra</h2><p class=muted>Bộ Great Expectations (roster_basic) và các quy tắc nghiệp vụ "
                "(expectations/rules.yaml), cùng lời nhắn tiếng Việt gửi cán bộ xã.</p>"
                "<table><tr><th>Quy tắc</th><th>Kiểm tra bởi</th><th>Mức</th><th>Lời nhắn</th></tr>")
    for rule_id, rule in rules.items():
        gx = gx_rules.get(rule_id)
        by = f"Great Expectations: {gx['type']} ({gx['kwargs']['column']})" if gx else "quy tắc nghiệp vụ"
        body.append(f"<tr><td>{_e(rule_id)}</td><td>{_e(by)}</td><td class={rule['severity']}>"
                    f"{_severity(rule['severity'])}</td><td>{_e(rule['vi'])}</td></tr>")
    body.append("</table>")
    page = runs / f"{run_name}.html"
    with folder_lock(folder):
        page.write_text(_html(f"Kiểm tra dữ liệu {run_name}", "\n".join(body)), encoding="utf-8")
        (runs / f"{run_name}.json").write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
        write_index(folder)
    return page


def write_index(folder: str | Path) -> Path:
    """The list of every run page kept in the folder, newest first."""
    runs = sorted((json.loads(p.read_text(encoding="utf-8")) for p in (Path(folder) / "runs").glob("*.json")),
                  key=lambda s: s["written_at"], reverse=True)
    rows = "\n".join(
        f"<tr><td>{_e(dt.datetime.fromisoformat(s['written_at']).strftime('%d/%m/%Y %H:%M'))}</td>"
        f"<td>{_e(s['source_id'])}</td><td><a href='runs/{_e(s['run_name'])}.html'>{_e(s['run_id'])}</a></td>"
        f"<td class=n>{s['rows_judged']}</td><td class='n reject'>{s['rejects']}</td>"
        f"<td class='n warning'>{s['warnings']}</td><td class=n>{s['households_held']}</td></tr>" for s in runs)
    index = Path(folder) / "index.html"
    index.write_text(_html("Kết quả kiểm tra dữ liệu", (
        "<h1>Kết quả kiểm tra dữ liệu</h1><p class=muted>Mỗi lần chạy một trang; giờ Việt Nam. Trang của "
        "Great Expectations: <a href='gx/index.html'>gx/index.html</a>.</p><table><tr><th>Thời gian</th>"
        "<th>Nguồn</th><th>Lần chạy</th><th>Dòng kiểm tra</th><th>Lỗi</th><th>Cảnh báo</th><th>Hộ chưa nhận</th>"
        f"</tr>{rows}</table>")), encoding="utf-8")
    return index


def _html(title: str, body: str) -> str:
    # Everything inline: the page opens from a district's laptop or a closed network, with no CDN.
    return (f"<!doctype html><html lang=vi><head><meta charset=utf-8><title>{_e(title)}</title>"
            f"<style>{_STYLE}</style></head><body>{body}</body></html>")


def _severity(severity: str) -> str:
    return "lỗi" if severity == "reject" else "cảnh báo"


def _e(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    return html.escape(str(value))
