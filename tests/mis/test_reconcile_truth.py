"""Reconcile outcomes on a generated registry and next year's rosters: every household and person, against known truth."""
from __future__ import annotations

import json

import pytest
import registry_truth
import sqlalchemy as sa
from rosters import write_config
from test_pipeline import mis_db, misgw  # noqa: F401  (mis_db is a fixture)


def _outcomes(url: str, run_id: str) -> tuple[dict, dict]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT entity, household_code, full_name, outcome FROM mis.reconcile_outcome "
                                    "WHERE run_id = :r"), {"r": run_id}).all()
    engine.dispose()
    # The truth speaks of the codes as the districts write them; the MIS keys them by district ("926/A007").
    households = {local(code): outcome for entity, code, _, outcome in rows if entity == "household"}
    members = {(local(code), name): outcome for entity, code, name, outcome in rows if entity == "member"}
    return households, members


def local(code: str) -> str:
    return code.split("/", 1)[1] if code and "/" in code else code


def _sync(cfg, source: str, url: str) -> dict:
    [summary] = json.loads(misgw("sync", "--config", str(cfg), "--source", source, "--json", env_url=url).stdout)
    assert summary["status"] == "success", summary
    return summary


def _check(scenario, label: str, summary: dict, url: str) -> None:
    want_households, want_members = registry_truth.expected(scenario, label, "MIS")
    got_households, got_members = _outcomes(url, summary["run_id"])
    # Every entity the table does not name is unchanged; the table never names an unknown one.
    assert set(got_households) <= set(want_households), set(got_households) - set(want_households)
    assert set(got_members) <= set(want_members), set(got_members) - set(want_members)
    got_households = {k: got_households.get(k, "unchanged") for k in want_households}
    got_members = {k: got_members.get(k, "unchanged") for k in want_members}
    wrong = {k: (got_households[k], v) for k, v in want_households.items() if got_households[k] != v}
    assert not wrong, f"{label} households (got, want): {wrong}"
    wrong = {k: (got_members[k], v) for k, v in want_members.items() if got_members[k] != v}
    assert not wrong, f"{label} members (got, want): {wrong}"
    # The run's counts are the same truth, counted.
    counts = {o: list(want_households.values()).count(o) for o in registry_truth_outcomes()}
    assert summary["reconcile"] == counts


def registry_truth_outcomes():
    return ("new", "changed", "unchanged", "moved", "missing", "conflict")


