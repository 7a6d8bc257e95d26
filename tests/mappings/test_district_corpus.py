"""End to end: the district corpus (tests/support/district_corpus.py) through `misgw sync` into a real PostgreSQL MIS.

The corpus is the yardstick: what its truth says must reach the MIS, field by field; every injected error
must be named on its row with its rule and its household held back whole; every row of every sheet must be
accounted for. One sync over all the sources runs once for the module (two workers); each layout is then
checked in tests of its own.
"""
from __future__ import annotations

import json
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import district_corpus as dc
import pytest
import sqlalchemy as sa
import yaml
from conftest import create_database, drop_database
from test_pipeline import copy_unit_tables, misgw

from mappings import codelists

NAMES = dc.LAYOUT_NAMES


# ---------------------------------------------------------------- one sync for the module
@dataclass
class Synced:
    url: str
    base: Path
    layouts: dict[str, dc.Layout]
    returncode: int
    stdout: str
    stderr: str
    summaries: dict[str, dict] | None                   # source id -> its run summary
    columns: dict[str, set[str]] = field(default_factory=dict)
    households: list[dict] = field(default_factory=list)
    assessments: dict[tuple[int, int], dict] = field(default_factory=dict)
    members: dict[int, list[dict]] = field(default_factory=dict)


def _load_state(s: Synced) -> None:
    engine = sa.create_engine(s.url)
    with engine.connect() as conn:
        for table in ("household", "member", "poverty_assessment", "held_row", "reject", "sync_run"):
            s.columns[table] = set(conn.execute(sa.text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'mis' AND table_name = :t"),
                {"t": table}).scalars())
        s.households = [dict(r) for r in conn.execute(sa.text("SELECT * FROM mis.household")).mappings()]
        s.assessments = {(r["household_id"], r["assessment_year"]): dict(r) for r in conn.execute(
            sa.text("SELECT * FROM mis.poverty_assessment")).mappings()}
        members = defaultdict(list)
        for r in conn.execute(sa.text("SELECT * FROM mis.member")).mappings():
            members[r["household_id"]].append(dict(r))
        s.members = dict(members)
    engine.dispose()


@pytest.fixture(scope="module")
def synced(tmp_path_factory, units_db):
    from mis import db

    base = tmp_path_factory.mktemp("district-corpus-e2e")
    layouts = dc.build(base)
    cfg = dc.write_config(base, layouts)
    url = create_database("misgw_corpus")
    try:
        db.upgrade(db.get_engine(url))
        copy_unit_tables(units_db, url)
        proc = misgw("sync", "--config", str(cfg), "--json", "--workers", "2", env_url=url)
        try:
            summaries = {s["source_id"]: s for s in json.loads(proc.stdout)}
        except (ValueError, TypeError, KeyError):
            summaries = None
        state = Synced(url, base, {layout.name: layout for layout in layouts}, proc.returncode, proc.stdout, proc.stderr, summaries)
        _load_state(state)
        yield state
    finally:
        drop_database(url)


def _summary(s: Synced, layout: dc.Layout) -> dict:
    sid = layout.source["id"]
    if s.summaries is None:
        pytest.fail(f"`misgw sync --json` printed no JSON summary (exit {s.returncode}): "
                    f"{(s.stderr or s.stdout).strip()[-1500:]}")
    if sid not in s.summaries:
        pytest.fail(f"no run summary for source {sid} (sources summarised: {sorted(s.summaries)})")
    return s.summaries[sid]


def _succeeded(s: Synced, layout: dc.Layout) -> dict:
    summary = _summary(s, layout)
    if summary.get("status") not in ("success", "attention"):
        pytest.fail(f"source {layout.source['id']} did not complete: status {summary.get('status')!r}, "
                    f"error: {summary.get('error')}")
    return summary


