"""Reconciling a 1,000,000-member roster against a 1,000,000-member MIS: the whole classify step, in PostgreSQL.

    .venv/bin/python bench/reconcile_1m.py [--members 1000000] [--out bench/results/reconcile_1m.json]

Builds its own database (MISGW_TEST_DATABASE_URL, else 127.0.0.1:5432): a registry of 250,000
households of 4 and a staged roster of the same size with 1% changed, 1% new people, 0.5% typos in
names without IDs, and some households gone, then times mis.reconcile.classify.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

RUN = "bench-run"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "reconcile_1m.json")
    args = ap.parse_args()
    from bench.scratch_db import scratch_database
    from mis import reconcile, staging

    with scratch_database() as engine:
        households = args.members // 4
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO mis.province_pre2025 VALUES ('92', 'Cần Thơ'); "
                                 "INSERT INTO mis.district_pre2025 VALUES ('926', 'Phong Điền', '92'); "
                                 "INSERT INTO mis.commune_pre2025 VALUES ('31300', 'Xã Nhơn Ái', 'Xã', '926', '92'); "
                                 "INSERT INTO mis.province VALUES ('92', 'Cần Thơ'); "
                                 "INSERT INTO mis.commune VALUES ('31315', 'Xã Nhơn Ái', '92')")
            # The registry, set-based.
            conn.exec_driver_sql(f"""
                INSERT INTO mis.household (household_code, head_name, commune_code, commune_code_pre2025,
                    district_code_pre2025, province_code, address, area, member_count, source_id, created_run_id, updated_run_id)
                SELECT 'H' || lpad(i::text, 7, '0'), 'Người ' || i || '-0', '31315', '31300', '926', '92', 'Ấp 1', 'rural', 4,
                       'pd', 'r0', 'r0' FROM generate_series(1, {households}) i""")
            conn.exec_driver_sql("""
                INSERT INTO mis.member (household_id, member_key, full_name, relation_code, sex, birth_date, birth_year,
                    ethnicity_code, id_number, id_kind, source_id, created_run_id, updated_run_id)
                SELECT h.household_id,
                       CASE WHEN k < 3 THEN '092' || (k %% 2) || lpad((h.household_id %% 100)::text, 2, '0')
                                            || lpad(((h.household_id * 4 + k) %% 1000000)::text, 6, '0')
                            ELSE 'nguyenvancon' || h.household_id || '|2010' END,
                       CASE WHEN k < 3 THEN 'Người ' || h.household_id || '-' || k ELSE 'Nguyễn Văn Con' || h.household_id END,
                       CASE k WHEN 0 THEN '01' WHEN 1 THEN '02' ELSE '03' END, CASE k %% 2 WHEN 0 THEN 'M' ELSE 'F' END,
                       NULL, 2010, '01',
                       CASE WHEN k < 3 THEN '092' || (k %% 2) || lpad((h.household_id %% 100)::text, 2, '0')
                                            || lpad(((h.household_id * 4 + k) %% 1000000)::text, 6, '0') END,
                       CASE WHEN k < 3 THEN 'cccd' END, 'pd', 'r0', 'r0'
                FROM mis.household h CROSS JOIN generate_series(0, 3) k""")
            conn.exec_driver_sql("ANALYZE")
            # The roster: the registry as it stands, with changes, new people, typos and households gone.
            cols = staging_columns()
            staging.create_table(conn, RUN, "members", {c: "text" for c in cols})
            table = staging.table_name(RUN, "members")
            conn.exec_driver_sql(f"""
                INSERT INTO {table} (source_file, source_sheet, source_row, household_code, member_key, full_name,
                    relation_code, sex, birth_year, ethnicity_code, id_number, id_kind, commune_code,
                    commune_code_pre2025, district_code_pre2025, province_code, address, area, accepted)
                SELECT 'x.xlsx', 'DS', (row_number() OVER ())::text, h.household_code,
                       m.member_key || CASE WHEN m.id_kind IS NULL AND h.household_id %% 200 = 0 THEN 'x' ELSE '' END,
                       m.full_name || CASE WHEN m.id_kind IS NULL AND h.household_id %% 200 = 0 THEN 'x' ELSE '' END,
                       m.relation_code, m.sex, m.birth_year::text,
                       CASE WHEN h.household_id %% 100 = 1 THEN '05' ELSE m.ethnicity_code END,
                       m.id_number, m.id_kind, h.commune_code, h.commune_code_pre2025, h.district_code_pre2025,
                       h.province_code, h.address, h.area, 'True'
                FROM mis.household h JOIN mis.member m USING (household_id)
                WHERE h.household_id %% 500 <> 7""")
            conn.exec_driver_sql(f"""
                INSERT INTO {table} (source_file, source_sheet, source_row, household_code, member_key, full_name,
                    relation_code, sex, birth_year, ethnicity_code, commune_code, commune_code_pre2025,
                    district_code_pre2025, province_code, address, area, accepted)
                SELECT 'x.xlsx', 'DS', (2000000 + i)::text, 'H' || lpad((i * 97 %% {households} + 1)::text, 7, '0'),
                       'nguyenthimoi' || i || '|2020', 'Nguyễn Thị Mới ' || i, '06', 'F', '2020', '01', '31315',
                       '31300', '926', '92', 'Ấp 1', 'rural', 'True'
                FROM generate_series(1, {args.members // 100}) i""")
            conn.exec_driver_sql(f"ANALYZE {table}")
            staged = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
        started = time.perf_counter()
        with engine.begin() as conn:
            result = reconcile.classify(conn, RUN, "pd", "926")
        seconds = time.perf_counter() - started
    report = {"date": dt.date.today().isoformat(), "machine": {"cores": os.cpu_count()},
              "registry_members": households * 4, "roster_members": staged, "classify_seconds": round(seconds, 1),
              "households": result["households"], "members": result["members"]}
    print(json.dumps(report, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


def staging_columns() -> list[str]:
    from misgw.pipeline import _MEMBER_STAGE_COLUMNS

    return _MEMBER_STAGE_COLUMNS


if __name__ == "__main__":
    main()
