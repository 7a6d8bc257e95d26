"""GX in a process of its own, started when a run begins, so that its import overlaps the read and the mapping."""
from __future__ import annotations

import logging
import os
import sys
from typing import Any

log = logging.getLogger(__name__)

PAGES_TIMEOUT = 600
# The helper of this process: (pid that started it, process, connection, jobs sent). One per process at a time.
_helper: tuple[int, Any, Any, list] | None = None
# A process that imports GX itself if it needs it (here): the pid. Then no helper starts.
_here: int | None = None


def here() -> None:
    """GX, if this process needs it at all, is imported here on first use, without a helper: for a source
    process that will likely judge nothing (its files are as the last run read them, misgw.pipeline)."""
    global _here
    _here = os.getpid()


def start() -> bool:
    """Start importing GX beside this process, unless this process has GX already (a source process forked
    from a sync that imported it) or a helper runs. Its import (1.5-2 s) then runs on the other core
    while this process reads and maps the roster; the suite runs there (expectations.validate._gx_failures).
    Where no helper can start (a daemonic process may not have children), GX runs here as before.
    True when this call started one: its caller stops it (stop) when its sources are done."""
    global _helper
    if "great_expectations" in sys.modules or (_helper and _helper[0] == os.getpid()) or _here == os.getpid():
        return False
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    try:
        ours, theirs = fork.Pipe()
        process = fork.Process(target=_serve, args=(theirs, ours), name="misgw-gx", daemon=True)
        process.start()
    except (AssertionError, OSError) as exc:
        log.debug("GX helper not started (%s): GX runs in this process", exc)
        return False
    theirs.close()
    _helper = (os.getpid(), process, ours, [])
    return True


def ours() -> bool:
    """A helper this process started is running."""
    return bool(_helper and _helper[0] == os.getpid())


def stop() -> None:
    """End this process's helper (the run is over); a helper inherited from a parent is not ours to end."""
    global _helper
    if _helper and _helper[0] == os.getpid():
        _, process, conn, jobs = _helper
        if not jobs:           # nothing judged (a run that failed before, a sync with nothing to read)
            process.kill()
        try:
            conn.send(None)
        except OSError:
            pass
        conn.close()
        process.join(PAGES_TIMEOUT)   # the Data Docs pages of the last job, rendered after its answer
        if process.is_alive():
            log.warning("The GX process did not finish the run's Data Docs in %d s: stopped.", PAGES_TIMEOUT)
            process.kill()
    _helper = None


def submit(frame, docs):
    """Send the suite's frame to this process's helper; a function that returns (done, failures), done
    False when there is no helper, or it died (the caller then runs the suite itself: nothing is lost)."""
    global _helper
    if not _helper or _helper[0] != os.getpid():
        return lambda: (False, None)
    import threading

    _, process, conn, jobs = _helper
    jobs.append(docs)
    sent: list = []

    def send():
        try:
            conn.send((frame, docs))
        except OSError as exc:
            sent.append(exc)
    # A pipe holds 64 KB: the send waits until the helper, still importing GX, reads it. From a thread, the
    # rules run here meanwhile.
    sending = threading.Thread(target=send, name="misgw-gx-send", daemon=True)
    sending.start()

    def answer():
        sending.join()
        if sent:
            return _gone(process, sent[0])()
        try:
            kind, value = conn.recv()
        except (EOFError, OSError) as exc:
            return _gone(process, exc)()
        if kind == "error":
            raise RuntimeError(f"Great Expectations failed: {value}")
        return True, value
    return answer


def _gone(process, exc):
    global _helper
    log.warning("The GX process ended without an answer (%s, exit code %s): the suite runs here instead.",
                exc, getattr(process, "exitcode", None))
    _helper = None
    return lambda: (False, None)


def _serve(conn, parents_end) -> None:
    """The helper: import GX, then run the suite on each frame sent until told to stop."""
    import gc

    from common.collector import collect_rarely

    # GX's import makes hundreds of thousands of objects that live as long as this process (import and
    # warm-up 1.85 -> 1.68 s at these thresholds, medians of 10 alternated runs); frozen once imported,
    # later collections skip them.
    collect_rarely()
    parents_end.close()
    from mis import db

    db.forget_engines()    # the parent's pooled connections are not this process's to close
    from expectations import gx_suite

    gx_suite.warm_up()
    gc.freeze()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            break
        if job is None:
            break
        try:
            frame, docs = job
            found, render = gx_suite.run(frame, docs, answer_first=True)
        except Exception as exc:  # the parent says it, with the source's run
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            continue
        conn.send(("ok", found))
        try:
            render()   # the pages, while the run goes on; stop() waits for them
        except Exception:  # the answer is sent: a page that failed is said here, and the run goes on
            log.exception("The Data Docs pages of %s were not written", job[1][1] if job[1] else "a run")
    conn.close()
    os._exit(0)   # no finalizers: nothing inherited is this process's to clean up
