"""No full ID number in what people read: logs, CLI output, Data Docs, the run ledger, run notes, alerts and the
operator page show CCCD and CMND numbers masked (expectations.validate.mask_id). Only the fix-up workbook, sent to
the district whose people they are, carries them in full, and the test checks that it does: the IDs really went
through the system.

One small roster per district, written the way district staff make them, with IDs that are accepted, IDs that
are rejected (wrong sex/century digit, unknown province code, wrong birth year, one CCCD in two households, the
same person listed in another district, a CCCD pasted into the name cell), legacy 9-digit CMNDs (a warning), an
ID typed as a number, and a next roster that changes IDs (the change history, an approval). Every output is
captured and scanned for every ID of the rosters; a leak is reported by output and with an excerpt in which the
ID itself is replaced by its length, so that the failure message does not print it either.
"""
from __future__ import annotations

import email
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa
import yaml
from inbox import Inbox
from openpyxl import load_workbook
from rosters import write_config, write_roster
from test_pipeline import mis_db, misgw  # noqa: F401  (mis_db is a fixture)

from expectations.validate import mask_id


def person(hh, name, rel, sex, birth, id_number, category="Hộ nghèo", hamlet="Ấp Nhơn Lộc", income=1_200_000):
    return [hh, name, rel, sex, birth, "Kinh", id_number, hamlet, category, 2025, income]


# Phong Điền (926), Xã Nhơn Ái (31300).
PD_ROWS = [
    # 0101 loads: three CCCDs that agree with the person, and a legacy CMND (a warning only).
    person("31300-0101", "Đặng Văn Hùng", "Chủ hộ", "Nam", "14/02/1971", "092071583920"),
    person("31300-0101", "Võ Thị Lan", "Vợ", "Nữ", "22/08/1974", "092174615207"),
    person("31300-0101", "Đặng Văn Khoa", "Con", "Nam", "03/11/2003", "092203748151"),
    person("31300-0101", "Trương Thị Mai", "Mẹ", "Nữ", "1948", "361845027"),
    person("31300-0101", "Đặng Thị Bé", "Con", "Nữ", "2010", None),
    # 0102 held: digit 4 says a man born in the 1900s, she is a woman (cccd.sex_century).
    person("31300-0102", "Lưu Thị Hoa", "Chủ hộ", "Nữ", "05/05/1966", "092066418093"),
    person("31300-0102", "Lưu Văn Quang", "Con", "Nam", "17/09/1995", "092095302618"),
    # 0103 held: 097 is no province code (cccd.province).
    person("31300-0103", "Kiều Văn Phát", "Chủ hộ", "Nam", "1980", "097080441276"),
    person("31300-0103", "Kiều Thị Ngọc", "Vợ", "Nữ", "1983", "092183550914"),
    # 0104 and 0105 held: one CCCD on two people of two households (id.duplicate_in_batch).
    person("31300-0104", "Cao Văn Lợi", "Chủ hộ", "Nam", "1988", "092088127364"),
    person("31300-0105", "Cao Văn Lực", "Chủ hộ", "Nam", "1988", "092088127364"),
    person("31300-0105", "Cao Thị Duyên", "Vợ", "Nữ", "1990", "092190664205"),
    # 0106 held: digits 5-6 say 1961, he was born in 1958 (cccd.birth_year).
    person("31300-0106", "Lâm Văn Sơn", "Chủ hộ", "Nam", "10/10/1958", "092061903417"),
    # 0107 loads: the CCCD typed as a number lost its leading zero, and the digits prove it back.
    person("31300-0107", "Hà Văn Tài", "Chủ hộ", "Nam", "1977", 92077264815),
    # 0108 held: a CMND (warning) beside a CCCD whose digit 4 says a woman (cccd.sex_century).
    person("31300-0108", "Mạc Thị Thu", "Chủ hộ", "Nữ", "1962", "362719584"),
    person("31300-0108", "Mạc Văn Bình", "Con", "Nam", "1985", "092185733109"),
    # 0109 held: the clerk pasted the wife's CCCD into the name cell as well (format.full_name, the rule that
    # says an ID number may have been typed in the name column).
    person("31300-0109", "Tăng Văn Lễ", "Chủ hộ", "Nam", "1976", "092076815530"),
    person("31300-0109", "092179360481", "Vợ", "Nữ", "1979", "092179360481"),
]
# The district's next roster: 0102's CCCD corrected (it loads); in 0101 the mother has a CCCD instead of her
# CMND and the daughter has her first card (changes of ID numbers: the change history and `runs show
# --changes` quote them); 0107's income changed.
ID, INCOME = 6, 10                                      # positions in a person() row
NEXT = {"Lưu Thị Hoa": (ID, "092166418093"), "Trương Thị Mai": (ID, "092148902736"),
        "Đặng Thị Bé": (ID, "092310487265"), "Hà Văn Tài": (INCOME, 1_100_000)}
