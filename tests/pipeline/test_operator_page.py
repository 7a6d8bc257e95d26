"""The operator's page and the approval text, from the MIS as real runs leave it: Vietnamese names, rejects, held
households and warnings counted apart (the same count as `rejects aging` and the fix-up workbook), Vietnam
time, a quiet night said as such, a failure's reason in Vietnamese, and the changes a person approves."""
from __future__ import annotations

import json
import re

import sqlalchemy as sa
import yaml
from rosters import write_config, write_roster
from test_pipeline import mis_db, misgw  # noqa: F401  (mis_db is a fixture)

# Xã Nhơn Ái (31300), Huyện Phong Điền (926). Invented households: a head and a child each, no ID numbers
# except where a row is about the ID.
NAMES = ["Huỳnh Văn Lộc", "Thạch Thị Sa Rết", "Lâm Văn Tài", "Danh Thị Mỹ", "Kim Văn Sơn", "Trương Thị Út",
         "Tăng Văn Phước", "Châu Thị Kiều", "Lý Văn Nhàn", "Sơn Thị Phai", "Mai Văn Hiếu", "Đoàn Thị Sen"]


def _roster(category: str = "Hộ nghèo", income: int = 1_100_000) -> list[list]:
    rows = []
    for i, name in enumerate(NAMES):
        code = f"NA-{i + 1:03d}"
        rows.append([code, name, "Chủ hộ", "Nam" if "Văn" in name else "Nữ", f"0{i % 9 + 1}/04/1971", "Kinh", None,
                     "Ấp Thới Bình", category, 2025, income])
        rows.append([code, f"{name.split()[0]} Văn Bé", "Con", "Nam", "2009", "Kinh", None, "Ấp Thới Bình",
                     category, 2025, income])
    rows[3][3] = "Không rõ"                        # NA-002's head: a sex nobody can read: held back
    rows[4][6] = "092171123"                       # NA-003's head: a 9-digit CMND: a warning, not a block
    return rows


def _overview(url: str, cfg) -> tuple[dict, str]:
    from mis import db
    from misgw import province
    from misgw.airflow import page as web
    from misgw.config import load_config

    with db.get_engine(url).connect() as conn:
        data = province.overview(conn, load_config(cfg))
    return json.loads(json.dumps(data, default=str)), web.render(data)


def _row(page: str, source: str) -> str:
    start = page.index(f"data-source='{source}'")
    return page[page.rindex("<tr", 0, start):page.index("</tr>", start)]


def test_the_page_counts_apart_names_units_speaks_vietnam_time_and_says_why_in_vietnamese(tmp_path, mis_db):
    (tmp_path / "hong").mkdir()
    (tmp_path / "hong" / "ds.xlsx").write_text("<html>not a workbook</html>")
    write_roster(tmp_path / "d" / "phong-dien.xlsx", _roster())
    cfg = write_config(tmp_path / "misgw.yaml", [
        {"id": "pd", "kind": "spreadsheet", "path": "d", "district_code": "926"},
        {"id": "vt", "kind": "spreadsheet", "path": "hong", "district_code": "924"}])
    first = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert [r["status"] for r in first] in (["success", "failed"], ["attention", "failed"]), first
    quiet = json.loads(misgw("sync", "--config", str(cfg), "--source", "pd", "--json", env_url=mis_db).stdout)
    assert quiet[0]["unchanged_at_source"], quiet

    data, page = _overview(mis_db, cfg)
    pd_row, vt_row = _row(page, "pd"), _row(page, "vt")
    by_source = {s["source_id"]: s for s in data["sources"]}
    opened = by_source["pd"]["open"]
    # Counted apart: one household held (its unreadable sex), one warning (the CMND), nothing missing.
    assert (opened["rejects"], opened["households_held"], opened["warnings"], opened["missing"]) == (1, 1, 1, 0), opened
    assert [r["addressee"] for r in opened["by_addressee"]] == ["926"]
    # One count everywhere: the page's total is `rejects aging`'s and the ledger's.
    aging = json.loads(misgw("rejects", "aging", "--json", env_url=mis_db).stdout)
    aged = sum(r["entries"] for r in aging if r["source_id"] == "pd")
    assert f"data-open='{aged}'" in pd_row and aged == 2, (aged, pd_row)
    # Names, not only codes; the quiet night said as such; the last load kept beside the last attempt.
    assert "Huyện Phong Điền" in pd_row and "Huyện Vĩnh Thạnh" in vt_row
    assert data["province_name"] == "Thành phố Cần Thơ"
    assert "không có thay đổi ở nguồn" in pd_row and "pd/926" in pd_row.replace("fixup/", "")
    # Vietnam time: what the database holds, shown at UTC+7.
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        shown = conn.execute(sa.text("""
            SELECT to_char(finished_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'DD/MM/YYYY HH24:MI') FROM mis.sync_run
            WHERE source_id = 'pd' ORDER BY started_at DESC LIMIT 1""")).scalar()
    engine.dispose()
    assert shown in pd_row and "Giờ Việt Nam (UTC+7)" in page
    # The failed source: its reason in Vietnamese, the English detail kept for IT, and no load yet.
    assert "thất bại" in vt_row and "tệp bị hỏng hoặc không phải bảng tính Excel" in vt_row, vt_row
    assert "ds.xlsx" in vt_row and "chưa tải lần nào" in vt_row
    assert re.search(r"CLI: <code>misgw runs show \d{14}-\w+</code>", vt_row)   # where to look next
    # The province summary (what the province DAG keeps) is the same overview.
    report = misgw("province", "report", "--config", str(cfg), env_url=mis_db)
    assert report.returncode == 0 and "Traceback" not in report.stderr, report.stderr


