"""The district corpus generator itself (tests/support/district_corpus.py), without a database: its files open, its
truth agrees with its files and with itself, its units exist in the official tables, and its injected
errors are real errors."""
from __future__ import annotations

import csv
import dataclasses
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

import district_corpus as dc
import pytest
import yaml
from conftest import CROSSWALK_CSV, PRE2025_CSV, ROOT
from openpyxl import load_workbook

RULES = yaml.safe_load((ROOT / "expectations" / "rules.yaml").read_text(encoding="utf-8"))["rules"]
LETTERS = re.compile(r"^[A-Za-zĐđ\u00C0-\u1EF9 ]+$")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    base = tmp_path_factory.mktemp("district-corpus")
    layouts = dc.build(base)
    return base, layouts, dc.write_config(base, layouts)


@pytest.fixture(scope="module")
def layouts(corpus):
    return corpus[1]


@pytest.fixture(scope="module")
def reference():
    """The official tables, read here on their own (title rows, banner rows, line breaks in names)."""
    pre: dict[str, dict] = {}
    with open(PRE2025_CSV, encoding="utf-8", newline="") as fh:
        for r in csv.reader(fh):
            if len(r) >= 7 and re.fullmatch(r"\d{5}", r[5].strip()):
                pre[r[5].strip()] = {"province": r[1].strip(), "district": r[3].strip(),
                                     "name": " ".join(r[4].split()), "level": r[6].strip()}
    cross: dict[str, list[tuple[str, str]]] = defaultdict(list)
    new: dict[str, dict] = {}
    with open(CROSSWALK_CSV, encoding="utf-8", newline="") as fh:
        for r in csv.reader(fh):
            if len(r) >= 6 and re.fullmatch(r"\d{5}", r[2].strip()):
                m = re.search(r"\((\d{2})\)", r[0])
                new[r[2].strip()] = {"name": " ".join(r[1].split()), "province": m.group(1) if m else None}
                if re.fullmatch(r"\d{5}", r[4].strip()):
                    cross[r[4].strip()].append((r[2].strip(), r[5].strip()))
    return pre, cross, new


def _sheet_rows(path: Path, sheet: str) -> list[list]:
    if path.suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return [[c if c != "" else None for c in row] for row in csv.reader(fh)]
    ws = load_workbook(path)[sheet]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def _nonempty(row) -> bool:
    return any(v is not None and str(v).strip() != "" for v in row)


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", str(text)).split()).casefold()


def _cells(layout: dc.Layout) -> dict[tuple[str, str], list[list]]:
    return {(s.file, s.sheet): _sheet_rows(layout.folder / s.file, s.sheet) for s in layout.sheets}


# ---------------------------------------------------------------- shape of the corpus
def test_layouts_are_many_and_distinct(layouts):
    assert len(layouts) >= 8
    assert [layout.name for layout in layouts] == dc.LAYOUT_NAMES
    assert len({layout.source["id"] for layout in layouts}) == len(layouts)
    assert len({layout.folder for layout in layouts}) == len(layouts)
    old_provinces = {h.district_code_pre2025 and dc.COMMUNES[h.commune_code_pre2025].province_code
                     for layout in layouts for h in layout.households if h.commune_code_pre2025}
    assert {"92", "93", "94"} <= old_provinces
    assert sum(1 for layout in layouts if layout.source.get("unit_era") == "current") == 1
    for layout in layouts:
        assert layout.description and layout.households and layout.sheets
        assert layout.folder.is_dir()
        assert {"926", "925", "916"}.isdisjoint({h.district_code_pre2025 for h in layout.households})


def test_every_file_opens_and_every_sheet_is_in_the_truth(layouts):
    for layout in layouts:
        files = sorted(p.name for p in layout.folder.iterdir() if p.suffix in (".xlsx", ".csv"))
        assert files == sorted({s.file for s in layout.sheets}), layout.name
        for f in files:
            if f.endswith(".xlsx"):
                wb = load_workbook(layout.folder / f)
                assert sorted(wb.sheetnames) == sorted(s.sheet for s in layout.sheets if s.file == f), (layout.name, f)