PD_ROWS_NEXT = [list(r) for r in PD_ROWS]
for _row in PD_ROWS_NEXT:
    if _row[1] in NEXT:
        _row[NEXT[_row[1]][0]] = NEXT[_row[1]][1]

# Cờ Đỏ (925), Xã Trung An (31222): every household held, so the run needs attention and alerts.
CD_ROWS = [
    # Phong Điền's Đặng Văn Hùng, listed here too under his CCCD (reconcile.id_other_district).
    person("31222-0201", "Đặng Văn Hùng", "Chủ hộ", "Nam", "14/02/1971", "092071583920", hamlet="Ấp Trung Thạnh"),
    person("31222-0201", "Phùng Thị Yến", "Vợ", "Nữ", "1975", "092175830462", hamlet="Ấp Trung Thạnh"),
    # A woman whose digit 4 says a man (cccd.sex_century), and a CMND (warning).
    person("31222-0202", "Tạ Thị Loan", "Chủ hộ", "Nữ", "1990", "092090256318", hamlet="Ấp Trung Thạnh"),
    person("31222-0202", "Tạ Văn Đức", "Chồng", "Nam", "1987", "371906258", hamlet="Ấp Trung Thạnh"),
]

PD = {"id": "pd", "kind": "spreadsheet", "path": "pd", "district_code": "926", "approval_threshold": 0.05}
CD = {"id": "cd", "kind": "spreadsheet", "path": "cd", "district_code": "925"}

# Columns of the run ledger that hold the ID number itself, as stored data: left out of the scan. Every other
# text, JSON and array column of LEDGER_TABLES is scanned, mis.reject.value included: the schema says ID values
# are stored there masked, and `rejects list` prints it.
EXCLUDED_COLUMNS = {
    ("held_row", "cells"): "every cell of a held-back row as the district wrote it: what the fix-up workbook, "
                           "which carries full IDs on purpose, is rebuilt from",
    ("reconcile_outcome", "member_key"): "a person's key in the registry, which is their ID number "
                                         "(mis.member.member_key); `runs show --changes` masks it",
    ("change_log", "member_key"): "the same key in the registry's change history; `history` masks it",
    ("change_log", "old_value"): "the registry's history of field values: for field id_number the value is the "
                                 "ID itself (`history` masks it). Scanned for every other field",
    ("change_log", "new_value"): "as old_value",
}
# Tables of the run ledger and what goes with it (not the registry itself: household, member, ...).
LEDGER_TABLES = ["sync_run", "reject", "reject_entry", "held_row", "reconcile_outcome", "change_log",
                 "province_report", "household_review", "source_household_scope", "source_bookmark",
                 "fixup_applied", "source_snapshot"]


def _ids(rows: list[list]) -> set[str]:
    """Every ID of the rosters as typed, and as the 12 digits a number cell stands for."""
    out = set()
    for r in rows:
        if r[ID] is None:
            continue
        text = str(r[ID])
        out.add(text)
        if isinstance(r[ID], int) and len(text) == 11:
            out.add("0" + text)
    return out


