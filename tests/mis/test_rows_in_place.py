"""A workbook read again maps only the rows not found in their place: after every edit a person makes in
Excel, the MIS ends as a full reload's, and the rows left out are counted."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from rosters import write_config
from test_pipeline import mis_db, misgw, natural_state  # noqa: F401  (mis_db is a fixture)
from test_reliability import reference_db  # noqa: F401  (a fixture)

# Cờ Đỏ (925), Cần Thơ: two communes on one sheet, household codes restarting at 001 in each, the
# commune, the code and the category written on the head's row only (the layout of many commune offices).
HEADER = ["TT", "Xã", "Mã hộ", "Họ và tên", "Quan hệ với chủ hộ", "Giới tính", "Ngày sinh", "Dân tộc",
          "Số CCCD", "Ấp", "Phân loại hộ", "Năm rà soát"]
COMMUNES = [("Xã Trung An", ["Ấp Thạnh Phước", "Ấp Thạnh Lộc"]), ("Xã Thới Hưng", ["Ấp Thới Phước", "Ấp Thới Trinh"])]
FAMILY = ["Thạch", "Danh", "Lâm", "Huỳnh", "Quách", "Châu", "Triệu", "Kim"]
GIVEN = ["Sang", "Phươl", "Sóc", "Chanh", "Ngọc Hân", "Bảo Trâm", "Minh Luân", "Thị Sa Rết", "Văn Pho", "Kiều Oanh"]
PER_COMMUNE = 8


def households() -> list[list[list]]:
    """Each household's rows (without TT): head, spouse, and a child in every other household."""
    out = []
    for c, (commune, hamlets) in enumerate(COMMUNES):
        for n in range(1, PER_COMMUNE + 1):
            k = c * PER_COMMUNE + n
            family, given = FAMILY[k % len(FAMILY)], GIVEN[k % len(GIVEN)]
            year = 1958 + 2 * k
            head = [commune, f"{n:03d}", f"{family} {given}", "Chủ hộ", "Nam", f"{k % 27 + 1:02d}/0{k % 9 + 1}/{year}",
                    "Khmer", f"0920{year % 100:02d}{9000 + k:06d}", hamlets[k % 2],
                    "Hộ nghèo" if k % 3 else "Hộ cận nghèo", 2025]
            rows = [head,
                    [None, None, f"Sơn Thị {GIVEN[(k + 3) % len(GIVEN)]}", "Vợ", "Nữ", str(year + 3), "Khmer",
                     f"0921{(year + 3) % 100:02d}{8000 + k:06d}", hamlets[k % 2], None, None]]
            if k % 2:
                rows.append([None, None, f"{family} {GIVEN[(k + 5) % len(GIVEN)]}", "Con", "Nam",
                             f"15/06/{2008 + k % 10}", "Khmer", None, hamlets[k % 2], None, None])
            out.append(rows)
    return out


def write_book(path, rows: list[list], sheet: str = "Danh sách hộ") -> None:
    """Title, header, TT-numbered rows and a signature block, as the commune office keeps the file."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(["DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM 2025 - HUYỆN CỜ ĐỎ"])
    ws.append(HEADER)
    for i, row in enumerate(rows, start=1):
        ws.append([i, *row])
    ws.append([])
    ws.append([None, None, None, "Người lập biểu", None, None, None, None, "Chủ tịch UBND"])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def data_rows(path) -> tuple[Workbook, object, int, int]:
    """The workbook, its sheet, and the sheet's first and last data rows (after the header, before the blank)."""
    wb = load_workbook(path)
    ws = wb.active
    last = next(r for r in range(3, ws.max_row + 2) if ws.cell(r, 4).value is None) - 1
    return wb, ws, 3, last


def find(ws, name: str) -> int:
    return next(r for r in range(3, ws.max_row + 1) if ws.cell(r, 4).value == name)


def sync(cfg, url: str, *args: str, statuses: tuple[str, ...] = ("success",)) -> dict:
    run = misgw("sync", "--config", str(cfg), "--json", *args, env_url=url)
    [summary] = json.loads(run.stdout)
    assert summary["status"] in statuses, (summary, run.stderr[-3000:])
    return summary


def run_options(url: str, run_id: str) -> dict:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        options = conn.execute(sa.text("SELECT options FROM mis.sync_run WHERE run_id = :r"), {"r": run_id}).scalar()
    engine.dispose()
    return options


