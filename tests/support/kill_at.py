"""Runs the misgw CLI and kills itself with SIGKILL at a chosen point of the load (tests only).

    MISGW_KILL_AT=K python tests/support/kill_at.py sync --config misgw.yaml

Counting starts when the load takes its source's transaction lock: the process kills itself just
before the K-th SQL statement after it, or just before the COMMIT when K is past the last one.
MISGW_KILL_AT=0 kills nothing and writes the number of statements to MISGW_KILL_COUNT_FILE.
MISGW_KILL_SOURCE=ID counts only the load of that source (with --workers, each source's process counts).
"""
from __future__ import annotations

import os
import signal
import sys

from sqlalchemy import event
from sqlalchemy.engine import Engine

KILL_AT = int(os.environ.get("MISGW_KILL_AT", "0"))
KILL_SOURCE = os.environ.get("MISGW_KILL_SOURCE")
seen = {"n": None}


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


@event.listens_for(Engine, "before_cursor_execute")
def _statement(conn, cursor, statement, parameters, context, executemany):
    if seen["n"] is None:
        if "pg_advisory_xact_lock(hashtext('misgw.source')" in statement and \
                (not KILL_SOURCE or (parameters or {}).get("s") == KILL_SOURCE):
            seen["n"] = 0
            conn.info["kill_at_load"] = True
        return
    if conn.info.get("kill_at_load"):
        seen["n"] += 1
        if KILL_AT and seen["n"] >= KILL_AT:
            _die()


@event.listens_for(Engine, "commit")
def _commit(conn):
    if conn.info.pop("kill_at_load", False):
        if KILL_AT:
            _die()
        with open(os.environ["MISGW_KILL_COUNT_FILE"], "w") as fh:
            fh.write(str(seen["n"]))


if __name__ == "__main__":
    from misgw.cli import main

    sys.argv = ["misgw", *sys.argv[1:]]
    sys.exit(main())
