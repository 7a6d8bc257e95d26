"""The demo province: real Cần Thơ units, people whose IDs agree with them, and errors exactly where truth.csv says."""
from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter, defaultdict
from pathlib import Path

import openpyxl
import pytest
import yaml

from mappings import codelists
from mappings.admin_units import read_pre2025
from mappings.text import fold
from mappings.vocabulary import load_mapping
from misgw.config import load_config
from misgw.demo_data import generate

PRE2025_CSV = (Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "admin-units"
               / "communes-pre-2025.csv")
DISTRICTS = {"phong-dien": "926", "co-do": "925", "ninh-kieu": "916"}
RULES = {"required.full_name", "codelist.sex", "codelist.relation", "format.birth_date", "range.birth_date",
         "format.id_number", "cccd.birth_year", "codelist.ethnicity"}
LINE = {"rural": 1_500_000, "urban": 2_000_000}
HOUSEHOLD_FIELDS = ["address", "hamlet", "area", "poverty_category", "assessment_year", "income_per_capita",
                    "member_count", "approval_decision_no", "approval_date"]
INDICATORS = ["d_employment", "d_dependants", "d_nutrition", "d_health_insurance", "d_adult_education",
              "d_child_school", "d_housing_quality", "d_floor_area", "d_water_source", "d_latrine",
              "d_telecom", "d_information_access"]
SEED = 7


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    config = generate(out, PRE2025_CSV, seed=SEED)
    return out, config


@pytest.fixture(scope="module")
def roster(demo):
    return read_demo(demo[0])