@pytest.mark.slow
def test_every_household_and_person_gets_its_true_outcome(tmp_path, mis_db):  # noqa: F811
    scenario = registry_truth.build(seed=11)
    cfg = write_config(tmp_path / "misgw.yaml", [
        {"id": "phong-dien", "kind": "spreadsheet", "path": "a", "district_code": "926"},
        {"id": "co-do", "kind": "spreadsheet", "path": "b", "district_code": "925"}])
    registry_truth.write(scenario.rosters["A1"], tmp_path / "a" / "ds.xlsx")
    registry_truth.write(scenario.rosters["B1"], tmp_path / "b" / "ds.xlsx")
    for source, label in (("phong-dien", "A1"), ("co-do", "B1")):
        first = _sync(cfg, source, mis_db)
        assert first["rows_rejected"] == 0 and first["reconcile"]["new"] == len(scenario.rosters[label]), first

    registry_truth.write(scenario.rosters["B2"], tmp_path / "b" / "ds.xlsx")
    _check(scenario, "B2", _sync(cfg, "co-do", mis_db), mis_db)
    registry_truth.write(scenario.rosters["A2"], tmp_path / "a" / "ds.xlsx")
    a2 = _sync(cfg, "phong-dien", mis_db)
    _check(scenario, "A2", a2, mis_db)

    # What the load made of it.
    engine = sa.create_engine(mis_db)
    with engine.connect() as conn:
        def one(sql, **p):
            return conn.execute(sa.text(sql), p).all()

        # Re-coded: the same household row took its new code; the old code is gone, not duplicated.
        assert one("SELECT household_code FROM mis.household WHERE local_code LIKE 'A007%'") == [("926/A007-N",)]
        # Moved across districts: B010 is now A019-N in Phong Điền, listed again.
        assert one("SELECT district_code_pre2025, missing_run_id FROM mis.household "
                   "WHERE local_code = 'A019-N'") == [("926", None)]
        assert one("SELECT count(*) FROM mis.household WHERE local_code = 'B010'") == [(0,)]
        # Missing: flagged, never deleted, with its people still there.
        [(flag, people)] = one("SELECT h.missing_run_id, count(m.*) FROM mis.household h JOIN mis.member m "
                               "USING (household_id) WHERE local_code = 'A012' GROUP BY 1")
        assert flag == a2["run_id"] and people > 0
        # A person who moved is listed in one household only.
        spouse = scenario.truth["A2"]
        moved = [k[2] for k, v in spouse.items() if k[0] == "member" and v == "moved"]
        for name in moved:
            assert one("SELECT count(*) FROM mis.member WHERE full_name = :n AND listed", n=name) == [(1,)], name
        # Conflicts are held back whole: the split-off household is not in the MIS. A code both districts
        # write is two households, each keyed by its district.
        assert one("SELECT count(*) FROM mis.household WHERE local_code = 'A014-T'") == [(0,)]
        assert one("SELECT household_code, source_id FROM mis.household WHERE local_code = 'B005' ORDER BY 1") == [
            ("31222/B005", "co-do"), ("926/B005", "phong-dien")]   # district B: one commune, so keyed by it
        # The typo was an update of the same person, not a second one.
        [a002_child] = [p for h in scenario.rosters["A2"] if h.code == "A002" for p in h.people[2:3]]
        assert one("SELECT count(*) FROM mis.member m JOIN mis.household h USING (household_id) "
                   "WHERE h.local_code = 'A002' AND m.listed", ) == [(len(scenario.rosters["A2"][2].people),)]
        assert one("SELECT count(*) FROM mis.member WHERE full_name = :n", n=a002_child.name) == [(1,)]
    engine.dispose()

    # Every conflict is in the ledger for a person, with a reason in Vietnamese.
    listed = json.loads(misgw("rejects", "list", "--source", "phong-dien", "--json", env_url=mis_db).stdout)
    rules = {(local(r["household_code"]), r["rule"]) for r in listed}
    assert {("A014-T", "reconcile.shared_members"),
            ("A016", "reconcile.id_other_district"), ("A017", "reconcile.ambiguous_person"),
            ("A012", "reconcile.missing")} <= rules, rules
    assert not any(code == "B005" for code, _ in rules)

    # Provincial IT read what the run changed.
    shown = json.loads(misgw("runs", "show", a2["run_id"], "--changes", "--json", env_url=mis_db).stdout)
    recoded = next(c for c in shown["changes"] if c["household_code"] == "926/A007-N")
    assert (recoded["outcome"], recoded["registry_household_code"]) == ("changed", "926/A007")
    assert "household_code" in recoded["changed_fields"]
    text = misgw("runs", "show", a2["run_id"], "--changes", env_url=mis_db).stdout
    assert "changed   926/A007-N  [household_code, local_code; MIS household 926/A007]" in text
    assert "new       926/B005" in text and "reconcile.code_other_district" not in text
    # ID numbers never leave unmasked, even as member keys.
    import re

    everything = misgw("runs", "show", a2["run_id"], "--changes", "--json", env_url=mis_db).stdout + text + \
        misgw("history", "A009", "--json", env_url=mis_db).stdout + misgw("history", "A009", env_url=mis_db).stdout
    assert not re.search(r"(?<!\d)\d{12}(?!\d)", everything)
    assert "moved_to" in misgw("history", "A008", env_url=mis_db).stdout
