"""Returned fix-up workbooks edited as people edit them in Excel: sorted, filtered, rows and columns deleted
or inserted, keys overwritten, blocks pasted, two rounds left in the folder. After each, the MIS is
compared field by field with what the person meant: nothing changes that they did not change."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from rosters import write_config, write_roster
from test_pipeline import mis_db, misgw  # noqa: F401  (mis_db is a fixture)

# Xã Giai Xuân (31303), huyện Phong Điền (926), Cần Thơ: a commune roster with commune-local codes.
HEADER = ["STT", "Mã HGĐ", "Họ tên", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh", "Dân tộc", "Số CCCD",
          "Ấp", "Phân loại hộ", "Năm rà soát", "Thu nhập bình quân đầu người"]
ROSTER = [
    ["GX-07", "Huỳnh Văn Lộc", "Chủ hộ", "Nam", "04/07/1969", "Kinh", "092069001234", "Ấp Thới Hòa", "Hộ nghèo", 2025, 1100000],
    ["GX-07", "Phan Thị Nở", "Vợ", "Nữ", "30/02/1972", "Kinh", "092172004321", "Ấp Thới Hòa", "Hộ nghèo", 2025, 1100000],
    ["GX-07", "Huỳnh Thị Mai", "Con", "Nữ", "15/08/2001", "Kinh", "092301005555", "Ấp Thới Hòa", "Hộ nghèo", 2025, 1100000],
    ["GX-12", "Thạch Sô Phol", "Chủ hộ", "Nam", "11/11/1960", "Khmer", "092060007777", "Ấp Thới An", "Hộ cận nghèo", 2025, 1400000],
    ["GX-12", "Thạch Thị Sa Rết", "Con", "Không biết", "02/02/1990", "Khmer", "092190008888", "Ấp Thới An", "Hộ cận nghèo", 2025, 1400000],
    ["GX-15", "Đỗ Minh Trí", "Chủ hộ", "Nam", "09/09/1980", "Kinh", "092080009999", "Ấp Thới Thạnh", "Hộ nghèo", 2025, 900000],
]
FIX = "Cần sửa"
KEY = "Mã dòng (không sửa)"
# What the MIS must hold once each person's record is right: name -> (sex, birth date, ethnicity, ID).
TRUTH = {
    "Huỳnh Văn Lộc": ("M", "1969-07-04", "01", "092069001234"),
    "Phan Thị Nở": ("F", "1972-02-28", "01", "092172004321"),
    "Huỳnh Thị Mai": ("F", "2001-08-15", "01", "092301005555"),
    "Thạch Sô Phol": ("M", "1960-11-11", "05", "092060007777"),
    "Thạch Thị Sa Rết": ("F", "1990-02-02", "05", "092190008888"),
    "Đỗ Minh Trí": ("M", "1980-09-09", "01", "092080009999"),
}


@pytest.fixture
def first_round(tmp_path, mis_db):  # noqa: F811
    """The roster synced once (GX-15 loads; GX-07 and GX-12 are held), and its fix-up workbook."""
    write_roster(tmp_path / "d" / "giai-xuan.xlsx", rows=ROSTER, sheet="Xã Giai Xuân", header=HEADER)
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "gx", "kind": "spreadsheet", "path": "d",
                                                  "district_code": "926"}])
    first = _sync(cfg, mis_db)
    assert first["households_accepted"] == 1 and first["households_rejected"] == 2, first
    out = tmp_path / "sua-loi-1.xlsx"
    assert misgw("rejects", "export", "--source", "gx", "--out", str(out), env_url=mis_db).returncode == 0
    return cfg, out


def _sync(cfg: Path, url: str) -> dict:
    run = misgw("sync", "--config", str(cfg), "--json", env_url=url)
    assert "Traceback" not in run.stderr, run.stderr
    [summary] = json.loads(run.stdout)
    return Summary(summary, misgw("rejects", "list", env_url=url).stdout)


class Summary(dict):
    """A run's summary that shows the run's open rejects when an assertion on it fails."""
    def __init__(self, summary: dict, rejects: str):
        super().__init__(summary)
        self.rejects = rejects

    def __repr__(self) -> str:
        return f"{dict.__repr__(self)[:300]}\nrejects:\n{self.rejects}"


def _sheet(path: Path):
    wb = load_workbook(path)
    return wb, wb[FIX]


def _columns(ws) -> dict[str, int]:
    return {c.value: c.column for c in ws[1] if c.value}


def _set(ws, name: str, header: str, value) -> None:
    """Type a value into the cell of the person named `name` under `header`."""
    col = _columns(ws)
    for row in range(2, ws.max_row + 1):
        if ws.cell(row, col["Họ tên"]).value == name:
            ws.cell(row, col[header]).value = value
            return
    raise AssertionError(f"{name} not in the workbook")


def _fix_both(ws) -> None:
    _set(ws, "Phan Thị Nở", "Ngày sinh", "28/02/1972")
    _set(ws, "Thạch Thị Sa Rết", "Giới tính", "Nữ")


def _mis(url: str) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("""
            SELECT m.full_name, m.sex, m.birth_date::text, m.ethnicity_code, m.id_number, h.local_code,
                   h.commune_code_pre2025, h.hamlet, p.poverty_category, p.income_per_capita::int
            FROM mis.member m JOIN mis.household h USING (household_id)
            LEFT JOIN mis.poverty_assessment p USING (household_id) ORDER BY m.full_name""")).all()
    engine.dispose()
    return {r[0]: tuple(r[1:]) for r in rows}


def _open(url: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT DISTINCT household_code, rule FROM mis.reject_entry WHERE status = 'open' "
                                    "AND rule <> 'household.held_back' ORDER BY 1, 2")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def _assert_truth(url: str, names: set[str]) -> None:
    """The people named are in the MIS exactly as TRUTH says, in their own household and commune."""
    mis = _mis(url)
    assert set(mis) == names, sorted(mis)
    homes = {r[1]: r for r in ROSTER}
    for name in names:
        sex, birth, ethnicity, id_number, local, commune, hamlet, category, income = mis[name]
        assert (sex, birth, ethnicity, id_number) == TRUTH[name], (name, mis[name])
        row = homes[name]
        assert (local, commune, hamlet, income) == (row[0], "31303", row[7], row[10]), (name, mis[name])
        assert category == ("poor" if row[8] == "Hộ nghèo" else "near_poor"), (name, mis[name])


def _return(cfg: Path, wb, name: str = "sua-loi-1.xlsx") -> Path:
    path = cfg.parent / "d" / name
    wb.save(path)
    return path


def test_rows_sorted_by_name_keep_their_own_records(first_round, mis_db):  # noqa: F811
    cfg, out = first_round
    wb, ws = _sheet(out)
    _fix_both(ws)
    # Data > Sort by «Họ tên», descending: whole rows move, the hidden key with them.
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    name_at = _columns(ws)["Họ tên"] - 1
    rows.sort(key=lambda r: r[name_at], reverse=True)
    for i, values in enumerate(rows, start=2):
        for j, v in enumerate(values, start=1):
            ws.cell(i, j).value = v
    _return(cfg, wb)
    run = _sync(cfg, mis_db)
    assert run["reconcile"]["new"] == 2 and run["households_rejected"] == 0 and run["rows_rejected"] == 0, run
    assert run["reconcile"]["moved"] == 0, run
    _assert_truth(mis_db, set(TRUTH))
    assert _open(mis_db) == []


def test_a_filtered_workbook_reads_every_row_and_loads_only_what_was_fixed(first_round, mis_db):  # noqa: F811
    cfg, out = first_round
    wb, ws = _sheet(out)
    col = _columns(ws)
    ws.auto_filter.ref = ws.dimensions
    for row in range(2, ws.max_row + 1):        # filtered to GX-12: the other rows hidden, not gone
        if ws.cell(row, col["Mã HGĐ"]).value != "GX-12":
            ws.row_dimensions[row].hidden = True
    _set(ws, "Thạch Thị Sa Rết", "Giới tính", "Nữ")
    _return(cfg, wb)
    run = _sync(cfg, mis_db)
    assert run["reconcile"]["new"] == 1 and run["households_rejected"] == 1, run
    _assert_truth(mis_db, {"Đỗ Minh Trí", "Thạch Sô Phol", "Thạch Thị Sa Rết"})
    assert _open(mis_db) == [("31303/GX-07", "format.birth_date")]


def test_deleted_rows_change_nothing(first_round, mis_db):  # noqa: F811
    cfg, out = first_round
    wb, ws = _sheet(out)
    _fix_both(ws)
    col = _columns(ws)
    # The head of GX-07 (a row with nothing wrong) and the child of GX-12 (the row with the error) deleted.
    for name in ("Huỳnh Văn Lộc", "Thạch Thị Sa Rết"):
        row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, col["Họ tên"]).value == name)
        ws.delete_rows(row)
    _return(cfg, wb)
    run = _sync(cfg, mis_db)
    # GX-07 loads whole (its head as sent); GX-12's error row is back as sent, so GX-12 stays held.
    assert run["reconcile"]["new"] == 1 and run["households_rejected"] == 1, run
    _assert_truth(mis_db, {"Đỗ Minh Trí", "Huỳnh Văn Lộc", "Phan Thị Nở", "Huỳnh Thị Mai"})
    assert _open(mis_db) == [("31303/GX-12", "codelist.sex")]
    shown = misgw("runs", "show", run["run_id"], env_url=mis_db).stdout
    assert "2 dòng đã bị xóa khỏi tệp sửa" in shown or "1 dòng đã bị xóa khỏi tệp sửa" in shown, shown


def test_a_deleted_column_never_blanks_the_mis(first_round, mis_db):  # noqa: F811
    cfg, out = first_round
    wb, ws = _sheet(out)
    _fix_both(ws)
    ws.delete_cols(_columns(ws)["Dân tộc"])
    _return(cfg, wb)
    run = _sync(cfg, mis_db)
    assert run["reconcile"]["new"] == 2 and run["households_rejected"] == 0 and run["rows_rejected"] == 0, run
    _assert_truth(mis_db, set(TRUTH))                     # ethnicity as sent: Kinh 01, Khơ-me 05
    assert any("«Dân tộc» đã bị xóa" in n for n in run["fixup_notes"]), run
    assert "«Dân tộc» đã bị xóa" in misgw("runs", "show", run["run_id"], env_url=mis_db).stdout


def test_an_inserted_column_is_named_and_harmless(first_round, mis_db):  # noqa: F811
    cfg, out = first_round
    wb, ws = _sheet(out)
    _fix_both(ws)
    ws.insert_cols(3)
    ws.cell(1, 3).value = "Ghi chú của xã"
    ws.cell(2, 3).value = "đã xác minh tại nhà"
    _return(cfg, wb)
    run = _sync(cfg, mis_db)
    assert run["reconcile"]["new"] == 2 and run["households_rejected"] == 0 and run["rows_rejected"] == 0, run
    _assert_truth(mis_db, set(TRUTH))
    assert _open(mis_db) == []


def test_an_overwritten_key_is_rejected_with_its_reason(first_round, mis_db):  # noqa: F811
    cfg, out = first_round
    wb, ws = _sheet(out)
    _fix_both(ws)
    col = _columns(ws)
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, col["Họ tên"]).value == "Thạch Thị Sa Rết")
    ws.cell(row, col[KEY]).value = "K000000000"
    _return(cfg, wb)
    run = _sync(cfg, mis_db)
    assert run["reconcile"]["new"] == 1 and run["households_rejected"] == 1, run
    _assert_truth(mis_db, {"Đỗ Minh Trí", "Huỳnh Văn Lộc", "Phan Thị Nở", "Huỳnh Thị Mai"})
    listed = misgw("rejects", "list", "--json", env_url=mis_db).stdout
    assert "không gắn được với hồ sơ nào" in listed and "Mã dòng" in listed, listed


def test_values_pasted_over_a_block_of_other_rows_load_nothing_wrong(first_round, mis_db):  # noqa: F811
    cfg, out = first_round
    before = _mis(mis_db)
    wb, ws = _sheet(out)
    col = _columns(ws)
    visible = [c for h, c in col.items() if h != KEY]
    rows = {ws.cell(r, col["Họ tên"]).value: r for r in range(2, ws.max_row + 1)}
    # GX-12's two rows copied (visible columns only) and pasted over the first two rows of GX-07.
    for source, target in (("Thạch Sô Phol", "Huỳnh Văn Lộc"), ("Thạch Thị Sa Rết", "Phan Thị Nở")):
        for c in visible:
            ws.cell(rows[target], c).value = ws.cell(rows[source], c).value
    _return(cfg, wb)
    run = _sync(cfg, mis_db)
    assert run["reconcile"]["new"] == 0 and run["households_rejected"] == 2, run
    assert _mis(mis_db) == before                           # nothing written
    assert "31303/GX-07" in {h for h, _ in _open(mis_db)}


def test_a_household_code_corrected_in_the_workbook_is_a_fix_not_a_paste(first_round, mis_db):  # noqa: F811
    """The district finds GX-07 was the wrong code and writes GX-17 on its rows: a correction, not a row pasted
    from another household (no household of the workbook has that code)."""
    cfg, out = first_round
    wb, ws = _sheet(out)
    col = _columns(ws)
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, col["Mã HGĐ"]).value == "GX-07":
            ws.cell(r, col["Mã HGĐ"]).value = "GX-17"
    _set(ws, "Phan Thị Nở", "Ngày sinh", "28/02/1972")
    _return(cfg, wb)
    run = _sync(cfg, mis_db)
    assert run["reconcile"]["new"] == 1 and run["households_rejected"] == 1, (dict(run), run.rejects)
    mis = _mis(mis_db)
    assert {n for n, r in mis.items() if r[4] == "GX-17"} == {"Huỳnh Văn Lộc", "Phan Thị Nở", "Huỳnh Thị Mai"}, mis
    assert "GX-07" not in {r[4] for r in mis.values()}
    assert not [h for h, _ in _open(mis_db) if h.endswith("GX-07")], _open(mis_db)


def test_two_rounds_in_one_folder_then_the_first_removed(first_round, mis_db):  # noqa: F811
    cfg, out = first_round
    wb, ws = _sheet(out)
    _set(ws, "Phan Thị Nở", "Ngày sinh", "28/02/1972")      # GX-07 fixed
    _set(ws, "Thạch Thị Sa Rết", "Giới tính", "Khong ro")   # GX-12 still wrong
    one = _return(cfg, wb, "sua-loi-1.xlsx")
    run1 = _sync(cfg, mis_db)
    assert run1["reconcile"]["new"] == 1 and run1["households_rejected"] == 1, run1
    _assert_truth(mis_db, {"Đỗ Minh Trí", "Huỳnh Văn Lộc", "Phan Thị Nở", "Huỳnh Thị Mai"})

    out2 = cfg.parent / "sua-loi-2-export.xlsx"
    assert misgw("rejects", "export", "--source", "gx", "--out", str(out2), env_url=mis_db).returncode == 0
    wb2, ws2 = _sheet(out2)
    meta = wb2["_misgw"]
    assert [c.value for c in meta[1]][6:8] == ["round", 2]
    # Round 2 names the district's own roster as each record's place, not the round-1 file.
    origin = {c.value: c.column for c in ws2[1]}
    assert {ws2.cell(r, origin["Tệp gốc"]).value for r in range(2, ws2.max_row + 1)} == {"giai-xuan.xlsx"}
    assert ws2.max_row == 3                                  # GX-12's two rows only
    _set(ws2, "Thạch Thị Sa Rết", "Giới tính", "Nữ")
    _return(cfg, wb2, "sua-loi-2.xlsx")                      # beside the round-1 file
    run2 = _sync(cfg, mis_db)
    assert run2["reconcile"]["new"] == 1 and run2["rows_rejected"] == 0, run2
    assert run2["households_rejected"] == 0, run2
    _assert_truth(mis_db, set(TRUTH))
    assert _open(mis_db) == []

    one.unlink()                                              # the first round removed from the folder
    state = _mis(mis_db)
    run3 = _sync(cfg, mis_db)
    assert run3["rows_rejected"] == 0 and run3["households_rejected"] == 0, run3
    assert _open(mis_db) == []                                # nothing the round-1 file fixed reopens
    assert _mis(mis_db) == state


def test_a_workbook_whose_key_column_was_deleted_is_not_read(first_round, mis_db):  # noqa: F811
    cfg, out = first_round
    before = _mis(mis_db)
    wb, ws = _sheet(out)
    _fix_both(ws)
    ws.delete_cols(_columns(ws)[KEY])
    _return(cfg, wb)
    run = _sync(cfg, mis_db)
    assert run["status"] == "attention", run
    assert "Mã dòng" in json.dumps(run["files_stopped"], ensure_ascii=False), run
    assert _mis(mis_db) == before


def test_the_district_sees_full_ids_in_its_workbook_and_nowhere_else(tmp_path, mis_db):  # noqa: F811
    """Two people of GX-12 written with one CCCD: the workbook (the district's own data) quotes the digits
    to check; the CLI, the run summary, the logs and the ledger show them masked."""
    rows = [list(r) for r in ROSTER]
    rows[4][6] = rows[3][6]                                   # the child written with her father's CCCD
    write_roster(tmp_path / "d" / "giai-xuan.xlsx", rows=rows, sheet="Xã Giai Xuân", header=HEADER)
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "gx", "kind": "spreadsheet", "path": "d",
                                                  "district_code": "926"}])
    run = misgw("sync", "--config", str(cfg), "--json", env_url=mis_db)
    full = rows[3][6]
    out = tmp_path / "sua-loi.xlsx"
    exported = misgw("rejects", "export", "--source", "gx", "--out", str(out), env_url=mis_db)
    ws = load_workbook(out)[FIX]
    col = _columns(ws)
    reasons = [ws.cell(r, col["Lý do cần sửa"]).value for r in range(2, ws.max_row + 1)]
    assert any(full in r and "*" not in r for r in reasons if r), reasons
    comments = [ws.cell(r, col["Số CCCD"]).comment for r in range(2, ws.max_row + 1)]
    assert any(c is not None and full in c.text for c in comments)
    shown = [run.stdout, run.stderr, exported.stdout, exported.stderr,
             misgw("rejects", "list", env_url=mis_db).stdout, misgw("rejects", "list", "--json", env_url=mis_db).stdout,
             misgw("runs", "show", json.loads(run.stdout)[0]["run_id"], env_url=mis_db).stdout,
             misgw("rejects", "aging", env_url=mis_db).stdout]
    assert all(full not in text for text in shown)
    assert any("092******777" in text for text in shown)
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        ledger = conn.execute(sa.text("SELECT string_agg(message_vi || coalesce(value, ''), ' ') FROM mis.reject")).scalar()
    engine.dispose()
    assert full not in ledger and "092******777" in ledger


def test_a_night_with_no_new_file_keeps_the_workbook_and_warnings_reach_the_district(tmp_path, mis_db):  # noqa: F811
    rows = [list(r) for r in ROSTER]
    rows[5][6] = "361234567"                                  # GX-15's head: an old 9-digit CMND (a warning)
    write_roster(tmp_path / "d" / "giai-xuan.xlsx", rows=rows, sheet="Xã Giai Xuân", header=HEADER)
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "gx", "kind": "spreadsheet", "path": "d",
                                                  "district_code": "926"}])
    first = _sync(cfg, mis_db)
    assert first["reconcile"]["new"] == 1 and first["households_rejected"] == 2, first
    night = _sync(cfg, mis_db)                                  # nothing new at the source
    assert night["unchanged_at_source"] and night["rows_read"] == 0, night
    out = tmp_path / "sua-loi.xlsx"
    done = misgw("rejects", "export", "--source", "gx", "--out", str(out), env_url=mis_db)
    assert done.returncode == 0 and "Fix-up workbook written" in done.stdout, done
    wb = load_workbook(out)
    assert wb[FIX].max_row == 6                                 # GX-07 and GX-12, all five rows, still open
    notes = [[c for c in r] for r in wb["Cảnh báo (không chặn)"].iter_rows(min_row=2, values_only=True)]
    assert [n[0] for n in notes] == ["GX-15"] and "CMND" in notes[0][3], notes
    assert "«361234567»" in notes[0][3], notes                 # the district sees its own person's number
    # The warnings sheet is never read back: returned as it is, it changes nothing.
    before = _mis(mis_db)
    wb.save(tmp_path / "d" / "sua-loi.xlsx")
    back = _sync(cfg, mis_db)
    assert back["households_rejected"] == 2 and _mis(mis_db) == before, back