def household_rows(url: str) -> list[tuple]:
    """Each household's code, commune, category and its members' names: what the MIS holds, readably."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("""
            SELECT h.household_code, h.commune_code_pre2025, string_agg(m.full_name, ', ' ORDER BY m.full_name)
            FROM mis.household h JOIN mis.member m USING (household_id) WHERE m.listed
            GROUP BY 1, 2 ORDER BY 1""")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def edit_cell(ws, name: str, column: int, value) -> None:
    ws.cell(find(ws, name), column).value = value


@pytest.fixture
def district(tmp_path, mis_db, reference_db):  # noqa: F811
    """The roster loaded into two MIS databases: one is synced as districts' files arrive (narrowed), the
    other reloads the whole workbook each time (--full), the reference every narrowed run must equal."""
    book = tmp_path / "co-do" / "danh-sach-ho.xlsx"
    rows = [r for h in households() for r in h]
    write_book(book, rows)
    cfg = write_config(tmp_path / "misgw.yaml", [{"id": "cd", "kind": "spreadsheet", "path": "co-do",
                                                  "district_code": "925"}])
    first = {url: sync(cfg, url) for url in (mis_db, reference_db)}
    assert first[mis_db]["households_accepted"] == 2 * PER_COMMUNE, first[mis_db]
    return book, cfg, {url: run["run_id"] for url, run in first.items()}


def both(cfg, mis_db, reference_db, first_run, statuses=("success",)) -> tuple[dict, dict]:  # noqa: F811
    narrowed = sync(cfg, mis_db, statuses=statuses)
    reloaded = sync(cfg, reference_db, "--full", statuses=statuses)
    assert narrowed["status"] == reloaded["status"]
    for key in ("reconcile", "households_accepted", "rows_rejected", "households_rejected"):
        if key != "households_accepted" or not narrowed["partial"]:
            assert narrowed[key] == reloaded[key], (key, narrowed, reloaded)
    # Every row accounted for, the rows left out among the unchanged: as many read as the full reload read.
    for a, b in zip(narrowed["row_accounts"], reloaded["row_accounts"], strict=True):
        assert a["read"] == b["read"] == sum(a[k] for k in ("loaded", "unchanged", "rejected", "held", "superseded",
                                                           "skipped", "stopped")), (a, b)
    assert household_rows(mis_db) == household_rows(reference_db)
    assert natural_state(mis_db, first_run[mis_db]) == natural_state(reference_db, first_run[reference_db])
    options = run_options(mis_db, narrowed["run_id"])
    assert (narrowed["rows_settled"], narrowed["not_narrowed"]) == \
        (options["rows_settled"], options.get("not_narrowed")), (narrowed, options)
    return narrowed, options


def test_an_edited_cell_maps_its_household_and_neighbours_only(district, mis_db, reference_db):  # noqa: F811
    book, cfg, first_run = district
    wb, ws, top, last = data_rows(book)
    total = last - top + 1
    # The category of Thới Hưng's 004, written on its head's row, corrected.
    head = find(ws, f"{FAMILY[12 % 8]} {GIVEN[12 % 10]}")
    assert ws.cell(head, 3).value == "004" and ws.cell(head, 2).value == "Xã Thới Hưng"
    ws.cell(head, 11).value = "Hộ cận nghèo" if ws.cell(head, 11).value == "Hộ nghèo" else "Hộ nghèo"
    wb.save(book)
    run, options = both(cfg, mis_db, reference_db, first_run)
    assert run["reconcile"]["changed"] == 1, run
    # The household and the households next to it are read; every other row is left out, counted.
    assert 0 < options["rows_settled"] < total - 2 and "not_narrowed" not in options, options


def test_a_member_added_far_from_its_household_joins_it(district, mis_db, reference_db):  # noqa: F811
    book, cfg, first_run = district
    wb, ws, top, last = data_rows(book)
    # A new child of Trung An's 002 typed at the end of the list, its code and commune written again.
    ws.insert_rows(last + 1)
    for col, value in enumerate([last - top + 2, "Xã Trung An", "002", "Danh Sa Ly", "Con", "Nữ", "03/03/2015",
                                 "Khmer", None, "Ấp Thạnh Lộc", None, None], start=1):
        ws.cell(last + 1, col).value = value
    wb.save(book)
    # Provincial IT read why a rerun mapped every row, in the sync's own summary (a dry run first).
    said = misgw("sync", "--config", str(cfg), "--dry-run", env_url=mis_db)
    assert "every row mapped again, not only those changed since the last load: 1 row(s) read belong to " \
        "households otherwise unchanged" in said.stdout, said.stdout
    run, options = both(cfg, mis_db, reference_db, first_run)
    assert any("Danh Sa Ly" in r[2] for r in household_rows(mis_db) if r[0].endswith("002")), household_rows(mis_db)
    assert options["rows_settled"] == 0 and "otherwise unchanged" in options["not_narrowed"], options


def test_a_head_row_deleted_gives_its_members_to_the_household_above(district, mis_db, reference_db):  # noqa: F811
    book, cfg, first_run = district
    wb, ws, top, last = data_rows(book)
    head = find(ws, f"{FAMILY[3 % 8]} {GIVEN[3 % 10]}")       # Trung An's 003
    assert ws.cell(head, 3).value == "003"
    ws.delete_rows(head)
    wb.save(book)
    both(cfg, mis_db, reference_db, first_run)


def test_inserted_rows_sorting_a_renamed_sheet_and_a_renamed_header(district, mis_db, reference_db):  # noqa: F811
    book, cfg, first_run = district
    # A new household inserted in the middle, TT not renumbered (people rarely do).
    wb, ws, top, last = data_rows(book)
    at = find(ws, f"{FAMILY[6 % 8]} {GIVEN[6 % 10]}")          # Trung An's 006
    ws.insert_rows(at, 2)
    for r, row in enumerate([[None, "Xã Trung An", "009", "Kim Sô Phăl", "Chủ hộ", "Nữ", "02/02/1966", "Khmer",
                              "092166009999", "Ấp Thạnh Lộc", "Hộ nghèo", 2025],
                             [None, None, None, "Kim Văn Ny", "Con", "Nam", "1999", "Khmer", None,
                              "Ấp Thạnh Lộc", None, None]]):
        for col, value in enumerate(row, start=1):
            ws.cell(at + r, col).value = value
    wb.save(book)
    run, options = both(cfg, mis_db, reference_db, first_run)
    assert run["reconcile"]["new"] == 1 and options["rows_settled"] > 0, (run, options)

    # A header written another way: the same fields, so the rows still read as before.
    wb, ws, top, last = data_rows(book)
    ws.cell(2, 4).value = "Họ tên"
    edit_cell(ws, "Kim Văn Ny", 7, "01/01/1999")
    wb.save(book)
    run, options = both(cfg, mis_db, reference_db, first_run)
    assert run["reconcile"]["changed"] == 1 and options["rows_settled"] > 0, (run, options)

    # The sheet renamed: every household is another (the sheet is part of a household's identity).
    wb, ws, top, last = data_rows(book)
    ws.title = "DS hộ nghèo"
    wb.save(book)
    run, options = both(cfg, mis_db, reference_db, first_run)
    assert options["rows_settled"] == 0, options

    # Sorted by name: members leave their heads, and the households are read as the sheet now says.
    wb, ws, top, last = data_rows(book)
    values = [[ws.cell(r, c).value for c in range(1, len(HEADER) + 1)] for r in range(top, last + 1)]
    values.sort(key=lambda v: v[3])
    for r, row in enumerate(values, start=top):
        for c, value in enumerate(row, start=1):
            ws.cell(r, c).value = value
    wb.save(book)
    both(cfg, mis_db, reference_db, first_run, statuses=("success", "attention"))


def test_two_households_of_one_code_changed_in_two_communes_stay_apart(district, mis_db, reference_db):  # noqa: F811
    book, cfg, first_run = district
    wb, ws, top, last = data_rows(book)
    # 001 of Trung An and 001 of Thới Hưng: the wife's name corrected in both.
    for k in (1, PER_COMMUNE + 1):
        name = f"Sơn Thị {GIVEN[(k + 3) % len(GIVEN)]}"
        edit_cell(ws, name, 4, f"{name} Mỹ")
    wb.save(book)
    run, options = both(cfg, mis_db, reference_db, first_run)
    assert run["reconcile"]["changed"] == 2 and run["reconcile"]["new"] == 0, run
    rows = dict((r[0], r) for r in household_rows(mis_db))
    assert len(rows) == 2 * PER_COMMUNE


def test_a_place_two_records_share_places_neither(district, mis_db, reference_db):  # noqa: F811
    book, cfg, first_run = district
    # Two records of the snapshot said to be read from one place (rows copied with the rows before them).
    engine = sa.create_engine(mis_db)
    with engine.begin() as conn:
        shared = conn.execute(sa.text("""
            UPDATE mis.source_snapshot SET row_context = (SELECT min(row_context) FROM mis.source_snapshot)
            WHERE record_key IN (SELECT record_key FROM mis.source_snapshot ORDER BY row_context LIMIT 2)
            RETURNING household""")).scalars().all()
    engine.dispose()
    assert len(shared) == 2
    wb, ws, top, last = data_rows(book)
    edit_cell(ws, f"{FAMILY[12 % 8]} {GIVEN[12 % 10]}", 10, "Ấp Thới Trinh B")
    wb.save(book)
    run, options = both(cfg, mis_db, reference_db, first_run)
    assert run["reconcile"]["changed"] == 1 and 0 < options["rows_settled"], (run, options)