def _need(s: Synced, table: str, *columns: str) -> None:
    missing = [c for c in columns if c not in s.columns[table]]
    if missing:
        pytest.fail(f"mis.{table} has no column {', '.join(missing)} (the gateway does not keep it yet)")


def _need_local_codes(s: Synced, layout: dc.Layout) -> None:
    """The households are found by their local code: say so plainly when the MIS does not keep it."""
    _need(s, "household", "local_code", "hamlet")
    ours = [r for r in s.households if r.get("source_id") == layout.source["id"]]
    if ours and not any(r.get("local_code") for r in ours):
        pytest.fail(f"{len(ours)} MIS households come from source {layout.source['id']} but none has a local_code "
                    f"(household_code e.g. {ours[0]['household_code']!r}, hamlet {ours[0].get('hamlet')!r}): the "
                    "gateway does not keep the code as the district writes it, so no household can be found by it")


def _where(layout: dc.Layout, h: dc.Household) -> str:
    head = h.members[0]
    unit = h.commune_code_pre2025 or h.commune_code
    return f"{layout.name}: household {h.local_code!r} of commune {unit} ({head.file}/{head.sheet} row {head.row})"


def _find(s: Synced, layout: dc.Layout, h: dc.Household) -> list[dict]:
    """The MIS households of this source with the household's local code, in its commune (old and new)."""
    return [r for r in s.households
            if r.get("source_id") == layout.source["id"] and r.get("local_code") == h.local_code
            and r.get("commune_code_pre2025") == h.commune_code_pre2025
            and (not h.commune_code or r.get("commune_code") == h.commune_code)]


def _report(problems: list[str], what: str) -> None:
    if problems:
        shown = "\n  ".join(problems[:30])
        more = f"\n  ... and {len(problems) - 30} more" if len(problems) > 30 else ""
        pytest.fail(f"{len(problems)} {what}:\n  {shown}{more}")


def _int(v):
    return None if v is None else int(v)


# ---------------------------------------------------------------- households and their assessment
@pytest.mark.parametrize("name", NAMES)
def test_clean_households_are_in_the_mis(synced, name):
    layout = synced.layouts[name]
    _succeeded(synced, layout)
    _need_local_codes(synced, layout)
    problems = []
    for h in layout.clean:
        found = _find(synced, layout, h)
        where = _where(layout, h)
        if len(found) != 1:
            problems.append(f"{where}: {len(found)} MIS households, expected 1")
            continue
        row = found[0]
        expect = {"hamlet": h.hamlet, "area": h.area, "commune_code": h.commune_code,
                  "commune_code_pre2025": h.commune_code_pre2025, "district_code_pre2025": h.district_code_pre2025,
                  "head_name": h.members[0].full_name, "member_count": len(h.members)}
        for key, want in expect.items():
            if row.get(key) != want:
                problems.append(f"{where}: {key} is {row.get(key)!r}, expected {want!r}")
        a = synced.assessments.get((row["household_id"], h.assessment_year))
        if a is None:
            years = sorted(y for (hid, y) in synced.assessments if hid == row["household_id"])
            problems.append(f"{where}: no poverty_assessment for {h.assessment_year} (years in the MIS: {years})")
            continue
        want_a = {"poverty_category": h.poverty_category, "income_per_capita": h.income_per_capita}
        if h.deprivation_count is not None:
            want_a["deprivation_count"] = h.deprivation_count
        if h.indicators is not None:
            want_a.update(h.indicators)
        for key, want in want_a.items():
            got = _int(a.get(key)) if key in ("income_per_capita", "deprivation_count") else a.get(key)
            if got != want:
                problems.append(f"{where}: poverty_assessment {h.assessment_year} {key} is {got!r}, expected {want!r}")
    _report(problems, f"differences between the truth and the MIS households of {layout.source['id']}")


