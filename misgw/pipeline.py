"""Running a sync: which sources, in what order, each in its own process when asked, each run's stages in
turn (misgw.stages), and a failure kept to the source it happened in."""
from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets

from common.errors import SourceBusy, UserError
from expectations import gx_process, gx_suite
from mis import db, runs, staging
from misgw.config import load_config
from misgw.stages.approval import approval_needed
from misgw.stages.extract import extract, nothing_new
from misgw.stages.load import load
from misgw.stages.map_validate import map_validate
from misgw.stages.outcome import close_unloaded, fail_run, summarise
from misgw.stages.reconcile import reconcile
from misgw.stages.report import report

log = logging.getLogger("misgw")

STAGES = (extract, map_validate, reconcile)   # then, once a person or the share allows it, load and report


def new_run_id() -> str:
    return f"{dt.datetime.now():%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def start_run(config_path: str | None, source_id: str, dry_run: bool = False,
              files: list[str] | None = None, full: bool = False, airflow: dict | None = None) -> str:
    """Record a new run of one source and return its id; later stages need only that id.

    files: read only these files of a spreadsheet source. full: ignore the source's bookmark and
    snapshot, and read (and compare) everything. airflow: the DAG run that runs it (dag_id, run_id).
    """
    config = load_config(config_path)
    source = config.source(source_id)
    run_id = new_run_id()
    if airflow:
        # A CLI run of this source holds its lease for its whole life: Airflow waits (retries) until it ends.
        with runs.lease(db.get_engine(), source.id):
            pass
    with db.get_engine().begin() as conn:
        runs.open_run(conn, run_id, source.id, config.province_code, source.district_code, dry_run,
                      {"config": str(config.path), "files": files or [], "full": full,
                       **({"airflow": airflow} if airflow else {})})
    return run_id


def run_source(config_path: str | None, source_id: str, dry_run: bool = False,
               files: list[str] | None = None, full: bool = False, approve: bool = False) -> dict:
    """All stages of one source in this process. A failure ends this source only, with one clear sentence.

    A run that would change more of its district than allowed stops before the load ("held") unless
    approve is given: the person running the CLI is the one who decides.
    """
    helper = _start_gx()   # GX's import, beside the read and the mapping that come first
    try:
        with runs.lease(db.get_engine(), source_id):
            _close_interrupted(source_id)
            return _run_stages(config_path, source_id, dry_run, files, full, approve)
    except SourceBusy as busy:
        run_id = start_run(config_path, source_id, dry_run, files, full)
        fail_run(run_id, str(busy))
        with db.get_engine().begin() as conn:
            return summarise(runs.get_run(conn, run_id))
    finally:
        if helper:
            gx_process.stop()


def _start_gx() -> bool:
    """gx_process.start() (unless this process's helper runs: the CLI starts it before importing this
    module). True when this call started it: its caller stops it."""
    return gx_process.start()


def _run_stages(config_path, source_id, dry_run, files, full, approve) -> dict:
    run_id = start_run(config_path, source_id, dry_run, files, full)
    try:
        for stage in STAGES:
            stage(run_id)
        figures = approval_needed(run_id)
        if figures and not approve:
            return close_unloaded(run_id, "held", (
                f"This run would change {figures['affected']} of {figures['registry_households']} households of the "
                f"district ({100 * figures['share']:.1f}%, more than {100 * figures['threshold']:.1f}%): nothing "
                f"loaded. Check `misgw runs show {run_id} --changes`, then run again with --approve to load it."))
        load(run_id)
        return report(run_id)
    except (UserError, db.DatabaseUnavailable) as exc:
        message = str(exc)
    except Exception as exc:  # an unexpected fault still fails only this source, and says where
        log.exception("[%s] unexpected error in run %s", source_id, run_id)
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        message = f"Unexpected error ({type(exc).__name__}): {first[:300]}"
    fail_run(run_id, message)
    with db.get_engine().begin() as conn:
        return summarise(runs.get_run(conn, run_id))


def _close_interrupted(source_id: str) -> None:
    """With the lease held, a CLI run of this source still marked running had its process killed: say so,
    and drop what it left in staging (its load, one transaction, rolled back with the process)."""
    with db.get_engine().begin() as conn:
        dead = runs.fail_interrupted(conn, source_id)
        for run_id in dead:
            staging.drop_run_tables(conn, run_id)
    if dead:
        log.warning("[%s] %d earlier run(s) had been interrupted and are now marked failed: %s",
                    source_id, len(dead), ", ".join(dead))


def run_sync(config_path: str | None = None, source_ids: list[str] | None = None,
             dry_run: bool = False, full: bool = False, approve: bool = False, workers: int = 1) -> list[dict]:
    """Every source (or those asked for), each in one run; workers > 1 runs that many sources at a time,
    each in its own process (sources are independent: each has its own lease and load transaction)."""
    if workers <= 1 or (source_ids and len(source_ids) == 1):
        # The sources run here: GX's import starts now, beside everything before the first judging, and its
        # process serves them all.
        helper = _start_gx()
        try:
            return _run_sync(config_path, source_ids, dry_run, full, approve, workers)
        finally:
            if helper:
                gx_process.stop()
    return _run_sync(config_path, source_ids, dry_run, full, approve, workers)


