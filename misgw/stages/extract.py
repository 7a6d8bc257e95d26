"""Extract stage: read what is new at a source, as it is, into the run's raw table (file, sheet, row, key, cells)."""
from __future__ import annotations

import hashlib
import json
import logging

from common.errors import UserError
from connectors import base
from mis import db, runs, snapshot, staging
from misgw.config import Config, Source
from misgw.stages.run_context import context, timed

log = logging.getLogger("misgw")

# One encoder for every row: json.dumps with an option builds a new one per call (a fifth of the JSON's time).
_as_json = json.JSONEncoder(ensure_ascii=False).encode

RAW_COLUMNS = {"file": "text", "sheet": "text", "row": "integer", "key": "text", "household": "text",
               "hash": "text", "context": "text", "cells": "text"}


@timed
def extract(run_id: str) -> dict:
    """Read what is new at the source, as it is, into the run's raw table (file, sheet, row, key, cells).

    The connector plans the read from the bookmark of the last run that loaded: nothing at all when
    nothing changed, or the rows after a watermark. A full read of a source with record keys is then
    compared with its snapshot, and only the households with a new, changed or gone record go on.
    """
    ctx = context(run_id, "extract")
    config, source, options = ctx.config, ctx.source, ctx.options
    connector = source.connector()
    engine = db.get_engine()
    with engine.connect() as conn:
        saved = runs.get_bookmark(conn, source.id) or {}
    reading = _reading_fingerprint(config, source)
    full = bool(options.get("full")) or saved.get("reading") != reading
    plan = connector.plan(saved.get("connector"), full=full, only=options.get("files") or None)
    narrowed = {}
    with engine.begin() as conn:
        table = staging.create_table(conn, run_id, "raw", RAW_COLUMNS)
        n = 0 if plan.unchanged else staging.copy_rows(conn, table, list(RAW_COLUMNS),
                                                       _raw_rows(connector.read(plan), plan))
        if plan.keys and not plan.unchanged:
            narrowed = snapshot.narrow(conn, run_id, source.id, compare=not full and not plan.partial)
        partial = plan.unchanged or plan.partial or bool(narrowed.get("narrowed"))
        bookmark = None if options.get("files") else {"connector": plan.bookmark, "reading": reading}
        # Records without keys (a workbook's rows) are compared with the snapshot once mapped (map_validate).
        compare = not full and not plan.partial and not options.get("files")
        runs.update_run(conn, run_id, options={**options, "partial": partial, "unchanged": plan.unchanged,
                                               "read": plan.describe, "keyed": bool(plan.keys),
                                               "compare": compare, "bookmark": bookmark, "narrowed": narrowed})
    if plan.unchanged:
        log.info("[%s] extract: nothing changed at the source since the last load (%s)", source.id, plan.describe)
    else:
        log.info("[%s] extract: %s, %d rows read%s", source.id, plan.describe, n,
                 f"; {narrowed['households_changed']} households changed since the last load, "
                 f"{narrowed['rows_kept']} rows go on" if narrowed.get("narrowed") else "")
    return {"run_id": run_id, "table": table, "rows": n, "unchanged": plan.unchanged, "partial": partial}


def nothing_new(config: Config, source: Source) -> bool:
    """Whether a run of the source now would read nothing: its connector plans no read (a workbook folder as
    the last run that loaded read it) and nothing that decides how records are read has changed. What
    extract asks first, asked before the run, so that the sync knows which sources will judge nothing."""
    with db.get_engine().connect() as conn:
        saved = runs.get_bookmark(conn, source.id) or {}
    if saved.get("reading") != _reading_fingerprint(config, source):
        return False
    try:
        return source.connector().plan(saved.get("connector")).unchanged
    except (UserError, OSError):
        return False      # the source's own run says what is wrong, and fails alone


def _raw_rows(sheets, plan):
    """(file, sheet, row, key, household, hash, context, cells) for COPY; key and household from the header row.

    A record with a key: hash is the SHA-1 of its cells. A row without one (a workbook's): hash is the MD5
    of its cells (a held row's origin digest, misgw.stages.fixup_return), context that of its sheet's name,
    the row before it and itself (its place, mis.snapshot.narrow_rows).
    """
    md5, sha1 = hashlib.md5, hashlib.sha1
    for sheet in sheets:
        key_at = household_at = None
        before = ""
        file_name, name = sheet.file_name, sheet.sheet
        for number, cells in sheet.rows:
            text = _as_json(cells)
            if plan.keys and number == 1:
                key_at, household_at = _header_positions(sheet, cells, plan)
                yield file_name, name, number, None, None, None, None, text
                continue
            if key_at is None:
                digest = md5(text.encode()).hexdigest()
                context = md5(f"{name}\x1f{before}\x1f{digest}".encode()).hexdigest()
                before = digest
                yield file_name, name, number, None, None, digest, context, text
                continue
            key = "|".join("" if cells[i] is None else str(cells[i]) for i in key_at)
            household = cells[household_at] if household_at is not None else None
            yield (file_name, name, number, key, None if household is None else str(household),
                   sha1(text.encode()).hexdigest(), None, text)


def _header_positions(sheet, header: list, plan) -> tuple[list[int], int | None]:
    names = [str(h) if h is not None else "" for h in header]
    missing = [k for k in plan.keys + ([plan.household] if plan.household else []) if k not in names]
    if missing:
        raise base.SourceError(f"{sheet.file_name} / {sheet.sheet}: no column {', '.join(missing)} "
                                     f"(columns: {', '.join(names)}).")
    return [names.index(k) for k in plan.keys], names.index(plan.household) if plan.household else None


def _reading_fingerprint(config: Config, source: Source) -> str:
    """What decides how a record is read and judged: when any of it changes, the next run reads everything."""
    from importlib import resources

    data = [hashlib.sha256(resources.files(pkg).joinpath(name).read_bytes()).hexdigest()
            for pkg, names in (("mappings", ("vocabulary.yaml", "codelists.yaml", "ethnicity.yaml", "common_syllables.yaml")),
                               ("expectations", ("rules.yaml", "roster_basic.json", "poverty_standards.yaml")))
            for name in names]
    mapping = hashlib.sha256(source.mapping_path.read_bytes()).hexdigest() if source.mapping_path else "auto"
    return base.fingerprint(data, mapping, source.kind, source.options, source.district_code, source.unit_era,
                            config.rules, config.province_code, config.province_code_current,
                            source.assessment_year, source.ethnicity_edition, config.relation_ba)