@pytest.mark.parametrize("name", NAMES)
def test_members_are_in_the_mis_field_by_field(synced, name):
    layout = synced.layouts[name]
    _succeeded(synced, layout)
    _need_local_codes(synced, layout)
    problems = []
    for h in layout.clean:
        found = _find(synced, layout, h)
        where = _where(layout, h)
        if len(found) != 1:
            problems.append(f"{where}: {len(found)} MIS households, expected 1")
            continue
        listed = [m for m in synced.members.get(found[0]["household_id"], []) if m["listed"]]
        by_name = defaultdict(list)
        for m in listed:
            by_name[m["full_name"]].append(m)
        if len(listed) != len(h.members):
            problems.append(f"{where}: {len(listed)} listed members in the MIS, expected {len(h.members)} "
                            f"(MIS: {sorted(m['full_name'] for m in listed)})")
        for t in h.members:
            who = f"{where}, member {t.full_name!r} ({t.file}/{t.sheet} row {t.row})"
            got = by_name.get(t.full_name, [])
            if len(got) != 1:
                problems.append(f"{who}: {len(got)} listed MIS members with exactly this name "
                                f"(MIS names: {sorted(m['full_name'] for m in listed)})")
                continue
            m = got[0]
            expect = {"relation_code": t.relation_code, "sex": t.sex, "birth_date": t.birth_date,
                      "birth_year": t.birth_year, "id_number": t.id_number, "id_kind": t.id_kind}
            if t.ethnicity_code is not None:
                expect["ethnicity_code"] = t.ethnicity_code
            for key, want in expect.items():
                value = m.get(key)
                if key == "birth_date" and value is not None:
                    value = value.isoformat()
                if value != want:
                    problems.append(f"{who}: {key} is {value!r}, expected {want!r}")
    _report(problems, f"differences between the truth and the MIS members of {layout.source['id']}")


@pytest.mark.parametrize("name", NAMES)
def test_one_mis_household_per_roster_household(synced, name):
    layout = synced.layouts[name]
    _succeeded(synced, layout)
    _need(synced, "household", "local_code")
    owners = defaultdict(list)
    problems = []
    for h in layout.households:
        # By local code; while the MIS does not keep it, by the household's people (name and birth year).
        for row in _find(synced, layout, h) or _loaded_as(synced, layout, h):
            owners[row["household_id"]].append(_where(layout, h))
    for hid, whos in owners.items():
        if len(whos) > 1:
            problems.append(f"MIS household {hid} holds {len(whos)} roster households: {'; '.join(whos)}")
    # A household merged with another under a shared local code is not found by its commune: count too.
    of_source = [r for r in synced.households if r["source_id"] == layout.source["id"]]
    if len(of_source) != len(layout.clean):
        problems.append(f"{len(of_source)} MIS households come from source {layout.source['id']}, expected "
                        f"{len(layout.clean)} (the clean households of the roster)")
    _report(problems, f"problems with the identity of {layout.source['id']}'s households")


# ---------------------------------------------------------------- injected errors
def _rejects(s: Synced, run_id: str) -> list[dict]:
    engine = sa.create_engine(s.url)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.text(
            "SELECT * FROM mis.reject WHERE run_id = :r ORDER BY file, sheet, row"), {"r": run_id}).mappings()]
    engine.dispose()
    return rows


