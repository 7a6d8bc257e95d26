"""Reconciling a 1,000,000-member roster against a 1,000,000-member MIS: the whole classify step, in PostgreSQL.

    .venv/bin/python bench/reconcile_1m.py [--members 1000000] [--out bench/results/reconcile_1m.json]

Builds its own database (MISGW_TEST_DATABASE_URL, else 127.0.0.1:5432): a registry of households of
four (three people with CCCDs, one child without), and a staged roster of the same district that
plants every outcome by household number (hid):

  hid % 500 = 7       household gone from the roster                 missing (and its four people)
  hid % 200 = 0       typo in the name of the child without an ID   changed (matched by name)
  hid % 100 = 1       ethnicity changed for everyone; four new people each   changed
  hid % 1000 = 3      re-coded: new household code, same members   changed (matched by members' IDs)
  hid % 1000 = 5 / 6  a person with a CCCD moves from 5 to 6         moved (by ID)
  hid % 1000 = 9 / 10 the child without an ID moves from 9 to 10     moved (by name, birth year, sex)
  hid % 1000 = 13     household moved to another commune             moved
  + new households of four                                            new

then times mis.reconcile.classify and checks its counts against the planted truth.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

RUN = "bench-run"
STAGED = ["source_file", "source_sheet", "source_row", "household_code", "member_key", "name_key", "full_name",
          "relation_code", "sex", "birth_year", "ethnicity_code", "id_number", "id_kind", "commune_code",
          "commune_code_pre2025", "district_code_pre2025", "province_code", "address", "area", "accepted",
          "local_code", "hamlet"]


def expected(households: int) -> dict:
    """The planted truth, counted the way the generator plants it."""
    def every(mod, rest):
        return sum(1 for h in range(1, households + 1) if h % mod == rest)

    missing = every(500, 7)
    typo, ethnic, new = every(200, 0), every(100, 1), households // 100
    special = {r: every(1000, r) for r in (3, 5, 6, 9, 10, 13)}
    changed = typo + ethnic + sum(special[r] for r in (3, 5, 6, 9, 10))
    hh = {"new": new, "changed": changed, "moved": special[13], "missing": missing, "conflict": 0}
    hh["unchanged"] = households - missing - changed - special[13]
    people = {"new": ethnic * 4 + new * 4, "changed": ethnic * 4 + typo, "moved": special[5] + special[9],
              "missing": missing * 4, "conflict": 0}
    people["unchanged"] = households * 4 - people["missing"] - people["changed"] - people["moved"]
    return {"households": hh, "members": people}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "reconcile_1m.json")
    args = ap.parse_args()
    from bench.scratch_db import scratch_database
    from mis import reconcile, staging

    households = args.members // 4
    with scratch_database() as engine:
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO mis.province_pre2025 VALUES ('92', 'Cần Thơ'); "
                "INSERT INTO mis.district_pre2025 VALUES ('926', 'Phong Điền', '92'); "
                "INSERT INTO mis.commune_pre2025 VALUES ('31300', 'Xã Nhơn Ái', 'Xã', '926', '92'), "
                "('31303', 'Xã Giai Xuân', 'Xã', '926', '92'); "
                "INSERT INTO mis.province VALUES ('92', 'Cần Thơ'); "
                "INSERT INTO mis.commune VALUES ('31315', 'Xã Nhơn Ái', '92'), ('31318', 'Xã Giai Xuân', '92')")
            # The registry, set-based.
            conn.exec_driver_sql(f"""
                INSERT INTO mis.household (household_code, head_name, commune_code, commune_code_pre2025,
                    district_code_pre2025, province_code, address, area, member_count, local_code, source_id,
                    created_run_id, updated_run_id)
                SELECT 'H' || lpad(i::text, 7, '0'), 'Người ' || i || ' Số 0', '31315', '31300', '926', '92', 'Ấp 1',
                       'rural', 4, 'H' || lpad(i::text, 7, '0'), 'pd', 'r0', 'r0' FROM generate_series(1, {households}) i""")
            conn.exec_driver_sql("""
                INSERT INTO mis.member (household_id, member_key, name_key, full_name, relation_code, sex, birth_date,
                    birth_year, ethnicity_code, id_number, id_kind, source_id, created_run_id, updated_run_id)
                SELECT h.household_id, coalesce(x.cccd, 'nguyenvancon' || h.household_id || '|2010'),
                       CASE WHEN k < 3 THEN 'nguoi' || h.household_id || 'so' || k
                            ELSE 'nguyenvancon' || h.household_id END,
                       CASE WHEN k < 3 THEN 'Người ' || h.household_id || ' Số ' || k
                            ELSE 'Nguyễn Văn Con ' || h.household_id END,
                       CASE k WHEN 0 THEN '01' WHEN 1 THEN '02' ELSE '03' END, CASE k %% 2 WHEN 0 THEN 'M' ELSE 'F' END,
                       NULL, CASE WHEN k < 2 THEN 1970 ELSE 2010 END, '01', x.cccd,
                       CASE WHEN k < 3 THEN 'cccd' END, 'pd', 'r0', 'r0'
                FROM mis.household h CROSS JOIN generate_series(0, 3) k
                CROSS JOIN LATERAL (SELECT CASE WHEN k < 3 THEN '092' || (k %% 2) || '70'
                                                 || lpad((h.household_id * 4 + k)::text, 7, '0') END AS cccd) x""")
            conn.exec_driver_sql("ANALYZE")
            registry_seconds = time.perf_counter() - started
            staging.create_table(conn, RUN, "members", {c: "text" for c in staging_columns()})
            table = staging.table_name(RUN, "members")
            cols = ", ".join(STAGED)
            # The roster: the registry as it stands, with the planted changes.
            conn.exec_driver_sql(f"""
                INSERT INTO {table} ({cols})
                SELECT 'x.xlsx', 'DS', (row_number() OVER ())::text,
                       CASE WHEN h.household_id %% 1000 = 3 THEN 'R' || h.household_code ELSE h.household_code END,
                       CASE WHEN k.typo THEN split_part(m.member_key, '|', 1) || 'x|2010' ELSE m.member_key END,
                       m.name_key || CASE WHEN k.typo THEN 'x' ELSE '' END,
                       m.full_name || CASE WHEN k.typo THEN 'x' ELSE '' END,
                       m.relation_code, m.sex, m.birth_year::text,
                       CASE WHEN h.household_id %% 100 = 1 THEN '05' ELSE m.ethnicity_code END,
                       m.id_number, m.id_kind,
                       CASE WHEN h.household_id %% 1000 = 13 THEN '31318' ELSE h.commune_code END,
                       CASE WHEN h.household_id %% 1000 = 13 THEN '31303' ELSE h.commune_code_pre2025 END,
                       h.district_code_pre2025, h.province_code, h.address, h.area, 'True',
                       CASE WHEN h.household_id %% 1000 = 3 THEN 'R' || h.household_code ELSE h.household_code END,
                       h.hamlet
                FROM mis.member m
                -- The child with a CCCD of household ...5, and the child without an ID of ...9, now live next door.
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN (m.household_id %% 1000 = 5 AND m.relation_code = '03' AND m.id_kind IS NOT NULL)
                                  OR (m.household_id %% 1000 = 9 AND m.id_kind IS NULL)
                                THEN m.household_id + 1 ELSE m.household_id END AS home,
                           m.id_kind IS NULL AND m.household_id %% 200 = 0 AS typo) k
                JOIN mis.household h ON h.household_id = k.home
                WHERE m.household_id %% 500 <> 7""")
            new_people = households // 100
            conn.exec_driver_sql(f"""
                INSERT INTO {table} ({cols})
                SELECT 'x.xlsx', 'DS', (2000000 + i)::text, h.household_code,
                       'nguyenthimoi' || i || '|2020', 'nguyenthimoi' || i, 'Nguyễn Thị Mới ' || i, '06', 'F', '2020',
                       '05', NULL, NULL, '31315', '31300', '926', '92', 'Ấp 1', 'rural', 'True', h.local_code, h.hamlet
                FROM generate_series(0, {new_people * 4 - 1}) i
                JOIN mis.household h ON h.household_id = (i / 4) * 100 + 1""")
            conn.exec_driver_sql(f"""
                INSERT INTO {table} ({cols})
                SELECT 'x.xlsx', 'DS', (3000000 + i * 4 + k)::text, 'N' || lpad(i::text, 7, '0'),
                       '093' || (k %% 2) || '80' || lpad((i * 4 + k)::text, 6, '0'), 'nguoimoi' || i || 'so' || k,
                       'Người Mới ' || i || ' Số ' || k, CASE k WHEN 0 THEN '01' ELSE '03' END,
                       CASE k %% 2 WHEN 0 THEN 'M' ELSE 'F' END, '1980', '01',
                       '093' || (k %% 2) || '80' || lpad((i * 4 + k)::text, 6, '0'), 'cccd', '31315', '31300', '926',
                       '92', 'Ấp 2', 'rural', 'True', 'N' || lpad(i::text, 7, '0'), 'Ấp 2'
                FROM generate_series(1, {new_people}) i CROSS JOIN generate_series(0, 3) k""")
            conn.exec_driver_sql(f"ANALYZE {table}")
            staged = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
        started = time.perf_counter()
        with engine.begin() as conn:
            result = reconcile.classify(conn, RUN, "pd", "926")
        seconds = time.perf_counter() - started
    truth = expected(households)
    got = {"households": result["households"], "members": result["members"]}
    report = {"date": dt.date.today().isoformat(),
              "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
              "registry_households": households, "registry_members": households * 4, "roster_members": staged,
              "registry_seconds": round(registry_seconds, 1), "classify_seconds": round(seconds, 1),
              **got, "matches_planted_truth": got == truth, **({} if got == truth else {"expected": truth})}
    print(json.dumps(report, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    if got != truth:
        sys.exit("reconcile outcomes differ from the planted truth")


def staging_columns() -> list[str]:
    from mis.record import MEMBER_STAGE_COLUMNS as _MEMBER_STAGE_COLUMNS

    return _MEMBER_STAGE_COLUMNS


if __name__ == "__main__":
    main()