@pytest.fixture(scope="module")
def truth(demo):
    with (demo[0] / "truth.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def error_rows(truth):
    return {(t["file"], t["sheet"], int(t["row"])): t for t in truth}


@pytest.fixture(scope="module")
def communes():
    frame = read_pre2025(PRE2025_CSV)["commune_pre2025"]
    return {d: frame[frame["district_code"] == code].sort_values("commune_code") for d, code in DISTRICTS.items()}


# --- reading the workbooks back, the way a person would -------------------------------------

def read_demo(out: Path) -> dict:
    """district slug -> {"file", "sheets": {name: [record]}, "headers": {field: header}} ; records keep the raw cells."""
    mapping = load_mapping(None)
    result = {}
    for slug in DISTRICTS:
        files = sorted((out / "districts" / slug).glob("*.xlsx"))
        assert len(files) == 1, files
        wb = openpyxl.load_workbook(files[0], read_only=True)
        sheets, headers = {}, {}
        for ws in wb.worksheets:
            rows = list(ws.iter_rows(values_only=True))
            header_index = next((i for i, r in enumerate(rows) if r and r[0] == "STT"), None)
            if header_index is None:
                sheets[ws.title] = None
                continue
            columns = {}
            for c, text in enumerate(rows[header_index]):
                if text is None:
                    continue
                name, how = mapping.field_for(text)
                assert name is not None, f"{files[0].name}: header '{text}' is not in the vocabulary"
                columns[c] = name
                headers[name] = text
            records = []
            for offset, r in enumerate(rows[header_index + 1:], start=header_index + 2):
                if all(v is None for v in r):
                    break                      # the blank row above the footer
                rec = {name: r[c] if c < len(r) else None for c, name in columns.items()}
                rec["_row"] = offset
                records.append(rec)
            sheets[ws.title] = records
        result[slug] = {"file": files[0].name, "sheets": sheets, "headers": headers}
    return result


def households(sheet_records: list[dict]) -> dict[str, list[dict]]:
    by_code = defaultdict(list)
    for rec in sheet_records:
        by_code[rec["household_code"]].append(dict(rec))
    # Household cells written on the head's row only belong to every member.
    for members in by_code.values():
        for name in HOUSEHOLD_FIELDS + INDICATORS:
            if name in members[0]:
                first = members[0][name]
                for m in members[1:]:
                    if m.get(name) is None:
                        m[name] = first
    return by_code


def all_records(roster):
    for slug, book in roster.items():
        for sheet, records in book["sheets"].items():
            for rec in records or []:
                yield slug, book["file"], sheet, rec


def full_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{2}/\d{2}/\d{4}", value):
        try:
            return dt.datetime.strptime(value, "%d/%m/%Y").date()
        except ValueError:
            return None
    return None


def birth_year(value) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    d = full_date(value)
    return d.year if d else None


def recovered_id(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, int):
        text = str(value)
        assert len(text) == 11, f"a number-stored ID should have lost exactly one zero: {value}"
        return "0" + text
    return value


def known(list_name: str, value) -> bool:
    return value is not None and fold(value) in codelists.lookup_table(list_name)


def cccd_agrees(number: str, sex_code: str, year: int) -> bool:
    century = year // 100 - 19
    digit4 = 2 * century + (0 if sex_code == "M" else 1)
    return (number[:3] in codelists._load("codelists.yaml")["cccd_province_codes"]
            and number[3] == str(digit4) and number[4:6] == f"{year % 100:02d}")


# --- tests -------------------------------------------------------------------------------------

def test_three_workbooks_and_a_config_listing_them(demo):
    out, config = demo
    assert config == out / "misgw.yaml"
    raw = yaml.safe_load(config.read_text(encoding="utf-8"))
    assert raw["province_code"] == "92"
    assert [s["id"] for s in raw["sources"]] == [f"cantho-{slug}" for slug in DISTRICTS]
    cfg = load_config(config)
    assert cfg.province_code == "92"
    assert len(cfg.sources) == 3
    for source, (slug, code) in zip(cfg.sources, DISTRICTS.items()):
        assert source.kind == "spreadsheet" and source.mapping == "auto" and source.schedule == "@daily"
        assert source.district_code == code
        assert source.path == (out / "districts" / slug).resolve() and source.path.is_dir()
        assert len(list(source.path.glob("*.xlsx"))) == 1
    assert len(list((out / "districts").rglob("*.xlsx"))) == 3


def test_sheets_are_real_communes_of_their_district(roster, communes):
    for slug in ("phong-dien", "co-do"):
        expected = list(communes[slug]["name"].head(4))
        assert list(roster[slug]["sheets"]) == expected
        for sheet, records in roster[slug]["sheets"].items():
            assert records and "commune_code" not in records[0]
    nk = roster["ninh-kieu"]["sheets"]
    assert list(nk) == ["Hướng dẫn", "Danh sách"] and nk["Hướng dẫn"] is None
    codes = {r["commune_code"] for r in nk["Danh sách"]}
    assert codes == set(communes["ninh-kieu"]["commune_code"].head(4))
    assert all(isinstance(c, str) and re.fullmatch(r"\d{5}", c) for c in codes)


def test_each_district_words_its_headers_differently(roster):
    words = {slug: book["headers"] for slug, book in roster.items()}
    for field in ("household_code", "full_name", "relation", "sex", "birth_date", "id_number",
                  "area", "poverty_category", "income_per_capita", "member_count"):
        assert len({words[s][field] for s in DISTRICTS}) == 3, field
    # Where the household lives: the hamlet ("Ấp", "Thôn/ấp") in two districts, an address in the third.
    assert len({words[s].get("hamlet") or words[s]["address"] for s in DISTRICTS}) == 3
    for slug in DISTRICTS:
        assert set(INDICATORS) <= set(words[slug])
        assert roster[slug]["headers"]["row_number"] == "STT"
    assert "approval_decision_no" not in words["co-do"] and "approval_decision_no" in words["phong-dien"]


def test_households_have_exactly_one_head_listed_first(roster):
    seen_codes = set()
    total = 0
    for slug, book in roster.items():
        for sheet, records in book["sheets"].items():
            if records is None:
                continue
            for code, members in households(records).items():
                assert code not in seen_codes
                seen_codes.add(code)
                assert re.fullmatch(r"\d{5}-\d{4}", code)
                if slug == "ninh-kieu":
                    assert code.startswith(members[0]["commune_code"])
                assert 1 <= len(members) <= 7
                heads = [m for m in members if m["relation"] == "Chủ hộ"]
                assert len(heads) == 1 and heads[0] is members[0], code
                assert all(m["member_count"] == len(members) for m in members)
                assert all(m["assessment_year"] == 2025 for m in members)
                total += 1
    assert total == 3 * 4 * 120


def test_household_cells_every_row_in_one_district_head_row_only_in_another(roster):
    raw = roster
    pd_rows = [r for _, recs in raw["phong-dien"]["sheets"].items() for r in recs]
    cd_rows = [r for _, recs in raw["co-do"]["sheets"].items() for r in recs]
    assert all(r["poverty_category"] is not None for r in pd_rows)
    heads = [r for r in cd_rows if r["relation"] == "Chủ hộ"]
    members = [r for r in cd_rows if r["relation"] != "Chủ hộ"]
    assert all(r["poverty_category"] is not None and r["income_per_capita"] for r in heads)
    assert all(r["poverty_category"] is None and r["income_per_capita"] is None for r in members)


def test_poverty_classification_follows_decree_07(roster):
    counts = Counter()
    at_line = 0
    for slug, book in roster.items():
        for records in book["sheets"].values():
            for code, members in households(records or []).items():
                head = members[0]
                area = {"Nông thôn": "rural", "Thành thị": "urban"}[head["area"]]
                if slug == "ninh-kieu":
                    assert area == "urban"
                category = codelists.lookup_table("poverty_category")[fold(head["poverty_category"])]
                marks = sum(1 for i in INDICATORS if head[i] is not None)
                assert all(head[i] in (None, "x", "X") for i in INDICATORS)
                income = head["income_per_capita"]
                assert isinstance(income, int) and 0.4 * LINE[area] - 1000 <= income <= LINE[area], code
                at_line += income == LINE[area]
                assert category == ("poor" if marks >= 3 else "near_poor"), code
                counts[category] += 1
    assert at_line > 0
    assert 0.5 < counts["poor"] / sum(counts.values()) < 0.7
    wordings = {s: {r["poverty_category"] for _, _, _, r in all_records({s: roster[s]})
                    if r["poverty_category"]} for s in DISTRICTS}
    assert wordings["co-do"] == {"Nghèo", "Cận nghèo"}
    assert wordings["phong-dien"] == {"Hộ nghèo", "Hộ cận nghèo"}


def test_good_rows_are_valid_and_ids_agree_with_the_person(roster, error_rows):
    ids = []
    kinds = Counter()
    for slug, file, sheet, rec in all_records(roster):
        if (file, sheet, rec["_row"]) in error_rows:
            continue
        assert rec["full_name"], rec
        assert known("sex", rec["sex"]) and known("relation", rec["relation"]) and known("ethnicity", rec["ethnicity"])
        year = birth_year(rec["birth_date"])
        assert year is not None and 1930 <= year <= 2024, rec
        d = full_date(rec["birth_date"])
        assert d is None or d <= dt.date(2024, 12, 31)
        if isinstance(rec["birth_date"], int):
            kinds["year_only"] += 1
        kinds[type(rec["birth_date"]).__name__] += 1
        number = recovered_id(rec["id_number"])
        if number is None:
            assert 2025 - year < 14, rec     # only young children have no ID
            kinds["no_id"] += 1
            continue
        ids.append(number)
        kinds["numeric"] += isinstance(rec["id_number"], int)
        if len(number) == 9:
            assert number.isdigit() and 2025 - year > 50, rec     # legacy CMND of an older person
            kinds["cmnd"] += 1
            continue
        assert isinstance(number, str) and re.fullmatch(r"\d{12}", number), rec
        sex = codelists.lookup_table("sex")[fold(rec["sex"])]
        assert cccd_agrees(number, sex, year), rec
    assert len(ids) == len(set(ids)), "ID numbers must be unique"
    total = sum(1 for _ in all_records(roster))
    assert 0.05 < kinds["numeric"] / len(ids) < 0.15
    assert kinds["cmnd"] > 0 and kinds["no_id"] > 0 and kinds["year_only"] > 0
    assert kinds["str"] > 0 and kinds["datetime"] > 0
    assert total > 4000


def test_truth_points_at_the_planted_values(demo, roster, truth):
    out = demo[0]
    cells = {}
    for slug, file, sheet, rec in all_records(roster):
        cells[(file, sheet, rec["_row"])] = rec
    assert {t["rule"] for t in truth} == RULES
    assert len({(t["file"], t["sheet"], t["row"]) for t in truth}) == len(truth), "one error per row at most"
    assert 0.01 <= len(truth) / len(cells) <= 0.025
    today = dt.date.today()
    for t in truth:
        rec = cells[(t["file"], t["sheet"], int(t["row"]))]
        assert rec["household_code"] == t["household_code"]
        value = rec[t["field"]]
        rule = t["rule"]
        assert t["description"]
        if rule == "required.full_name":
            assert t["field"] == "full_name" and value is None
        elif rule == "codelist.sex":
            assert t["field"] == "sex" and value and not known("sex", value)
        elif rule == "codelist.relation":
            assert t["field"] == "relation" and value and not known("relation", value)
            assert value != "Chủ hộ"
        elif rule == "format.birth_date":
            assert t["field"] == "birth_date" and isinstance(value, str) and full_date(value) is None
            assert not re.fullmatch(r"\d{4}", value)
        elif rule == "range.birth_date":
            assert t["field"] == "birth_date" and full_date(value) is not None and full_date(value) > today
        elif rule == "format.id_number":
            assert t["field"] == "id_number" and isinstance(value, str)
            assert not re.fullmatch(r"\d{9}|\d{11}|\d{12}", value)
        elif rule == "cccd.birth_year":
            assert t["field"] == "id_number" and isinstance(value, str) and re.fullmatch(r"\d{12}", value)
            d = full_date(rec["birth_date"])
            assert d is not None and known("sex", rec["sex"])
            assert value[4:6] != f"{d.year % 100:02d}"
            # Only digits 5-6 are wrong: province and century/sex still agree.
            sex = codelists.lookup_table("sex")[fold(rec["sex"])]
            assert cccd_agrees(value[:4] + f"{d.year % 100:02d}" + value[6:], sex, d.year)
        elif rule == "codelist.ethnicity":
            assert t["field"] == "ethnicity" and value and not known("ethnicity", value)
        else:
            pytest.fail(f"unknown rule {rule}")
        # The rest of the row is right.
        if t["field"] != "full_name":
            assert rec["full_name"]
        if t["field"] != "sex":
            assert known("sex", rec["sex"])
        if t["field"] != "relation":
            assert known("relation", rec["relation"])
        if t["field"] != "ethnicity":
            assert known("ethnicity", rec["ethnicity"])
    assert (out / "truth.csv").read_text(encoding="utf-8").splitlines()[0] == \
        "file,sheet,row,household_code,field,rule,description"


def _cell_values(out: Path) -> dict:
    values = {}
    for path in sorted((out / "districts").rglob("*.xlsx")):
        wb = openpyxl.load_workbook(path, read_only=True)
        for ws in wb.worksheets:
            values[(path.relative_to(out).as_posix(), ws.title)] = [list(r) for r in ws.iter_rows(values_only=True)]
    return values


def test_same_seed_same_content(demo, tmp_path):
    out = demo[0]
    again = tmp_path / "again"
    generate(again, PRE2025_CSV, seed=SEED)
    base = _cell_values(out)
    assert _cell_values(again) == base
    assert (again / "truth.csv").read_text(encoding="utf-8") == (out / "truth.csv").read_text(encoding="utf-8")
    assert (again / "misgw.yaml").read_text(encoding="utf-8") == (out / "misgw.yaml").read_text(encoding="utf-8")
    other = tmp_path / "other"
    generate(other, PRE2025_CSV, seed=SEED + 1, households_per_commune=10)
    assert _cell_values(other) != base