def test_row_counts_per_sheet_add_up(layouts):
    for layout in layouts:
        members_at = Counter((m.file, m.sheet) for h in layout.households for m in h.members)
        for s in layout.sheets:
            rows = _sheet_rows(layout.folder / s.file, s.sheet)
            assert sum(_nonempty(r) for r in rows) == s.rows_nonempty, (layout.name, s)
            assert s.data_rows == members_at[(s.file, s.sheet)], (layout.name, s)
            assert s.skipped_rows == s.rows_nonempty - s.data_rows > 0, (layout.name, s)
        assert sum(members_at.values()) == sum(s.data_rows for s in layout.sheets)


def test_every_member_row_holds_that_member(layouts):
    for layout in layouts:
        cells = _cells(layout)
        seen = set()
        for h in layout.households:
            for m in h.members:
                where = (m.file, m.sheet, m.row)
                assert where not in seen, where
                seen.add(where)
                row = cells[(m.file, m.sheet)][m.row - 1]
                assert _nonempty(row), where
                if m.full_name == "":
                    assert h.error_rule == "required.full_name"
                    continue
                assert _fold(m.full_name) in {_fold(v) for v in row if isinstance(v, str)}, (layout.name, where, m)
                assert h.local_code in {str(v) for v in row} or (
                    m is not h.members[0] and layout.name.startswith("L04")), (layout.name, where)


# ---------------------------------------------------------------- the truth agrees with itself
def test_clean_households_have_one_head_and_consistent_ages(layouts):
    for layout in layouts:
        for h in layout.clean:
            where = (layout.name, h.local_code, h.commune_code_pre2025)
            assert 1 <= len(h.members) <= 7, where
            heads = [m for m in h.members if m.relation_code == "01"]
            assert len(heads) == 1 and h.members[0] is heads[0], where
            head = heads[0]
            assert h.assessment_year - head.birth_year >= 18, where
            assert len({m.full_name for m in h.members}) == len(h.members), where
            for m in h.members:
                assert m.relation_code in dc.RELATION_CODES, where
                assert m.sex in ("M", "F") and m.birth_year <= h.assessment_year
                if m.birth_date:
                    assert int(m.birth_date[:4]) == m.birth_year
                if m.relation_code in ("03", "08"):
                    assert m.birth_year > head.birth_year, (where, m)
                if m.relation_code == "06":
                    assert m.birth_year >= head.birth_year + 30, (where, m)
                if m.relation_code == "04":
                    assert m.birth_year <= head.birth_year - 18, (where, m)
                if m.relation_code == "05":
                    assert m.birth_year <= head.birth_year - 36, (where, m)


def test_clean_households_meet_the_poverty_standard(layouts):
    for layout in layouts:
        for h in layout.clean:
            where = (layout.name, h.local_code, h.commune_code_pre2025)
            assert h.poverty_category in ("poor", "near_poor")
            assert 0 < h.income_per_capita <= dc.poverty_line(h.area, h.assessment_year), where
            if h.indicators is not None:
                assert set(h.indicators) == set(dc.INDICATORS)
                assert h.deprivation_count == sum(h.indicators.values()), where
            if h.deprivation_count is not None:
                assert (h.deprivation_count >= 3) == (h.poverty_category == "poor"), where


def test_some_clean_households_sit_on_the_line_or_between_the_two_lines(layouts):
    clean = [h for layout in layouts for h in layout.clean]
    assert any(h.income_per_capita == dc.poverty_line(h.area, h.assessment_year) for h in clean)
    # Urban households whose income is above the rural line: they load only if the area is the ward's.
    assert sum(1 for h in clean if h.area == "urban" and h.income_per_capita > dc.POVERTY_LINE["rural"]) >= 20


def _province_codes(reference) -> set[str]:
    pre, _cross, _new = reference
    return {"0" + v["province"] for v in pre.values()}