_DIGITS = re.compile(r"\d(?:[ .,\-\u00a0]?\d)*")      # a run of digits, maybe written with separators
BINARY = {".otf", ".ttf", ".woff", ".woff2", ".gif", ".png", ".ico", ".jpg"}   # GX's site: fonts, pictures
ALL_IDS = _ids(PD_ROWS + PD_ROWS_NEXT + CD_ROWS)


def _hide(text: str) -> str:
    """Text safe to print in a failure: every run of digits (separators allowed) holding a roster ID, replaced
    by the ID's length."""
    def hidden(m):
        digits = re.sub(r"\D", "", m.group())
        found = [s for s in ALL_IDS if s in digits]
        return f"<{max(map(len, found))}-digit ID>" if found else m.group()

    return _DIGITS.sub(hidden, text)


def find_leaks(outputs: dict[str, str]) -> list[str]:
    """Where a full ID appears: the ID as a substring, or a run of digits written with separators (spaces,
    dots, commas, dashes: '092 071 583 920', '92.077.264.815') that is one of the IDs."""
    leaks = []
    for label, text in outputs.items():
        spans = []
        for s in ALL_IDS:
            spans += [(m.start(), m.end(), len(s)) for m in re.finditer(re.escape(s), text)]
        for m in _DIGITS.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            if digits in ALL_IDS and not any(a <= m.start() and m.end() <= b for a, b, _ in spans):
                spans.append((m.start(), m.end(), len(digits)))
        kept = []
        for start, end, n in sorted(spans, key=lambda x: (x[0], -x[1])):     # "92077264815" in "092077264815"
            if not any(a <= start and end <= b for a, b, _ in kept):
                kept.append((start, end, n))
        spans = kept
        for start, end, n in spans[:5]:
            # Hidden over a wider window, then cut: an ID near the excerpt's edge is never shown in part.
            excerpt = (_hide(text[max(0, start - 240):start])[-80:] + f"<{n}-digit ID>"
                       + _hide(text[end:end + 240])[:80])
            leaks.append(f"{label}: …{excerpt!r}…")
        if len(spans) > 5:
            leaks.append(f"{label}: … and {len(spans) - 5} more")
    return leaks


# ------------------------------------------------------------------ alerts land here

class AlertInbox(Inbox):
    """The alerts' inbox (tests/support/inbox.py), read back as a person reads its e-mails and posts."""

    def texts(self) -> dict[str, str]:
        """Each mail as received and as read (subject decoded, every part's body decoded), each webhook body."""
        from email.header import decode_header, make_header

        out = {}
        for i, raw in enumerate(m["data"] for m in self.mails):
            msg = email.message_from_string(raw)
            parts = [str(make_header(decode_header(msg["Subject"] or "")))]
            for part in msg.walk():
                payload = part.get_payload(decode=True)
                if payload:
                    parts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
            out[f"alert e-mail #{i + 1}"] = raw + "\n" + "\n".join(parts)
        for i, body in enumerate(self.hooks):
            out[f"alert webhook #{i + 1}"] = body + "\n" + json.dumps(json.loads(body), ensure_ascii=False)
        return out


# ------------------------------------------------------------------ the test

def _ledger_texts(url: str) -> tuple[dict[str, str], list[str]]:
    """Every text, JSON and array column of the ledger tables, one output per column; and what was left out."""
    engine = sa.create_engine(url)
    out, excluded = {}, []
    with engine.connect() as conn:
        columns = conn.execute(sa.text("""
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'mis' AND table_name = ANY(:t)
              AND data_type IN ('text', 'jsonb', 'json', 'ARRAY', 'character varying')
            ORDER BY table_name, ordinal_position"""), {"t": LEDGER_TABLES}).all()
        for table, column in columns:
            if (table, column) in EXCLUDED_COLUMNS:
                excluded.append(f"mis.{table}.{column}")
                if table == "change_log" and column in ("old_value", "new_value"):
                    values = conn.execute(sa.text(f"SELECT {column}::text FROM mis.change_log "
                                                  "WHERE field <> 'id_number'")).scalars().all()
                    out[f"ledger mis.{table}.{column} (fields other than id_number)"] = "\n".join(
                        v for v in values if v is not None)
                continue
            values = conn.execute(sa.text(f'SELECT "{column}"::text FROM mis."{table}"')).scalars().all()
            out[f"ledger mis.{table}.{column}"] = "\n".join(v for v in values if v is not None)
        # Nothing of a run is left in staging once it ends (its work tables hold the roster as read).
        left = conn.execute(sa.text("SELECT count(*) FROM information_schema.tables "
                                    "WHERE table_schema = 'staging'")).scalar()
    engine.dispose()
    assert left == 0, f"{left} staging table(s) left after the runs"
    return out, excluded