def test_a_partial_run_says_it_judged_only_what_changed(tmp_path, mis_db):
    write_roster(tmp_path / "d" / "phong-dien.xlsx", _roster())
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d",
                                                  "district_code": "926"}])
    misgw("sync", "--config", str(cfg), "--json", env_url=mis_db, check=True)
    rows = _roster()
    rows[0][10] = 900_000                          # one household's income corrected (both its rows)
    rows[1][10] = 900_000
    write_roster(tmp_path / "d" / "phong-dien.xlsx", rows)
    [run] = json.loads(misgw("sync", "--config", str(cfg), "--json", env_url=mis_db).stdout)
    assert run["partial"], run
    data, page = _overview(mis_db, cfg)
    row = _row(page, "pd")
    # The corrected household, and the one still held from the first run (read again until it loads).
    assert "chỉ xét các hộ thay đổi từ lần tải trước: 2 hộ thay đổi, 10 hộ không đổi không xét lại" in row, row


def test_the_approval_text_lists_households_and_fields_before_and_after_in_vietnamese(tmp_path, mis_db):
    write_roster(tmp_path / "d" / "phong-dien.xlsx", _roster())
    path = write_config(tmp_path / "misgw.yaml", [{"id": "pd", "kind": "spreadsheet", "path": "d",
                                                   "district_code": "926"}])
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config.update(approval_threshold=0.3, approval_min_households=3)
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    misgw("sync", "--config", str(path), "--json", env_url=mis_db, check=True)
    write_roster(tmp_path / "d" / "phong-dien.xlsx", _roster("Hộ cận nghèo", 1_400_000))
    [held] = json.loads(misgw("sync", "--config", str(path), "--json", env_url=mis_db).stdout)
    assert held["status"] == "held", held

    from misgw.stages import approval

    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        figures = conn.execute(sa.text("SELECT approval FROM mis.sync_run WHERE run_id = :r"),
                               {"r": held["run_id"]}).scalar()
    engine.dispose()
    text = approval.text({**figures, "wait_days": 7})
    assert "Huyện Phong Điền" in text and "Các hộ thay đổi (11 / 11 hộ):" in text
    assert "**31300/NA-001** (thay đổi): Phân loại hộ: Hộ nghèo → Hộ cận nghèo" in text, text
    assert "Thu nhập bình quân đầu người: 1.100.000 đ → 1.400.000 đ" in text, text
    assert "income_per_capita" not in text.split("This run")[0]          # field names in Vietnamese
    assert "Nếu không ai trả lời trong 7 ngày, lần chạy được coi là **Từ chối**" in text