def _loaded_as(s: Synced, layout: dc.Layout, h: dc.Household) -> list[dict]:
    """MIS households of the source in h's (old) commune that are h: by local code, or, the code aside,
    by its people, name and birth year (most of its named members, all of them for a household of one or
    two)."""
    names = {(m.full_name, m.birth_year) for m in h.members if m.full_name}
    out = []
    for r in s.households:
        if r.get("source_id") != layout.source["id"] or r.get("commune_code_pre2025") != h.commune_code_pre2025:
            continue
        theirs = {(m["full_name"], m["birth_year"]) for m in s.members.get(r["household_id"], [])}
        if r.get("local_code") == h.local_code or len(names & theirs) >= max(min(len(names), 2), len(names) // 2 + 1):
            out.append(r)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_injected_errors_are_named_on_their_row_and_held(synced, name):
    layout = synced.layouts[name]
    summary = _succeeded(synced, layout)
    rejects = [r for r in _rejects(synced, summary["run_id"]) if r["severity"] == "reject"]
    at = defaultdict(set)
    for r in rejects:
        at[(r["file"], r["sheet"], r["row"])].add(r["rule"])
    problems = []
    for (file, sheet, row, rule) in layout.errors:
        h = next(h for h in layout.held if (file, sheet, row) in h.rows)
        if rule.startswith(dc.RULES_HOUSEHOLD_SCOPE):
            places = h.rows
        else:
            places = [(file, sheet, row)]
        if not any(rule in at[p] for p in places):
            seen = {p[2]: sorted(at[p]) for p in h.rows if at[p]}
            problems.append(f"{layout.name}: {rule} not named at {file}/{sheet} row {row} "
                            f"(rules named on the household's rows: {seen or 'none'})")
        loaded = _loaded_as(synced, layout, h)
        if loaded:
            problems.append(f"{_where(layout, h)} carries {rule} but was loaded (MIS household "
                            f"{loaded[0]['household_code']!r})")
    _report(problems, f"injected errors of {layout.source['id']} not caught as they should be")


@pytest.mark.parametrize("name", NAMES)
def test_no_clean_row_is_rejected(synced, name):
    layout = synced.layouts[name]
    summary = _succeeded(synced, layout)
    clean_rows = {p: h for h in layout.clean for p in h.rows}
    problems = []
    for r in _rejects(synced, summary["run_id"]):
        h = clean_rows.get((r["file"], r["sheet"], r["row"]))
        if h is not None and r["severity"] == "reject" and r["rule"] != "household.held_back":
            problems.append(f"{_where(layout, h)}: row {r['row']} rejected by {r['rule']} "
                            f"(field {r['field']}, value {r['value']!r}): {r['message_en']}")
    _report(problems, f"clean rows of {layout.source['id']} rejected")


# ---------------------------------------------------------------- every row accounted for
ACCOUNT_KEYS = ("read", "loaded", "unchanged", "rejected", "held", "superseded", "skipped")


@pytest.mark.parametrize("name", NAMES)
def test_every_row_is_accounted_for(synced, name):
    layout = synced.layouts[name]
    summary = _succeeded(synced, layout)
    if "row_accounts" not in summary:
        pytest.fail(f"the run summary of {layout.source['id']} has no row_accounts "
                    f"(keys: {sorted(summary)})")
    accounts = {(a.get("file"), a.get("sheet")): a for a in summary["row_accounts"]}
    rows_of = defaultdict(lambda: {"clean": 0, "held": 0})
    for h in layout.households:
        for m in h.members:
            rows_of[(m.file, m.sheet)]["held" if h.error_rule else "clean"] += 1
    problems = []
    for t in layout.sheets:
        a = accounts.get((t.file, t.sheet))
        where = f"{layout.name}: {t.file}/{t.sheet}"
        if a is None:
            problems.append(f"{where}: no row account (accounts for {sorted(accounts)})")
            continue
        missing = [k for k in ACCOUNT_KEYS if k not in a]
        if missing:
            problems.append(f"{where}: row account lacks {missing}: {a}")
            continue
        n = {k: int(a[k]) for k in ACCOUNT_KEYS}
        parts = sum(n[k] for k in ACCOUNT_KEYS[1:])
        checks = [("read", n["read"], t.rows_nonempty),
                  ("loaded + unchanged + rejected + held + superseded + skipped", parts, n["read"]),
                  ("skipped", n["skipped"], t.skipped_rows),
                  ("loaded", n["loaded"], rows_of[(t.file, t.sheet)]["clean"]),
                  ("rejected + held", n["rejected"] + n["held"], rows_of[(t.file, t.sheet)]["held"])]
        for label, got, want in checks:
            if got != want:
                problems.append(f"{where}: {label} is {got}, expected {want} (account {n})")
    _report(problems, f"row accounts of {layout.source['id']} that do not add up")


@pytest.mark.parametrize("name", NAMES)
def test_held_rows_say_why_in_both_languages(synced, name):
    layout = synced.layouts[name]
    summary = _succeeded(synced, layout)
    _need(synced, "held_row", "reason_vi", "reason_en")
    engine = sa.create_engine(synced.url)
    with engine.connect() as conn:
        held = {(r["file"], r["sheet"], r["row"]): r for r in conn.execute(sa.text(
            "SELECT * FROM mis.held_row WHERE run_id = :r"), {"r": summary["run_id"]}).mappings()}
    engine.dispose()
    problems = []
    for h in layout.held:
        for m in h.members:
            r = held.get((m.file, m.sheet, m.row))
            where = f"{_where(layout, h)} ({h.error_rule}), row {m.row}"
            if r is None:
                problems.append(f"{where}: not in mis.held_row")
                continue
            for key in ("reason_vi", "reason_en"):
                if not (r.get(key) or "").strip():
                    problems.append(f"{where}: held_row.{key} is empty")
    for key, r in held.items():
        if not (r.get("reason_vi") or "").strip() or not (r.get("reason_en") or "").strip():
            if not any(key in h.rows for h in layout.held):
                problems.append(f"{layout.name}: held row {key} has no reason in both languages")
    _report(problems, f"held rows of {layout.source['id']} without their reason")


# ---------------------------------------------------------------- the MIS reads as Vietnamese
def _vietnamese_letters() -> set[str]:
    out = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZđĐ0123456789 '-.,/()")
    for base in "aăâeêioôơuưy":
        for mark in ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"):
            ch = unicodedata.normalize("NFC", base + mark)
            out |= {ch, ch.upper()}
    return out


ALLOWED = _vietnamese_letters()
# Every text field the roster fills: the words people typed, the codes and numbers the gateway derives.
SCANNED = {"household": ("hamlet", "address", "local_code", "head_name", "household_code", "commune_code",
                         "commune_code_pre2025", "district_code_pre2025", "province_code"),
           "member": ("full_name", "id_number"),
           "assessment": ("approval_decision_no",)}
# Fields that hold a code list's code: spelled exactly as the list spells its codes.
CODED = {"household": {"area": "area"},
         "member": {"relation_code": "relation", "sex": "sex", "ethnicity_code": "ethnicity"},
         "assessment": {"poverty_category": "poverty_category"}}


@pytest.mark.parametrize("name", NAMES)
def test_mis_text_is_vietnamese_and_nothing_is_blank(synced, name):
    layout = synced.layouts[name]
    _succeeded(synced, layout)
    problems = []
    ours = [r for r in synced.households if r["source_id"] == layout.source["id"]]
    for r in ours:
        rows = [("household", r)] + [("member", m) for m in synced.members.get(r["household_id"], [])] \
            + [("assessment", a) for (hid, _), a in synced.assessments.items() if hid == r["household_id"]]
        for table, row in rows:
            for col in SCANNED[table]:
                v = row.get(col)
                if v is None:
                    continue
                bad = sorted({c for c in v if c not in ALLOWED})
                if bad or v != v.strip() or "  " in v or v == "":
                    problems.append(f"{layout.name}: mis.{table}.{col} {v!r} (household {r['household_code']}): "
                                    f"{'letters outside Vietnamese orthography ' + repr(bad) if bad else 'blank or stray spaces'}")
            for col, codelist in CODED[table].items():
                v = row.get(col)
                if v is not None and v not in set(codelists.lookup_table(codelist).values()):
                    problems.append(f"{layout.name}: mis.{table}.{col} {v!r} (household {r['household_code']}) "
                                    f"is no code of the {codelist} list")
    # No field is blank where the truth has a value (the household found by its code, else by its people).
    for h in layout.clean:
        for row in _find(synced, layout, h) or _loaded_as(synced, layout, h):
            for key, want in (("hamlet", h.hamlet), ("local_code", h.local_code)):
                if want and not (row.get(key) or "").strip():
                    problems.append(f"{_where(layout, h)}: {key} is blank, expected {want!r}")
            for m in synced.members.get(row["household_id"], []):
                if not (m.get("full_name") or "").strip():
                    problems.append(f"{_where(layout, h)}: a member with a blank name")
    _report(problems, f"text problems in the MIS rows of {layout.source['id']}")


# ---------------------------------------------------------------- the year in two places
def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def test_a_file_whose_name_and_title_disagree_on_the_year_stops_alone(tmp_path, fresh_db, units_db):
    copy_unit_tables(units_db, fresh_db)
    [layout] = dc.build(tmp_path, names=["L01_thoi_lai_commune_sheets"])
    folder, conflict, other = dc.year_conflict_source(tmp_path, layout)
    source = {"id": "ct-thoi-lai-year", "kind": "spreadsheet", "path": folder.name + "/", "district_code": "927"}
    cfg = tmp_path / "misgw.yaml"
    cfg.write_text(yaml.safe_dump({"province_code": "92", "output_dir": "out", "sources": [source]},
                                  allow_unicode=True, sort_keys=False), encoding="utf-8")
    proc = misgw("sync", "--config", str(cfg), "--json", env_url=fresh_db)
    try:
        [summary] = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"no JSON summary (exit {proc.returncode}): {(proc.stderr or proc.stdout)[-1500:]}")
    sentences = [t for t in _strings(summary) if "assessment_year" in t and "2024" in t and "2025" in t]
    assert sentences, ("no sentence of the summary names assessment_year with both 2024 (file name) and 2025 "
                       f"(title): status {summary.get('status')!r}, error {summary.get('error')!r}, "
                       f"keys {sorted(summary)}")
    assert conflict in json.dumps(summary, ensure_ascii=False), f"the summary does not name {conflict}"
    engine = sa.create_engine(fresh_db)
    with engine.connect() as conn:
        cols = set(conn.execute(sa.text("SELECT column_name FROM information_schema.columns "
                                        "WHERE table_schema = 'mis' AND table_name = 'household'")).scalars())
        assert "local_code" in cols, "mis.household has no local_code column"
        rows = conn.execute(sa.text(
            "SELECT household_code, local_code, commune_code_pre2025 FROM mis.household WHERE source_id = :s"),
            {"s": source["id"]}).mappings().all()
    engine.dispose()
    first_file = conflict.removeprefix("ds-ho-ngheo-2024-")
    from_conflict = [h for h in layout.households if h.members[0].file == first_file]
    from_other = [h for h in layout.clean if h.members[0].file == other]
    # The two files hold different communes: nothing of the stopped file's communes may be in the MIS.
    stopped_communes = {h.commune_code_pre2025 for h in from_conflict}
    assert stopped_communes.isdisjoint({h.commune_code_pre2025 for h in from_other})
    stray = [r["household_code"] for r in rows if r["commune_code_pre2025"] in stopped_communes]
    assert not stray, f"{len(stray)} households of the stopped file {conflict} were loaded: {stray[:10]}"
    assert not rows or any(r["local_code"] for r in rows), \
        f"mis.household.local_code is empty for all {len(rows)} households of the source"
    loaded = {(r["local_code"], r["commune_code_pre2025"]) for r in rows}
    absent = [(h.local_code, h.commune_code_pre2025) for h in from_other
              if (h.local_code, h.commune_code_pre2025) not in loaded]
    assert not absent, f"{len(absent)} clean households of {other} were not loaded: {absent[:10]}"