def test_ids_agree_with_the_person_and_are_unique(layouts, reference):
    provinces = _province_codes(reference)
    ids = Counter()
    kinds = Counter()
    for layout in layouts:
        for h in layout.households:
            for m in h.members:
                if m.id_number is None:
                    kinds["none"] += 1
                    continue
                ids[m.id_number] += 1
                if h.error_rule is not None:
                    continue
                kinds[m.id_kind] += 1
                if m.id_kind == "cmnd":
                    assert re.fullmatch(r"\d{9}", m.id_number)
                    continue
                v = m.id_number
                assert re.fullmatch(r"0\d{11}", v), v
                assert v[:3] in provinces, v
                century = (m.birth_year // 100 - 19) * 2 + (0 if m.sex == "M" else 1)
                assert int(v[3]) == century and int(v[4:6]) == m.birth_year % 100, (layout.name, m)
    assert not [k for k, n in ids.items() if n > 1]
    assert kinds["cccd"] > 500 and kinds["cmnd"] >= 5 and kinds["none"] >= 50


# ---------------------------------------------------------------- injected errors
def test_every_injected_error_is_in_the_truth(layouts):
    total = held = 0
    for layout in layouts:
        rows = {(m.file, m.sheet, m.row): h for h in layout.households for m in h.members}
        assert len(layout.errors) == len(layout.held), layout.name
        for file, sheet, row, rule in layout.errors:
            assert rule in RULES, rule
            assert RULES[rule]["severity"] == "reject", rule
            h = rows[(file, sheet, row)]
            assert h.error_rule == rule, (layout.name, file, sheet, row)
        assert {id(h) for h in layout.held} == {id(rows[e[:3]]) for e in layout.errors}
        assert len(layout.held) < 0.1 * len(layout.households), layout.name
        total += len(layout.households)
        held += len(layout.held)
    assert sum(1 for layout in layouts if layout.errors) >= len(layouts) - 1
    assert held < 0.07 * total


def test_injected_errors_are_real_errors(layouts, reference):
    provinces = _province_codes(reference)
    _pre, cross, _new = reference
    rules_seen = set()
    for layout in layouts:
        cells = _cells(layout)
        for file, sheet, row, rule in layout.errors:
            rules_seen.add(rule)
            h = next(h for h in layout.held if (file, sheet, row) in h.rows)
            m = next(m for m in h.members if (m.file, m.sheet, m.row) == (file, sheet, row))
            values = [v for v in cells[(file, sheet)][row - 1] if v is not None]
            texts = [str(v) for v in values]
            head = h.members[0]
            where = (layout.name, file, sheet, row, rule)
            if rule == "cccd.birth_year":
                assert int(m.id_number[4:6]) != m.birth_year % 100, where
            elif rule == "cccd.sex_century":
                assert int(m.id_number[3]) != (m.birth_year // 100 - 19) * 2 + (0 if m.sex == "M" else 1), where
            elif rule == "cccd.province":
                assert m.id_number[:3] not in provinces, where
            elif rule == "id.rounded":
                assert any(re.fullmatch(r"\d\.\d+E\+\d+", t) for t in texts), where
            elif rule == "format.birth_date":
                assert any(re.fullmatch(r"(31/02|31/04)/\d{4}", t) for t in texts), where
            elif rule == "codelist.sex":
                assert "Không rõ" in texts or "3" in texts, where
            elif rule == "required.full_name":
                assert m.full_name == "" and m.id_number, where
            elif rule == "household.head_count":
                assert sum(x.relation_code == "01" for x in h.members) != 1, where
            elif rule == "age.relation":
                assert (m.relation_code == "03" and m.birth_year < head.birth_year) or \
                       (m.relation_code == "04" and m.birth_year > head.birth_year), where
            elif rule == "poverty.income_above_line":
                assert h.poverty_category == "poor"
                assert h.income_per_capita > 2 * dc.poverty_line(h.area, h.assessment_year), where
            elif rule == "poverty.too_few_deprivations":
                assert h.poverty_category == "poor" and h.deprivation_count < 3, where
            elif rule == "unit.commune_split":
                news = {n for n, _note in cross[h.commune_code_pre2025]}
                assert len(news) >= 2 and all("một phần" in note for _n, note in cross[h.commune_code_pre2025])
            else:
                pytest.fail(f"no check for {rule}")
    assert len(rules_seen) >= 10


# ---------------------------------------------------------------- units
def test_units_exist_in_the_reference_tables(layouts, reference):
    pre, cross, new = reference
    for code, c in dc.COMMUNES.items():
        if c.code:
            ref = pre[c.code]
            assert (ref["name"], ref["level"], ref["district"], ref["province"]) == \
                   (c.name, c.level, c.district_code, c.province_code), code
            if c.new_code:
                assert new[c.new_code]["name"] == c.new_name
        else:
            assert new[c.new_code] == {"name": c.new_name, "province": "92"}
    for layout in layouts:
        district = layout.source.get("district_code")
        for h in layout.households:
            where = (layout.name, h.local_code)
            if layout.source.get("unit_era") == "current":
                assert h.commune_code_pre2025 is None and h.district_code_pre2025 is None
                assert new[h.commune_code]["province"] == "92", where
                assert h.area == ("rural" if new[h.commune_code]["name"].startswith("Xã") else "urban")
                continue
            ref = pre[h.commune_code_pre2025]
            assert ref["district"] == district == h.district_code_pre2025, where
            assert ref["province"] in ("92", "93", "94"), where
            assert h.area == ("rural" if ref["level"] == "Xã" else "urban"), where
            targets = {n for n, _note in cross[h.commune_code_pre2025]}
            if h.error_rule == "unit.commune_split":
                assert len(targets) > 1
                continue
            notes = {note for _n, note in cross[h.commune_code_pre2025]}
            assert targets == {h.commune_code}, where
            assert notes <= {"Nhập toàn bộ", "Giữ nguyên"}, where
            assert new[h.commune_code]["province"] == "92", where


def test_local_codes_restart_per_commune(layouts):
    by_name = {layout.name: layout for layout in layouts}
    for name in ["L01_thoi_lai_commune_sheets", "L02_vinh_chau_one_sheet", "L06_cai_rang_khu_vuc",
                 "L08_vi_thanh_file_per_ward"]:
        communes_of = defaultdict(set)
        for h in by_name[name].households:
            communes_of[h.local_code].add(h.commune_code_pre2025)
        assert len(communes_of["001"] if "001" in communes_of else communes_of["HN-001"]) >= 3, name
    # Two old communes with the same local codes landing in one new commune.
    for name in ["L06_cai_rang_khu_vuc", "L08_vi_thanh_file_per_ward"]:
        pairs = Counter((h.commune_code, h.local_code) for h in by_name[name].households)
        assert max(pairs.values()) >= 2, name
    for layout in layouts:
        keys = Counter((h.commune_code_pre2025 or h.commune_code, h.local_code) for h in layout.households)
        assert max(keys.values()) == 1, layout.name


# ---------------------------------------------------------------- wording, years, people
def _headers(layout: dc.Layout) -> set[str]:
    """The text of every row above a sheet's first member row (titles and headers)."""
    first = defaultdict(lambda: 10 ** 6)
    for h in layout.households:
        for m in h.members:
            first[(m.file, m.sheet)] = min(first[(m.file, m.sheet)], m.row)
    out = set()
    for key, rows in _cells(layout).items():
        for r in rows[:first[key] - 1]:
            out |= {str(v).strip() for v in r if isinstance(v, str)}
    return out


def test_the_layouts_word_their_columns_as_required(layouts):
    by_name = {layout.name: layout for layout in layouts}
    every = set().union(*(_headers(layout) for layout in layouts))
    for wanted in ["Ấp", "Khu vực", "Thôn/Ấp", "Tổ", "Khóm, ấp", "Mã hộ GĐ", "Họ tên CH", "Họ và tên", "QH với CH",
                   "GT", "NS", "DT", "Số NK", "TN bình quân", "TN BQ (đồng/người/tháng)", "Số CS thiếu hụt",
                   "Số chỉ số thiếu hụt", "Tổng số chỉ số thiếu hụt", "SO_CS_THIEU_HUT", "Thông tin thành viên",
                   "STT", "Năm rà soát", "NAM", "MA_DT", "MA_HO", "HO_TEN", "QUAN_HE", "GIOI_TINH", "NGAY_SINH",
                   "SO_CCCD", "MA_XA", "PHAN_LOAI", "THU_NHAP", *dc.INDICATOR_HEADERS.values()]:
        assert wanted in every, wanted
    khu_vuc = {h.hamlet for h in by_name["L06_cai_rang_khu_vuc"].households}
    assert khu_vuc == {"Khu vực 1", "Khu vực 2", "Khu vực 3", "Khu vực 4"}
    assert {h.area for h in by_name["L06_cai_rang_khu_vuc"].households} == {"urban"}
    l01 = {str(v) for rows in _cells(by_name["L01_thoi_lai_commune_sheets"]).values() for r in rows for v in r}
    assert {"Ba", "Má", "Bà", "Ông", "(1)", "(3)", "Người lập biểu", "TM. UBND XÃ"} <= l01
    assert any(v.startswith("Cộng ấp ") for v in l01) and any(v.startswith("Tổng cộng") for v in l01)
    spellings = {str(v) for layout in layouts for rows in _cells(layout).values() for r in rows for v in r}
    assert {"Khmer", "Khơ-me", "Khơ me", "Hoa", "Kinh"} <= spellings


def test_the_assessment_year_is_where_each_layout_puts_it(layouts):
    for layout in layouts:
        years = {h.assessment_year for h in layout.households}
        assert len(years) == 1, layout.name
        year = years.pop()
        headers = _headers(layout)
        has_year_column = bool(headers & {"Năm rà soát", "NAM", "Năm"})
        files = {s.file for s in layout.sheets}
        if layout.name.startswith("L01"):
            assert not has_year_column and not any(re.search(r"20\d\d", f) for f in files)
            titles = [str(v) for rows in _cells(layout).values() for r in rows[:6] for v in r if v]
            assert f"DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM {year}" in titles
            footer = [str(v) for rows in _cells(layout).values() for r in rows[-8:] for v in r if v]
            assert any("ngày 15 tháng 12 năm" in v and str(year) not in v for v in footer)
        elif layout.name.startswith("L04"):
            assert not has_year_column and files == {f"ds-ho-ngheo-{year}.xlsx"}
            assert not any(re.search(r"20\d\d", str(v)) for rows in _cells(layout).values() for r in rows[:7] for v in r if v)
        elif layout.name.startswith("L05"):
            assert not has_year_column and {s.sheet for s in layout.sheets} == {f"Năm {year}"}
            assert not any(re.search(r"20\d\d", f) for f in files)
        else:
            assert has_year_column, layout.name


def test_people_are_named_like_people_of_the_delta(layouts):
    families = Counter()
    for layout in layouts:
        for h in layout.households:
            for m in h.members:
                if not m.full_name:
                    continue
                assert unicodedata.normalize("NFC", m.full_name) == m.full_name
                assert LETTERS.match(m.full_name), m.full_name
                assert all(w[0].isupper() and w[1:] == w[1:].lower() for w in m.full_name.split()), m.full_name
                families[m.full_name.split()[0]] += 1
    for name in ["Thạch", "Sơn", "Danh", "Kim", "Lâm", "Lý", "Trần", "Nguyễn"]:
        assert families[name] > 0, name
    eth = Counter(m.ethnicity_code for layout in layouts for h in layout.households for m in h.members)
    assert eth["01"] and eth["05"] > 100 and eth["06"] and eth[None]


def test_config_names_every_layout(corpus):
    base, layouts, cfg = corpus
    body = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    assert body["province_code"] == "92" and body["output_dir"] == "out"
    assert body["sources"] == [layout.source for layout in layouts]
    for s in body["sources"]:
        assert s["kind"] == "spreadsheet" and (base / s["path"]).is_dir()
        assert ("district_code" in s) != (s.get("unit_era") == "current")
        if "mapping" in s:
            values = yaml.safe_load((base / s["mapping"]).read_text(encoding="utf-8"))["values"]
            assert values == {"sex": {"1": "M", "0": "F"}, "poverty_category": {"1": "poor", "2": "near_poor"}}


def test_the_generator_is_deterministic(tmp_path, layouts):
    again = dc.build(tmp_path, names=["L02_vinh_chau_one_sheet", "L08_vi_thanh_file_per_ward"])
    first = {layout.name: layout for layout in layouts}
    for layout in again:
        a, b = dataclasses.asdict(first[layout.name]), dataclasses.asdict(layout)
        a.pop("folder"), b.pop("folder")
        assert a == b, layout.name
        assert _cells(first[layout.name]) == _cells(layout), layout.name


def test_year_conflict_copy(tmp_path, layouts):
    l01 = layouts[0]
    folder, conflict, other = dc.year_conflict_source(tmp_path, l01)
    assert sorted(p.name for p in folder.iterdir()) == sorted([conflict, other])
    assert "2024" in conflict and not re.search(r"20\d\d", other)
    wb = load_workbook(folder / conflict)
    titles = {str(v) for ws in wb for r in ws.iter_rows(max_row=6, values_only=True) for v in r if v}
    assert "DANH SÁCH HỘ NGHÈO, HỘ CẬN NGHÈO NĂM 2025" in titles
