"""What people read of a run in text: the summary table, its notices, row accounts, changes, mapping report,
and the note on an Airflow DAG run."""
from __future__ import annotations

from pathlib import Path

from mis import province_reports, runs


def summary_table(summaries: list[dict], with_run: bool = False) -> str:
    """The plain-text table the CLI and the demo print, then what needs a person, source by source."""
    head = (["run"] if with_run else []) + ["source", "status", "rows", "hh accepted", "members", "rows rejected",
                                            "rows held", "hh rejected", "new", "changed", "unchanged", "moved",
                                            "missing", "conflict"]
    lines = [head]
    for s in summaries:
        rc = s.get("reconcile") or {}
        lines.append(([s["run_id"]] if with_run else []) + [s["source_id"], s["status"] + (" (dry run)" if s.get("dry_run") else "")
                      + (" (no change at source)" if s.get("unchanged_at_source") else ""),
                      s["rows_read"], s["households_accepted"], s["members_accepted"], s["rows_rejected"],
                      s.get("rows_held", 0), s["households_rejected"], rc.get("new", 0), rc.get("changed", 0),
                      rc.get("unchanged", 0), rc.get("moved", 0), rc.get("missing", 0), rc.get("conflict", 0)])
    widths = [max(len(str(r[i])) for r in lines) for i in range(len(head))]
    out = ["  ".join(str(v).rjust(w) if isinstance(v, int) else str(v).ljust(w) for v, w in zip(r, widths))
           for r in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    for s in summaries:
        if s.get("error"):
            out.append(f"! {s['source_id']}: {s['error']}")
        if s.get("attention"):
            out.append(f"! {s['source_id']}: {s['attention']}")
        out.extend(f"  {s['source_id']}: {line}" for line in notice_lines(s))
        for path in (s.get("fixup_workbooks") or {}).values():
            if not s.get("error"):
                out.append(f"  {s['source_id']}: fix-up workbook {path}")
    # Each run has its page (runs/<source>-<run>.html); the index lists them all.
    docs = sorted({str(Path(s["data_docs"]).parent.parent / "index.html") if Path(s["data_docs"]).parent.name == "runs"
                   else s["data_docs"] for s in summaries if s.get("data_docs") and not s.get("error")})
    out.extend(f"  Data Docs: {d}" for d in docs)
    return "\n".join(out)


def notice_lines(s: dict) -> list[str]:
    """What a run could not store, check or read the usual way, each with its count: nothing in silence."""
    out = list(s.get("fixup_notes") or [])
    if s.get("not_narrowed"):
        out.append(f"every row mapped again, not only those changed since the last load: {s['not_narrowed']}")
    for c in s.get("not_stored") or []:
        out.append(f"column {c['column']} «{c['header']}» ({c['file']} / {c['sheet']}) is recognised as {c['field']}, "
                   f"which the MIS does not keep: {c['rows']} row(s) with a value not stored")
    for c in s.get("unfit_columns") or []:
        out.append(f"column {c['column']} «{c['header']}» ({c['file']} / {c['sheet']}) not read as {c['field']}: {c['why']}")
    for c in s.get("checks_not_run") or []:
        out.append(f"not checked: {c['check']} for {c['households']} household(s): {c['why']}")
    expanded = s.get("matched_by_expansion") or []
    if expanded:
        shown = ", ".join(f"«{c['header']}» -> {c['field']} ({c['how']})" for c in expanded[:8])
        out.append(f"headers matched by abbreviation or spelling: {shown}" + (" ..." if len(expanded) > 8 else ""))
    scope = s.get("household_scope")
    if scope and (scope.get("households") or scope.get("households_rekeyed")):   # local codes were qualified
        out.append(f"household codes are read as unique within each {scope['scope']}"
                   + (" (kept for the source)" if scope.get("decided") else " (not kept: a dry or partial run)")
                   + (f"; {scope['households_rekeyed']} household(s) re-keyed" if scope.get("households_rekeyed") else "")
                   + (f"; {scope['households_to_review']} to review: `misgw households review`"
                      if scope.get("households_to_review") else ""))
    return out


def accounts_text(accounts: list[dict]) -> str:
    """Per file and sheet: what happened to every row read."""
    if not accounts:
        return "rows: nothing read"
    out = ["rows: read = loaded + unchanged + rejected + held + superseded + skipped"]
    for a in accounts:
        out.append(f"  {a['file']} / {a['sheet']}: {a['read']} = {a['loaded']} + {a['unchanged']} + {a['rejected']} + "
                   f"{a['held']} + {a['superseded']} + {a['skipped']}"
                   + (f" ({a['stopped']} held because the file stopped)" if a.get("stopped") else ""))
    return "\n".join(out)


def changes_text(changes: list[dict]) -> str:
    """One line per household or person a run found new, changed, moved, missing or in conflict."""
    if not changes:
        return "Every household and person unchanged."
    out = []
    for entity in ("household", "member"):
        rows = [c for c in changes if c["entity"] == entity]
        if not rows:
            continue
        out.append("households:" if entity == "household" else "people:")
        for c in rows:
            who = c["household_code"] + (f"  {c['full_name']}" if entity == "member" else "")
            what = ", ".join(c["changed_fields"] or [])
            if c["registry_household_code"] and c["registry_household_code"] != c["household_code"]:
                what = (what + "; " if what else "") + f"MIS household {c['registry_household_code']}"
            if c["outcome"] == "conflict":
                what = (what + "; " if what else "") + (c["reason"] or "")
            where = f"  ({c['source_file']} / {c['source_sheet']} / dòng {c['source_row']})" if c["source_row"] else ""
            out.append(f"  {c['outcome']:9} {who}" + (f"  [{what}]" if what else "") + where)
    return "\n".join(out)


def mapping_report_text(report: list[dict]) -> str:
    """Per sheet: the header row, each column's field and how it was mapped, what was ignored or skipped."""
    out = []
    for sheet in report:
        out.append(f"{sheet['file']} / {sheet['sheet']}:")
        if not sheet["roster"]:
            out.append(f"  not read as a roster: {sheet['reason']}")
            continue
        out.append(f"  header row {sheet['header_row']}")
        if sheet.get("assessment_year"):
            out.append(f"  assessment year {sheet['assessment_year']}")
        for c in sheet["columns"]:
            out.append(f"    {c['column']:>3}  {c['header']!r:42} -> {c['field']} ({c['how']})")
        for c in sheet.get("not_stored") or []:
            out.append(f"  recognised, not kept by the MIS: {c['column']} {c['header']!r} ({c['field']}, {c['rows']} rows)")
        for c in sheet.get("unfit") or []:
            out.append(f"  not read as {c['field']}: {c['column']} {c['header']!r}: {c['why']}")
        if sheet["ignored_columns"]:
            out.append("  ignored columns: " + ", ".join(repr(c) for c in sheet["ignored_columns"]))
        for reason, rows in sheet["skipped_rows"].items():
            shown = ", ".join(map(str, rows[:15])) + (" ..." if len(rows) > 15 else "")
            out.append(f"  skipped rows ({reason}): {shown}")
    return "\n".join(out)


def run_note(dag_id: str, dag_run_id: str) -> str | None:
    """The Markdown note of an Airflow DAG run: its sync run's summary, or the province report it wrote."""
    from mis import db

    with db.get_engine().connect() as conn:
        run = runs.of_dag_run(conn, dag_id, dag_run_id)
        if run is None:
            body = province_reports.latest(conn, f"airflow:{dag_run_id}")
            if body is None:
                return None
            conflicts = len(body.get("cross_district_conflicts") or [])
            lines = [f"**MIS Gateway – tỉnh/province {body['province_code']}**, {len(body['sources'])} sources; "
                     f"{conflicts} cross-district conflict(s)."]
            for s in body["sources"]:
                last = s.get("last_run") or {}
                lines.append(f"- `{s['source_id']}` ({s['district_code'] or '-'}): {last.get('status', 'never run')}, "
                             f"{sum(s['open_rejects'].values())} open reject(s)")
            return "\n".join(lines)
    from misgw.stages.outcome import summarise

    s = summarise(dict(run))
    rc = ", ".join(f"{v} {k}" for k, v in (s["reconcile"] or {}).items() if v) or "nothing to reconcile"
    lines = [f"**MIS Gateway – `{s['source_id']}`**, sync run `{s['run_id']}`: **{s['status']}**"
             + (" (dry run)" if s["dry_run"] else "") + (" (no change at source)" if s["unchanged_at_source"] else ""),
             f"- {s['rows_read']} rows read, {s['households_accepted']} households ({s['members_accepted']} people) "
             f"accepted, {s['rows_rejected']} rows rejected, {s['rows_held']} rows held "
             f"({s['households_rejected']} households)",
             f"- households: {rc}"]
    from misgw.reasons import vietnamese

    narrowed = (run["options"] or {}).get("narrowed") or {}
    if (run["options"] or {}).get("partial") and narrowed:
        lines.append(f"- chỉ xét các hộ thay đổi / only changed households judged: {narrowed.get('households_changed', 0)} "
                     f"changed, {narrowed.get('households_unchanged', 0)} unchanged not judged again")
    answer = (run["approval"] or {}).get("answer") if run["approval"] else None
    if answer:
        chosen = ", ".join(answer.get("chosen") or []) or "—"
        lines.append(f"- phê duyệt / approval: **{chosen}** bởi/by {answer.get('by')} lúc/at {answer.get('at')}"
                     if answer.get("by") else f"- phê duyệt / approval: không ai trả lời trong thời hạn / no answer "
                                              f"in time: **{chosen or 'Reject'}**")
    if s.get("attention"):
        lines.append(f"- **cần xem lại**: {vietnamese(s['attention'])}")
        if vietnamese(s["attention"]) != s["attention"]:
            lines.append(f"- needs attention: {s['attention']}")
    lines.extend(f"- {line}" for line in notice_lines(s))
    for district, path in (s["fixup_workbooks"] or {}).items():
        lines.append(f"- fix-up workbook ({district}): `{path}`")
    if s["error"]:
        lines.append(f"- **lý do**: {vietnamese(s['error'])}")
        if vietnamese(s["error"]) != s["error"]:
            lines.append(f"- reason: {s['error']}")
    return "\n".join(lines)
