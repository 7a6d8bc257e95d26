"""Every corpus workbook maps without a hand-written mapping: every value in the right field."""
from __future__ import annotations

import corpus
import pandas as pd
import pytest

from connectors.spreadsheet import read_sheets
from mappings.roster import map_sheet, translate
from mappings.suggest import suggest_columns
from mappings.vocabulary import load_mapping
from mis import db, units

FIELDS = ["household_code", "full_name", "relation_code", "sex", "birth_date", "birth_year", "birth_precision",
          "ethnicity_code", "id_number", "commune_code_pre2025"]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return {c.name: c for c in corpus.build(tmp_path_factory.mktemp("corpus"))}


@pytest.fixture(scope="module")
def placement(units_db):
    return units.placement(db.get_engine(units_db), "92")


def _map_file(path, placement):
    mapping = load_mapping(None)
    frames, reports = [], []
    for sheet in read_sheets(path):
        frame, report = map_sheet(path.name, sheet.sheet, sheet.dense(), mapping)
        reports.append(report)
        if frame is not None:
            frames.append(frame)
    mapped = translate(pd.concat(frames, ignore_index=True), mapping, placement, "926", "92")
    return mapped, reports


def test_corpus_has_at_least_twelve_workbooks(cases):
    assert len(cases) >= 12 and list(cases) == corpus.CASE_NAMES
    assert {p.suffix for p in (c.path for c in cases.values())} >= {".xlsx", ".xls", ".csv"}


@pytest.mark.parametrize("name", corpus.CASE_NAMES)
def test_every_value_lands_in_the_right_field(cases, placement, name):
    case = cases[name]
    mapped, reports = _map_file(case.path, placement)
    got = {(r["source_sheet"], int(r["source_row"])): r for r in mapped.to_dict("records")}
    assert set(got) == set(case.expected), f"{name}: rows read {sorted(got)}"
    for key, want in case.expected.items():
        row = got[key]
        for f in FIELDS:
            value = row[f]
            value = None if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)) else value
            assert value == want.get(f), f"{name} {key} {f}: {value!r} != {want.get(f)!r}"
    for reason, rows in case.skipped.items():
        assert any(rows == r.skipped_rows.get(reason) for r in reports), (name, reason, [r.skipped_rows for r in reports])


@pytest.mark.parametrize("name", corpus.CASE_NAMES)
def test_mapping_suggest_maps_every_field_at_top_confidence(cases, name):
    case = cases[name]
    mapping = load_mapping(None)
    wanted = {"row_number", "household_code", "full_name", "relation", "sex", "birth_date", "ethnicity",
              "id_number", "commune"} - {"06_sheet_per_commune": {"commune"},
                                         "09_one_row_per_household": {"relation"}}.get(name, set())
    for sheet in read_sheets(case.path):
        proposal = suggest_columns(sheet.dense(), mapping)
        fields = {c["field"]: c["confidence"] for c in proposal["columns"] if c["field"]}
        if len(fields) < 3:
            continue                              # a help sheet
        assert set(fields) == wanted, (name, sheet.sheet, fields)
        assert set(fields.values()) == {1.0}, (name, sheet.sheet, fields)
        assert all(c["field"] for c in proposal["columns"]), proposal["columns"]   # no column left unmapped
