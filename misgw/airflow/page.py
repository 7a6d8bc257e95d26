"""The "MIS Gateway" page in the Airflow UI: per district, the last run, open rejects by age, the fix-up workbook,
and the poverty movement. Every route requires a signed-in Airflow user (the UI's session cookie, or a
bearer token): plugin endpoints are not protected by Airflow unless they ask, and this page shows
personal data.
"""
from __future__ import annotations

import html
import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

try:  # inside the Airflow api-server: its own check of the session cookie or bearer token
    from airflow.api_fastapi.core_api.security import get_user
except ImportError:  # pragma: no cover - Airflow is a dependency
    get_user = None

app = FastAPI(title="MIS Gateway", dependencies=[Depends(get_user)] if get_user else [])

STATUS_VI = {"success": "thành công", "attention": "cần xem lại", "failed": "thất bại", "running": "đang chạy", "rejected": "bị từ chối",
             "held": "tạm dừng", "awaiting_approval": "chờ phê duyệt"}
STATUS_COLOUR = {"success": "#1a7f37", "attention": "#bc4c00", "failed": "#cf222e", "rejected": "#9a6700", "held": "#9a6700",
                 "awaiting_approval": "#0969da", "running": "#0969da"}


def _overview() -> dict:
    from mis import db
    from misgw.config import load_config
    from misgw.province import overview

    config = load_config()
    with db.get_engine().connect() as conn:
        return overview(conn, config)


@app.get("/api/overview")
def api_overview() -> dict:
    """The page's data, as JSON."""
    import json

    return json.loads(json.dumps(_overview(), default=str))


