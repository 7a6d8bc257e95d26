"""The `misgw` command: what provincial IT, the demo and the tests use to run every stage."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from common.errors import DatabaseUnavailable, UserError
from misgw.cli_records import (
    _engine,
    cmd_history,
    cmd_households_review,
    cmd_households_scope,
    cmd_rejects_aging,
    cmd_rejects_export,
    cmd_rejects_list,
    cmd_rejects_waive,
    cmd_runs_list,
    cmd_runs_show,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference" / "admin-units"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # Our own progress lines go to stderr; libraries speak only when something is wrong.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("misgw").setLevel(logging.WARNING if getattr(args, "json", False) else logging.INFO)
    try:
        return args.func(args) or 0
    except (UserError, DatabaseUnavailable) as exc:
        print(f"misgw: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback when asked for
        if os.environ.get("MISGW_DEBUG"):
            raise
        print(f"misgw: unexpected error ({type(exc).__name__}): {str(exc).splitlines()[0] if str(exc) else ''} "
              "(set MISGW_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="misgw", description="MIS Gateway: district rosters into the social assistance MIS.")
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    dbp = sub.add_parser("db", help="the MIS database").add_subparsers(required=True, metavar="ACTION")
    up = dbp.add_parser("upgrade", help="create or upgrade the MIS schema")
    up.set_defaults(func=cmd_db_upgrade)

    au = sub.add_parser("admin-units", help="official administrative-unit tables").add_subparsers(required=True, metavar="ACTION")
    imp = au.add_parser("import", help="load the GSO pre-2025 list and the 2025 crosswalk")
    imp.add_argument("--pre2025", type=Path, default=DEFAULT_REFERENCE / "communes-pre-2025.csv")
    imp.add_argument("--crosswalk", type=Path, default=DEFAULT_REFERENCE / "crosswalk-2025-07-01.csv")
    imp.set_defaults(func=cmd_admin_units_import)

    sy = sub.add_parser("sync", help="run sources: read, map, validate, reconcile, load, report")
    sy.add_argument("--config", help="sources file (default: misgw.yaml, or $MISGW_CONFIG)")
    sy.add_argument("--source", action="append", dest="sources", metavar="ID", help="only this source (repeatable)")
    sy.add_argument("--dry-run", action="store_true", help="validate and reconcile; write nothing to the central tables")
    sy.add_argument("--full", action="store_true",
                    help="read everything again: ignore what the last run read (bookmarks, snapshots)")
    sy.add_argument("--approve", action="store_true",
                    help="load a run even if it changes more of its district than approval_threshold allows")
    sy.add_argument("--json", action="store_true", help="print one JSON summary per source run")
    sy.add_argument("--workers", type=int, default=1, metavar="N",
                    help="run N sources at a time, each in its own process (default 1; about one per core)")
    sy.set_defaults(func=cmd_sync)

    rj = sub.add_parser("rejects", help="records turned back to the districts").add_subparsers(required=True, metavar="ACTION")
    ls = rj.add_parser("list", help="list rejected records")
    ls.add_argument("--source")
    ls.add_argument("--run")
    ls.add_argument("--status", choices=["open", "resolved", "waived", "all"], default="open")
    ls.add_argument("--json", action="store_true")
    _config_option(ls)
    ls.set_defaults(func=cmd_rejects_list)
    wv = rj.add_parser("waive", help="close an open entry on purpose, with a reason")
    wv.add_argument("entry_id", type=int, help="the entry's id, as `rejects list` shows it")
    wv.add_argument("--reason", required=True)
    _config_option(wv)
    wv.set_defaults(func=cmd_rejects_waive)
    ag = rj.add_parser("aging", help="open entries per district and age")
    ag.add_argument("--json", action="store_true")
    _config_option(ag)
    ag.set_defaults(func=cmd_rejects_aging)
    ex = rj.add_parser("export", help="write the fix-up workbook of a source's last run")
    ex.add_argument("--source", required=True)
    ex.add_argument("--district", help="the district's workbook, for a source that covers several")
    ex.add_argument("--out", type=Path, required=True)
    _config_option(ex)
    ex.set_defaults(func=cmd_rejects_export)

    rn = sub.add_parser("runs", help="the run ledger").add_subparsers(required=True, metavar="ACTION")
    rl = rn.add_parser("list", help="recent runs")
    rl.add_argument("--source")
    rl.add_argument("--limit", type=int, default=20)
    rl.add_argument("--json", action="store_true")
    _config_option(rl)
    rl.set_defaults(func=cmd_runs_list)
    rs = rn.add_parser("show", help="one run: counts, reconcile, and the mapping report per sheet")
    rs.add_argument("run_id")
    rs.add_argument("--changes", action="store_true",
                    help="also list every household and person the run found new, changed, moved, missing or in conflict")
    rs.add_argument("--json", action="store_true")
    _config_option(rs)
    rs.set_defaults(func=cmd_runs_show)

    hi = sub.add_parser("history", help="what changed in a household, when, by whom and from which file")
    hi.add_argument("household_code", help="the code as the district writes it (with --commune), or the MIS key")
    hi.add_argument("--commune", help="the household's commune code (pre-2025 or current): local codes such as "
                                      "001 repeat in every commune")
    hi.add_argument("--json", action="store_true")
    _config_option(hi)
    hi.set_defaults(func=cmd_history)

    hh = sub.add_parser("households", help="household keys").add_subparsers(required=True, metavar="ACTION")
    sc = hh.add_parser("scope", help="within which unit a source's household codes are unique (how they are keyed)")
    sc.add_argument("--source", required=True)
    sc.add_argument("--config", help="sources file (default: misgw.yaml, or $MISGW_CONFIG)")
    sc.add_argument("--set", choices=["commune", "district", "province"],
                    help="change it on purpose: the source's households are re-keyed, in the change history")
    sc.set_defaults(func=cmd_households_scope)
    rv = hh.add_parser("review", help="households left for a person to look at (merged by the old keying rule)")
    rv.add_argument("--source")
    rv.add_argument("--json", action="store_true")
    _config_option(rv)
    rv.set_defaults(func=cmd_households_review)

    pv = sub.add_parser("poverty", help="poverty figures").add_subparsers(required=True, metavar="ACTION")
    mv = pv.add_parser("movement", help="escaped, newly poor and fell back (tái nghèo), with rates")
    mv.add_argument("--year", type=int, required=True, help="assessment year, compared with the year before")
    mv.add_argument("--by", choices=["commune", "district", "province"], default="province")
    mv.add_argument("--json", action="store_true")
    mv.set_defaults(func=cmd_poverty_movement)

    mp = sub.add_parser("mapping", help="header mappings").add_subparsers(required=True, metavar="ACTION")
    sg = mp.add_parser("suggest", help="propose a mapping YAML for a workbook or a source, with a confidence per column")
    sg.add_argument("file", type=Path, nargs="?", help="a workbook")
    sg.add_argument("--source", help="a source of the sources file instead (a database table, a web service)")
    sg.add_argument("--config", help="sources file (default: misgw.yaml, or $MISGW_CONFIG)")
    sg.add_argument("--mapping", type=Path, help="start from this mapping YAML instead of the vocabulary alone")
    sg.set_defaults(func=cmd_mapping_suggest)

    pr = sub.add_parser("province", help="province-wide steps").add_subparsers(required=True, metavar="ACTION")
    rp = pr.add_parser("report", help="each district's last run, open rejects, poverty movement, cross-district "
                                      "conflicts; kept in mis.province_report")
    rp.add_argument("--config", help="sources file (default: misgw.yaml, or $MISGW_CONFIG)")
    rp.add_argument("--json", action="store_true")
    rp.set_defaults(func=cmd_province_report)

    af = sub.add_parser("airflow", help="Airflow set-up").add_subparsers(required=True, metavar="ACTION")
    po = af.add_parser("pools", help="the Airflow pools the sources use (one per legacy database server)")
    po.add_argument("--config", help="sources file (default: misgw.yaml, or $MISGW_CONFIG)")
    po.add_argument("--slots", type=int, default=1, help="tasks at once per database server (default 1)")
    po.add_argument("--apply", action="store_true", help="create or update them with `airflow pools set`")
    po.set_defaults(func=cmd_airflow_pools)

    de = sub.add_parser("demo", help="generate the demo province (if absent) and sync it")
    de.add_argument("--dir", type=Path, default=Path("var/demo"))
    de.add_argument("--generate-only", action="store_true",
                    help="write the demo province's files and sources file, and sync nothing")
    de.add_argument("--pre2025", type=Path, default=DEFAULT_REFERENCE / "communes-pre-2025.csv")
    de.add_argument("--crosswalk", type=Path, default=DEFAULT_REFERENCE / "crosswalk-2025-07-01.csv")
    de.add_argument("--json", action="store_true")
    de.set_defaults(func=cmd_demo)
    return p


def _config_option(parser) -> None:
    parser.add_argument("--config", help="sources file (default: misgw.yaml, or $MISGW_CONFIG): names the "
                                         "sources a --source may be")


def cmd_db_upgrade(args) -> int:
    from mis import db

    applied = db.upgrade(_engine())
    print(f"MIS schema up to date ({', '.join(applied) if applied else 'no new migrations'}).")
    return 0


def cmd_admin_units_import(args) -> int:
    from mis import db
    from misgw.admin_units import import_admin_units

    for path in (args.pre2025, args.crosswalk):
        if not Path(path).is_file():
            raise UserError(f"File not found: {path}.")
    engine = _engine()
    db.upgrade(engine)
    counts = import_admin_units(engine, args.pre2025, args.crosswalk)
    print("Administrative units loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_sync(args) -> int:
    from common.collector import collect_rarely
    from expectations import gx_process

    collect_rarely()   # through the imports too, not only the stages (the pipeline's imports 0.56 -> 0.51 s)
    # Sources judged in this process (one source, or one worker): GX's import (1.1 s) starts beside this
    # process's own imports (0.5 s) instead of after them, on the other core.
    helper = (args.workers <= 1 or len(args.sources or ()) == 1) and gx_process.start()
    try:
        from misgw import pipeline, reports
        from misgw.config import load_config

        load_config(args.config)  # a bad config stops here, before any run
        summaries = pipeline.run_sync(args.config, args.sources, args.dry_run, full=args.full,
                                      approve=args.approve, workers=args.workers)
    finally:
        if helper:
            gx_process.stop()
    if args.json:
        print(json.dumps(summaries, ensure_ascii=False, indent=2, default=str))
    else:
        print(reports.summary_table(summaries))
    return 0 if all(s["status"] == "success" for s in summaries) else 1


def cmd_poverty_movement(args) -> int:
    from mis import poverty

    with _engine().connect() as conn:
        rows = poverty.movement(conn, args.year, args.by)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    def n(value):
        return "-" if value is None else value

    head = f"{args.by:10} {'assessed':>8} {'poor':>6} {'near':>6} {'poor/assessed %':>16} {'near/assessed %':>16} " \
           f"{'escaped':>8} {'new poor':>9} {'fell back':>9}"
    print(f"Poverty movement {args.year - 1} -> {args.year} (shares are of the households assessed in the registry)")
    if not rows:
        print(f"No household assessed for {args.year} or {args.year - 1}.")
        return 0
    print(head)
    for r in rows:
        print(f"{str(r['unit']):10} {r['assessed']:>8} {r['poor']:>6} {r['near_poor']:>6} {n(r['poor_rate']):>16} "
              f"{n(r['near_poor_rate']):>16} {n(r['escaped']):>8} {n(r['newly_poor']):>9} {n(r['fell_back']):>9}")
    for note in sorted({r["movement_note"] for r in rows if r["movement_note"]}):
        print(f"- ({note}: shown as -)")
    return 0


def cmd_mapping_suggest(args) -> int:
    import itertools

    from connectors.spreadsheet import read_sheets
    from mappings.suggest import as_yaml, suggest_columns
    from mappings.vocabulary import load_mapping

    if bool(args.file) == bool(args.source):
        raise UserError("Give a workbook, or --source ID (with --config), to suggest a mapping for.")
    mapping = load_mapping(args.mapping)
    if args.source:
        from misgw.config import load_config

        source = load_config(args.config).source(args.source)
        connector = source.connector()
        sheets = connector.read(connector.plan(None, full=True))
        name = source.id
    else:
        sheets, name = read_sheets(args.file), args.file.name
    best = None
    for sheet in sheets:
        # The header and the first rows are enough; a database table is not read to its end.
        rows = sheet.dense() if args.file else [c for _, c in itertools.islice(sheet.rows, 500)]
        proposal = suggest_columns(rows, mapping)
        score = sum(c["confidence"] for c in proposal["columns"])
        if best is None or score > best[0]:
            best = (score, sheet.sheet, proposal)
    if best is None:
        raise UserError(f"{name}: no sheet to read.")
    print(as_yaml(name, best[1], best[2]), end="")
    return 0


def cmd_province_report(args) -> int:
    from misgw import province

    body = province.report(args.config, trigger="cli")
    if args.json:
        print(json.dumps(body, ensure_ascii=False, indent=2, default=str))
        return 0
    print(f"Province {body['province_code']} (assessment year {body['assessment_year'] or '-'})")
    for s in body["sources"]:
        last = s["last_run"] or {}
        print(f"  {s['source_id']:28} {s['district_code'] or '-':4} {last.get('status', 'never run'):18} "
              f"open rejects {sum(s['open_rejects'].values()):>5}")
    for c in body["cross_district_conflicts"]:
        print(f"  ! ID {c['id_number']} listed in districts {', '.join(c['districts'])}: {', '.join(c['households'])}")
    return 0


def cmd_airflow_pools(args) -> int:
    import shutil
    import subprocess

    from misgw.config import load_config

    config = load_config(args.config)
    pools: dict[str, list[str]] = {}
    for source in config.sources:
        if source.pool:
            pools.setdefault(source.pool, []).append(source.id)
    if not pools:
        print("No source needs a pool of its own.")
        return 0
    for name, users in sorted(pools.items()):
        description = f"MIS Gateway: one database server ({', '.join(users)})"
        command = ["airflow", "pools", "set", name, str(args.slots), description]
        if args.apply:
            binary = shutil.which("airflow") or str(Path(sys.executable).with_name("airflow"))
            done = subprocess.run([binary, *command[1:]], capture_output=True, text=True)
            if done.returncode != 0:
                raise UserError(f"`airflow pools set {name}` failed: {done.stderr.strip().splitlines()[-1:]}")
            print(f"pool {name}: {args.slots} slot(s)")
        else:
            print(" ".join(f"'{c}'" if " " in c else c for c in command))
    return 0


def cmd_demo(args) -> int:
    from misgw import demo

    return demo.run(args.dir, args.pre2025, args.crosswalk, as_json=args.json, generate_only=args.generate_only)


if __name__ == "__main__":
    sys.exit(main())