class _Keep(logging.Handler):
    """Every record of a logger, as a message with its traceback."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage() + (("\n" + record.exc_text) if record.exc_text else ""))


def _workbook_text(path: Path) -> str:
    wb = load_workbook(path)
    return "\n".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
                     if v is not None)


def test_no_full_id_number_outside_the_fixup_workbook(tmp_path, mis_db, monkeypatch, caplog):  # noqa: F811
    write_roster(tmp_path / "pd" / "ds-2025.xlsx", rows=PD_ROWS)
    write_roster(tmp_path / "cd" / "ds-2025.xlsx", rows=CD_ROWS, sheet="Xã Trung An",
                 title="DANH SÁCH HỘ NGHÈO NĂM 2025")
    assert len(ALL_IDS) == 23 and {"361845027", "092077264815", "92077264815"} <= ALL_IDS
    outputs: dict[str, str] = {}
    # What went wrong other than a leak (a command that failed): reported with the leaks, so one failing
    # command does not hide what the others show.
    problems: list[str] = []

    def run(label: str, *args, ok=(0,)):
        res = misgw(*args, env_url=mis_db)
        outputs[f"`misgw {label}` stdout"] = res.stdout
        outputs[f"`misgw {label}` stderr (log)"] = res.stderr
        if res.returncode not in ok or "Traceback" in res.stderr:
            problems.append(f"`misgw {label}` exited {res.returncode}: {_hide(res.stderr.strip()[-600:])}")
        return res

    with AlertInbox() as inbox:
        cfg = write_config(tmp_path / "misgw.yaml", [PD, CD])
        config = yaml.safe_load(cfg.read_text(encoding="utf-8"))
        config["alerts"] = {"email": ["ops@example.vn"], "webhook": inbox.webhook}
        config["approval_min_households"] = 0
        cfg.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", inbox.smtp_connection())
        monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
        monkeypatch.setenv("MISGW_CONFIG", str(cfg))
        c = ["--config", str(cfg)]

        # ---- the syncs: text and JSON; cd holds everything back (attention, alerts)
        first = json.loads(run("sync --json", "sync", *c, "--json", ok=(1,)).stdout)
        status = {s["source_id"]: s for s in first}
        assert status["pd"]["status"] == "success" and status["pd"]["households_accepted"] == 2, status["pd"]
        assert status["cd"]["status"] == "attention" and status["cd"]["households_accepted"] == 0, status["cd"]
        assert inbox.hooks and inbox.mails, "the run needing attention sent no alert"
        again = run("sync --full", "sync", *c, "--full")
        assert "map/validate" in again.stderr and "Data Docs:" in again.stdout, _hide(again.stderr[-2000:])

        # The district's next roster changes an ID: the brake holds the run, then a person approves it.
        write_roster(tmp_path / "pd" / "ds-2025.xlsx", rows=PD_ROWS_NEXT)
        held = json.loads(run("sync --source pd --json (held)", "sync", *c, "--source", "pd", "--json",
                              ok=(1,)).stdout)
        assert held[0]["status"] == "held", held
        approved = json.loads(run("sync --source pd --approve --json", "sync", *c, "--source", "pd", "--approve",
                                  "--json").stdout)
        assert approved[0]["status"] == "success" and approved[0]["reconcile"]["changed"] >= 1, approved

        # ---- every read command (they only read, bar `province report` and the export: run a few at a time)
        runs = json.loads(run("runs list --json", "runs", "list", "--json", "--limit", "100", *c).stdout)
        assert len(runs) == 6, [(r["source_id"], r["status"]) for r in runs]
        exported = {sid: tmp_path / "export" / f"sua-loi-{sid}.xlsx" for sid in ("pd", "cd")}
        commands = [("runs list", "runs", "list", *c),
                    *[(f"runs show {r['run_id']} --changes{j}", "runs", "show", r["run_id"], "--changes", *js, *c)
                      for r in runs for j, js in (("", ()), (" --json", ("--json",)))],
                    ("rejects list", "rejects", "list", *c),
                    ("rejects list --status all", "rejects", "list", "--status", "all", *c),
                    ("rejects list --status all --json", "rejects", "list", "--status", "all", "--json", *c),
                    ("rejects aging", "rejects", "aging", *c),
                    ("rejects aging --json", "rejects", "aging", "--json", *c),
                    *[(f"rejects export --source {sid}", "rejects", "export", "--source", sid, "--out", str(path), *c)
                      for sid, path in exported.items()],
                    *[(f"history {code}{j}", "history", code, *js, *c)
                      for code in ("31300-0101", "31300-0102", "31300-0107")
                      for j, js in (("", ()), (" --json", ("--json",)))],
                    ("province report", "province", "report", *c),
                    ("province report --json", "province", "report", "--json", *c),
                    ("households review", "households", "review", *c),
                    ("households review --json", "households", "review", "--json", *c),
                    ("poverty movement", "poverty", "movement", "--year", "2025", "--by", "district"),
                    ("poverty movement --json", "poverty", "movement", "--year", "2025", "--by", "commune", "--json")]
        with ThreadPoolExecutor(max_workers=4) as pool:
            done = dict(zip([cmd[0] for cmd in commands], pool.map(lambda cmd: run(*cmd), commands)))
        rejects = json.loads(done["rejects list --status all --json"].stdout)
        # The change history quotes the daughter's first card, masked: the history's ID path ran.
        if mask_id("092310487265") not in done["history 31300-0101"].stdout:
            problems.append("`misgw history 31300-0101` does not show the new ID number masked: "
                            + _hide(done["history 31300-0101"].stdout[:600]))

        # ---- runs as the Airflow DAG makes them, in this process: their logs and the notes on the DAG runs
        from misgw import pipeline, province
        from misgw.airflow import page as web
        from misgw.reports import run_note
        from misgw.stages import approval

        # The pipeline's own log, whatever Airflow's import did to the logging set-up.
        kept = _Keep()
        logging.getLogger("misgw").addHandler(kept)
        monkeypatch.setattr(logging.getLogger("misgw"), "level", logging.DEBUG)
        caplog.set_level(logging.DEBUG)
        notes = {}
        for sid in ("pd", "cd"):
            dag = {"dag_id": f"misgw_{sid}", "run_id": f"manual__2025-12-10T00:00:00+00:00_{sid}"}
            rid = pipeline.start_run(str(cfg), sid, full=True, airflow=dag)
            for stage in (pipeline.extract, pipeline.map_validate, pipeline.reconcile):
                stage(rid)
            assert pipeline.approval_needed(rid) is None
            pipeline.load(rid)
            summary = pipeline.report(rid)
            outputs[f"Airflow-style run {sid}: report() summary"] = json.dumps(summary, ensure_ascii=False,
                                                                              default=str)
            notes[sid] = run_note(dag["dag_id"], dag["run_id"])
            outputs[f"run note of DAG run misgw_{sid}"] = notes[sid] or ""
        assert "`pd`" in (notes["pd"] or "") and "`cd`" in (notes["cd"] or ""), notes
        # The province DAG's summary (mis.province_report) and its run's note.
        try:
            province.report(str(cfg), trigger="airflow:manual__province")
        except AttributeError as exc:       # the CLI and the DAGs call it: its absence is a bug of its own
            problems.append(f"misgw.province.report: {exc}")
        else:
            notes["province"] = run_note("misgw_province_92", "manual__province")
            outputs["run note of the province DAG run"] = notes["province"] or ""
            assert "`pd` (926)" in (notes["province"] or ""), notes

        # ---- the operator page and its JSON, rendered without a server
        outputs["operator page (misgw.airflow.page.page)"] = web.page()
        outputs["operator page data (misgw.airflow.page.api_overview)"] = json.dumps(web.api_overview(), ensure_ascii=False)
        assert "Cổng MIS" in outputs["operator page (misgw.airflow.page.page)"]

        # What a person deciding an approval reads (the DAG's approval alert): the figures the brake kept.
        engine = sa.create_engine(mis_db)
        with engine.connect() as conn:
            approvals = conn.execute(sa.text("SELECT approval FROM mis.sync_run WHERE approval IS NOT NULL")
                                     ).scalars().all()
        engine.dispose()
        assert approvals, "no run waited for approval"
        outputs["approval alert text (misgw.stages.approval.text)"] = "\n".join(approval.text(a)
                                                                           for a in approvals)
        logging.getLogger("misgw").removeHandler(kept)
        outputs["in-process log (the misgw logger)"] = "\n".join(kept.lines)
        outputs["in-process log (caplog)"] = caplog.text
        assert "[pd] map/validate" in outputs["in-process log (the misgw logger)"], kept.lines

    # ---- the alerts that reached the inbox
    outputs.update(inbox.texts())

    # ---- Data Docs and everything else written under the output folder, but the fix-up workbooks
    out_dir = tmp_path / "out"
    docs = [p for p in (out_dir / "data-docs").rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" and p.parent.name == "runs" for p in docs), docs
    assert any("gx" in p.parts for p in docs), docs
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        if path.suffix == ".xlsx":
            assert "fixup" in path.parts, path
            continue
        if path.suffix in BINARY:
            continue
        outputs[f"file {path.relative_to(tmp_path)}"] = path.read_text(encoding="utf-8", errors="replace")

    # ---- the run ledger
    ledger, excluded = _ledger_texts(mis_db)
    outputs.update(ledger)
    assert sorted(excluded) == sorted(f"mis.{t}.{c}" for t, c in EXCLUDED_COLUMNS), excluded

    # The test sees the problems it means to: each ID rule fired, and its value is quoted masked.
    fired = {(r["household_code"], r["rule"]) for r in rejects}
    for expected in [("31300-0101", "id.legacy_cmnd"), ("31300-0102", "cccd.sex_century"),
                     ("31300-0103", "cccd.province"), ("31300-0104", "id.duplicate_in_batch"),
                     ("31300-0105", "id.duplicate_in_batch"), ("31300-0106", "cccd.birth_year"),
                     ("31300-0108", "cccd.sex_century"), ("31300-0108", "id.legacy_cmnd"),
                     ("31300-0109", "format.full_name"),
                     ("31222-0201", "reconcile.id_other_district"), ("31222-0202", "cccd.sex_century"),
                     ("31222-0202", "id.legacy_cmnd")]:
        assert expected in fired, (expected, sorted(fired))
    listed = outputs["`misgw rejects list --status all` stdout"]
    assert mask_id("097080441276") in listed and mask_id("362719584") in listed, _hide(listed)

    # Control: the district's own workbook does carry its people's full IDs, rejected ones included.
    workbook = _workbook_text(exported["pd"])
    for full_id in ("097080441276", "092061903417", "092088127364", "092185733109", "362719584", "092179360481"):
        assert full_id in workbook, f"the fix-up workbook lacks a rejected row's {len(full_id)}-digit ID"
    assert "092071583920" in _workbook_text(exported["cd"])
    run_workbooks = sorted((out_dir / "fixup").rglob("*.xlsx"))
    assert run_workbooks and any("097080441276" in _workbook_text(p) for p in run_workbooks)

    # The scan itself.
    assert len(outputs) > 60, sorted(outputs)
    leaks = find_leaks(outputs)
    assert not leaks and not problems, (
        f"{len(leaks)} full ID number(s) shown outside the fix-up workbook:\n" + "\n".join(leaks)
        + (f"\n{len(problems)} other problem(s):\n" + "\n".join(problems) if problems else ""))