@app.get("/fixup/{source_id}/{district}")
def fixup_workbook(source_id: str, district: str):
    """The fix-up workbook of one district: what the ledger holds open for the source, built on request."""
    from mis import db, runs
    from misgw.fixup_workbook import write_fixup_workbook

    engine = db.get_engine()
    with engine.connect() as conn:
        run = runs.last_load(conn, source_id)
    if run is None:
        raise HTTPException(status_code=404, detail="No completed run of this source.")
    # Built from the ledger on request: the worker that wrote a run's copy may be another machine, and a
    # night with no new file leaves what is open as it was.
    out = Path(tempfile.mkdtemp(prefix="misgw-fixup-")) / f"sua-loi_{source_id}_{district}.xlsx"
    path = write_fixup_workbook(engine, source_id, district, out,
                                by=(run["options"] or {}).get("addressed_by") or "district")
    if path is None:
        raise HTTPException(status_code=404, detail="Nothing to fix for this source and district.")
    return FileResponse(path, filename=path.name,
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@app.get("/", response_class=HTMLResponse)
def page() -> str:
    return render(_overview())


def render(data: dict) -> str:
    """The page, from the province overview (misgw.province.overview)."""
    rows = [_source_row(s) for s in data["sources"]]
    province = data.get("province_poverty") or {}
    conflicts = data["cross_district_conflicts"]
    title = data.get("province_name") or f"tỉnh {data['province_code']}"
    return f"""<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>MIS Gateway</title>
<style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#1f2328}} h1{{font-size:22px;margin:0 0 4px}}
.lead{{color:#57606a;margin:0 0 16px}} table{{border-collapse:collapse;width:100%;font-size:14px}}
th,td{{border-bottom:1px solid #d0d7de;padding:8px;text-align:left;vertical-align:top}} th{{background:#f6f8fa}}
td.n{{text-align:right}} .sub{{color:#57606a;font-size:12px}} .st{{color:#fff;border-radius:10px;padding:2px 8px}}
.err{{color:#cf222e;font-size:12px;max-width:340px}} .note{{color:#9a6700;font-size:12px}}
.box{{display:inline-block;border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;margin:0 12px 16px 0}}
a{{color:#0969da}}
</style></head><body>
<h1>Cổng MIS – {html.escape(title)}</h1>
<p class=lead>Lần thử cuối và lần tải thành công cuối của mỗi huyện, hồ sơ chờ sửa, sổ sửa lỗi và biến động hộ nghèo
(năm đánh giá {data.get('assessment_year') or '—'}). Giờ Việt Nam (UTC+7).</p>
<div class=box>Hộ nghèo trong số hộ được đánh giá / poor share of assessed households:
<b>{province.get('poor_rate', '—')}%</b></div>
<div class=box>Thoát nghèo / escaped: <b>{_figure(province.get('escaped'))}</b> · Nghèo mới / newly poor:
<b>{_figure(province.get('newly_poor'))}</b> · Tái nghèo / fell back: <b>{_figure(province.get('fell_back'))}</b>
{'<br><small>Chưa có đánh giá năm trước: chưa tính được biến động / no earlier year to compare</small>'
 if province and province.get('escaped') is None else ''}</div>
<div class=box>Trùng số định danh giữa các huyện / same ID in two districts: <b>{len(conflicts)}</b></div>
<table><thead><tr><th>Huyện / nguồn</th><th>Lần thử cuối</th><th>Lần tải thành công cuối</th>
<th>Đang chờ sửa</th><th>Sổ sửa lỗi</th><th>Biến động nghèo</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table></body></html>"""


def _source_row(s: dict) -> str:
    last, loaded = s["last_run"] or {}, s["last_load"] or {}
    name = s.get("district_name") or ("toàn tỉnh" if not s["district_code"] else f"huyện {s['district_code']}")
    source = (f"<td><b data-source='{html.escape(s['source_id'])}'>{html.escape(name)}</b>"
              f"<div class=sub>{html.escape(s['source_id'])} · {html.escape(s['kind'])}"
              f"{' · mã ' + html.escape(s['district_code']) if s['district_code'] else ''}</div></td>")
    if last:
        status = last["status"]
        attempt = (f"<span class=st style='background:{STATUS_COLOUR.get(status, '#57606a')}'>"
                   f"{html.escape(STATUS_VI.get(status, status))}</span> <span class=sub>{_time(last)}</span>"
                   + (f"<div class=err title='{html.escape(last.get('error') or last.get('attention') or '')}'>"
                      f"{html.escape(last['reason_vi'])}</div>" if last.get("reason_vi") else "")
                   + f"<div class=sub>{_links(last)}</div>")
    else:
        attempt = "<span class=sub>chưa chạy</span>"
    if loaded:
        if loaded["unchanged_at_source"]:
            what = "không có thay đổi ở nguồn"
        else:
            what = (f"{loaded['rows_read']} dòng · {loaded['households_accepted']} hộ nhận · "
                    f"{loaded['rows_rejected']} dòng trả lại")
            if loaded["partial"]:
                what += (f"<div class=note>chỉ xét các hộ thay đổi từ lần tải trước: {loaded['households_changed'] or 0}"
                         f" hộ thay đổi, {loaded['households_unchanged'] or 0} hộ không đổi không xét lại</div>")
        success = f"{_time(loaded)}<div class=sub>{what}</div>"
        if loaded["run_id"] != last.get("run_id"):
            success += f"<div class=sub>{_links(loaded)}</div>"
    else:
        success = "<span class=sub>chưa tải lần nào</span>"
    days = s.get("days_without_new_data")
    if days:
        success += f"<div class=note>không có tệp/dữ liệu mới {days} ngày</div>"
    opened = s["open"]
    unit = "xã" if s["addressed_by"] == "commune" else "huyện"
    per = "".join(f"<div class=sub>{html.escape(r.get('name') or unit + ' ' + r['addressee'])}: {r['rejects']} lỗi · "
                  f"{r['households_held']} hộ giữ lại · {r['warnings']} cảnh báo"
                  f"{' · ' + str(r['missing']) + ' hộ không còn trong danh sách' if r['missing'] else ''}</div>"
                  for r in opened["by_addressee"][:12])
    pending = (f"<span data-open='{opened['rejects'] + opened['warnings'] + opened['missing']}'>"
               f"<b>{opened['rejects']}</b> lỗi · <b>{opened['households_held']}</b> hộ giữ lại · "
               f"<b>{opened['warnings']}</b> cảnh báo (không chặn)"
               f"{' · <b>' + str(opened['missing']) + '</b> hộ không còn trong danh sách' if opened['missing'] else ''}"
               f"</span>{per}")
    ages = " · ".join(f"{a}: {n}" for a, n in s["open_rejects"].items() if n)
    if ages:
        pending += f"<div class=sub>theo thời gian chờ: {html.escape(ages)}</div>"
    links = " ".join(f'<a href="fixup/{html.escape(s["source_id"])}/{html.escape(d)}">{html.escape(d)}.xlsx</a>'
                     for d in (loaded.get("fixup_districts") or [])) or "—"
    pov = s.get("poverty") or {}
    poverty = (f"{pov.get('poor_rate')}% số hộ được đánh giá là hộ nghèo · " + (
        f"thoát {pov.get('escaped')} · mới {pov.get('newly_poor')} · tái {pov.get('fell_back')}"
        if pov.get("escaped") is not None else "chưa có năm trước để so sánh")) if pov else "—"
    return (f"<tr>{source}<td>{attempt}</td><td>{success}</td><td>{pending}</td><td>{links}</td>"
            f"<td>{html.escape(poverty)}</td></tr>")


def _time(run: dict) -> str:
    """When a run ended (or began), in Vietnam time."""
    import datetime as dt

    from misgw.province import VIETNAM

    when = run.get("finished_at") or run.get("started_at")
    if isinstance(when, str):
        when = dt.datetime.fromisoformat(when)
    return html.escape(when.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")) if when else ""


_STAGE_TASK = {"extract": "extract", "map_validate": "map_validate", "map/validate": "map_validate",
               "reconcile": "reconcile", "load": "load", "report": "report", "done": "report"}


def _links(run: dict) -> str:
    """Where an operator looks next: the Airflow run, the log of the step it reached, the approval waiting."""
    airflow = run.get("airflow")
    if not airflow:
        return f"CLI: <code>misgw runs show {html.escape(run['run_id'])}</code>"
    base = f"/dags/{quote(airflow['dag_id'], safe='')}/runs/{quote(airflow['run_id'], safe='')}"
    out = [f'<a target=_top href="{base}">lần chạy</a>']
    task = _STAGE_TASK.get(run.get("stage") or "", "start")
    out.append(f'<a target=_top href="{base}/tasks/{task}">nhật ký ({html.escape(task)})</a>')
    if run.get("awaiting_approval"):
        out.append(f'<a target=_top href="{base}/tasks/approve"><b>phê duyệt</b></a>')
    answer = run.get("approval")
    if answer:
        who = answer.get("by") or "không ai (hết hạn)"
        out.append(f"phê duyệt: {html.escape(', '.join(answer.get('chosen') or ['—']))} bởi {html.escape(who)}")
    return " · ".join(out)


def _figure(value) -> str:
    """A movement figure, or a dash where none could be computed (no earlier year)."""
    return "—" if value is None else str(value)
