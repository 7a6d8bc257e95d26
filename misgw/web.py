"""The "MIS Gateway" page in the Airflow UI: per district, the last run, open rejects by age, the fix-up workbook,
and the poverty movement. Every route requires a signed-in Airflow user (the UI's session cookie, or a
bearer token): plugin endpoints are not protected by Airflow unless they ask, and this page shows
personal data.
"""
from __future__ import annotations

import html
import tempfile
from pathlib import Path

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
AGES = ["0-7 ngày", "8-30 ngày", "31-90 ngày", "> 90 ngày"]


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
    import sqlalchemy as sa

    from mis import db
    from misgw.reports import write_fixup_workbook

    engine = db.get_engine()
    with engine.connect() as conn:
        run = conn.execute(sa.text("""
            SELECT run_id, options FROM mis.sync_run WHERE source_id = :s AND status IN ('success', 'attention')
            AND NOT dry_run ORDER BY started_at DESC LIMIT 1"""), {"s": source_id}).mappings().first()
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
    data = _overview()
    rows = []
    for s in data["sources"]:
        last = s["last_run"] or {}
        status = last.get("status", "—")
        rc = last.get("reconcile") or {}
        counts = (f"{last.get('rows_read', 0)} dòng · {last.get('households_accepted', 0)} hộ nhận · "
                  f"{last.get('rows_rejected', 0)} dòng trả lại · {last.get('rows_held', 0)} dòng giữ lại") \
            if last else "chưa chạy"
        if last.get("unchanged_at_source"):
            counts = "không có thay đổi ở nguồn"
        reconcile = " · ".join(f"{k} {v}" for k, v in rc.items() if v) or "—"
        ages = "".join(f"<td class=n>{s['open_rejects'].get(a, 0) or ''}</td>" for a in AGES)
        links = " ".join(f'<a href="fixup/{html.escape(s["source_id"])}/{html.escape(d)}">{html.escape(d)}.xlsx</a>'
                         for d in ((s.get("last_load") or {}).get("fixup_districts") or [])) or "—"
        pov = s.get("poverty") or {}
        poverty = (f"{pov.get('poor_rate')}% số hộ được đánh giá là hộ nghèo · " + (
            f"thoát {pov.get('escaped')} · mới {pov.get('newly_poor')} · tái {pov.get('fell_back')}"
            if pov.get("escaped") is not None else "chưa có năm trước để so sánh")) if pov else "—"
        error = "".join(f'<div class=err>{html.escape(text)}</div>'
                        for text in (last.get("error"), last.get("attention")) if text)
        rows.append(
            f"<tr><td><b>{html.escape(s['source_id'])}</b><div class=sub>{html.escape(s['kind'])}</div></td>"
            f"<td>{html.escape(s['district_code'] or '—')}</td>"
            f"<td><span class=st style='background:{STATUS_COLOUR.get(status, '#57606a')}'>"
            f"{html.escape(STATUS_VI.get(status, status))}</span>"
            f"<div class=sub>{html.escape(str(last.get('finished_at') or last.get('started_at') or ''))[:16]}</div>"
            f"{error}</td><td>{counts}</td><td>{html.escape(reconcile)}</td>{ages}<td>{links}</td>"
            f"<td>{html.escape(poverty)}</td></tr>")
    province = data.get("province_poverty") or {}
    conflicts = data["cross_district_conflicts"]
    head = "".join(f"<th>{a}</th>" for a in AGES)
    return f"""<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>MIS Gateway</title>
<style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#1f2328}} h1{{font-size:22px;margin:0 0 4px}}
.lead{{color:#57606a;margin:0 0 16px}} table{{border-collapse:collapse;width:100%;font-size:14px}}
th,td{{border-bottom:1px solid #d0d7de;padding:8px;text-align:left;vertical-align:top}} th{{background:#f6f8fa}}
td.n{{text-align:right}} .sub{{color:#57606a;font-size:12px}} .st{{color:#fff;border-radius:10px;padding:2px 8px}}
.err{{color:#cf222e;font-size:12px;max-width:320px}} .box{{display:inline-block;border:1px solid #d0d7de;
border-radius:6px;padding:8px 12px;margin:0 12px 16px 0}}
</style></head><body>
<h1>Cổng MIS – tỉnh {html.escape(data['province_code'])}</h1>
<p class=lead>MIS Gateway: lần đồng bộ cuối của mỗi huyện, hồ sơ chờ sửa, sổ sửa lỗi và biến động hộ nghèo
(năm đánh giá {data.get('assessment_year') or '—'}).</p>
<div class=box>Hộ nghèo trong số hộ được đánh giá / poor share of assessed households:
<b>{province.get('poor_rate', '—')}%</b></div>
<div class=box>Thoát nghèo / escaped: <b>{_figure(province.get('escaped'))}</b> · Nghèo mới / newly poor:
<b>{_figure(province.get('newly_poor'))}</b> · Tái nghèo / fell back: <b>{_figure(province.get('fell_back'))}</b>
{'<br><small>Chưa có đánh giá năm trước: chưa tính được biến động / no earlier year to compare</small>'
 if province and province.get('escaped') is None else ''}</div>
<div class=box>Trùng số định danh giữa các huyện / same ID in two districts: <b>{len(conflicts)}</b></div>
<table><thead><tr><th>Nguồn</th><th>Huyện</th><th>Lần chạy cuối</th><th>Kết quả</th><th>Đối chiếu</th>
{head}<th>Sổ sửa lỗi</th><th>Biến động nghèo</th></tr>
<tr class=sub><th></th><th></th><th></th><th></th><th></th><th colspan=4>Hồ sơ chờ sửa theo thời gian / open rejects by age</th>
<th></th><th></th></tr></thead>
<tbody>{''.join(rows)}</tbody></table></body></html>"""


def _figure(value) -> str:
    """A movement figure, or a dash where none could be computed (no earlier year)."""
    return "—" if value is None else str(value)