def _run_sync(config_path, source_ids, dry_run, full, approve, workers) -> list[dict]:
    config = load_config(config_path)
    db.require_current_schema(db.get_engine())
    wanted = source_ids or [s.id for s in config.sources]
    for sid in wanted:
        config.source(sid)  # unknown ids fail before anything runs
    work = functools.partial(run_source, str(config.path), dry_run=dry_run, full=full, approve=approve)
    if workers <= 1 or len(wanted) <= 1:
        return [work(sid) for sid in wanted]
    databases = {s.id for s in config.sources if s.kind != "spreadsheet"}
    order = _longest_first(wanted, databases)
    # Sources whose files are as the last run read them will judge nothing: they start last, and need no GX.
    quiet = set() if full else {sid for sid in order if sid not in databases and nothing_new(config, config.source(sid))}
    order = [sid for sid in order if sid not in quiet] + [sid for sid in order if sid in quiet]
    results = dict(zip(order, _in_processes(work, order, workers, lambda sid, started, how: _died(
        str(config.path), sid, dry_run, started, how), quiet=quiet)))
    return [results[sid] for sid in wanted]


def _longest_first(source_ids: list[str], databases: set[str] | None = None) -> list[str]:
    """The sources in the order to start them: databases and web services first (databases: their ids),
    then those whose last run took longest, so that a long source does not run alone at the end while
    the other workers idle. A database is read on every run, while a workbook that did not change costs
    nothing: on a night with little new, the database is the long one whatever its last run took (at L
    it ran alone for 4 of a no-change night's 9 s, started last). Sources never run keep their order
    within their group, after those that have run."""
    with db.get_engine().connect() as conn:
        took = runs.last_durations(conn, source_ids)
    return sorted(source_ids, key=lambda sid: (sid not in (databases or set()), -took.get(sid, 0.0)))


def _in_processes(work, source_ids: list[str], workers: int, died, quiet: set[str] | None = None) -> list[dict]:
    """work(source_id) for each source in a process of its own, `workers` at a time; results in order.
    died(source_id, started, how): the summary of a source whose process ended without one. quiet: sources
    that will judge nothing (misgw.stages.extract.nothing_new), last in source_ids.

    fork: the child keeps this process's logging and GX, imported here first (gx_suite.warm_up) when
    there are more sources than workers, so that its import is paid once per sync, not once per source;
    it drops its pooled connections first. When only the first source will judge anything (a night with
    nothing new but a database, which is read in full every time), nobody waits for that import: the
    first starts at once and runs GX in a process of its own, as a sync of one source does
    (expectations.gx_process), and the quiet ones import GX only if they ever need it (it was 2-4 s at the
    start of a no-change night at L). A new process for each source, not a pool: one that ran a
    province-sized source keeps much of that peak (Python hands memory back only in whole arenas), and the
    next source would start from there (the trade, memory against time, is measured in
    docs/benchmarks.md). A child that dies without an answer fails its source, not the sync.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    fork = multiprocessing.get_context("fork")
    results: dict[str, dict] = {}
    pending, running = list(source_ids), {}
    quiet = quiet or set()

    def start(sid):
        with db.get_engine().connect() as conn:
            started = db.clock(conn)   # the database's clock, as the runs'
        receiver, sender = fork.Pipe(duplex=False)
        process = fork.Process(target=child, args=(sid, sender), name=f"misgw-{sid}")
        process.start()
        sender.close()
        running[process.sentinel] = (sid, process, receiver, started)

    def child(sid, sender):
        db.forget_engines()
        if sid in quiet:
            gx_process.here()
        try:
            sender.send(work(sid))
        finally:
            sender.close()

    if len(source_ids) > workers:
        alone = all(sid in quiet for sid in source_ids[1:])
        if alone:
            start(pending.pop(0))
        _warm_up(gx=not alone)

    while pending or running:
        while pending and len(running) < workers:
            start(pending.pop(0))
        for sentinel in wait(list(running)):
            sid, process, receiver, started = running.pop(sentinel)
            try:
                results[sid] = receiver.recv() if receiver.poll() else None
            except (EOFError, OSError):
                results[sid] = None
            receiver.close()
            process.join()
            if results[sid] is None:
                code = process.exitcode
                results[sid] = died(sid, started, f"signal {-code}" if code and code < 0 else f"exit code {code}")
    return [results[sid] for sid in source_ids]


def _warm_up(gx: bool = True) -> None:
    """What the source processes forked after it inherit: GX (gx_suite.warm_up) unless gx is False, and the
    report's workbook writer."""
    import gc

    import misgw.fixup_workbook  # noqa: F401

    if gx:
        gx_suite.warm_up()
    # What the children inherit is never garbage: frozen, their collections (one after each stage) do not
    # walk GX's million objects again in every process, nor copy the pages they sit on.
    gc.collect()
    gc.freeze()


def _died(config_path: str, source_id: str, dry_run: bool, started, how: str) -> dict:
    """The summary of a source whose process ended without one (killed, out of memory): its run, if it
    had begun one, is failed with the reason; its load, if it had begun, was rolled back by PostgreSQL."""
    message = f"The process running source '{source_id}' ended before it finished ({how}): nothing of it was loaded."
    with db.get_engine().begin() as conn:
        run_id = runs.unfinished_since(conn, source_id, started)
    run_id = run_id or start_run(config_path, source_id, dry_run)
    fail_run(run_id, message)
    with db.get_engine().begin() as conn:
        return summarise(runs.get_run(conn, run_id))
