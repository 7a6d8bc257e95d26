"""`misgw admin-units import`: reads the official GSO unit tables and loads them into the MIS."""
from __future__ import annotations

from os import PathLike

from sqlalchemy.engine import Engine

from mappings.admin_units import read_crosswalk, read_pre2025
from mis.units import replace_units


def import_admin_units(engine: Engine, pre2025_path: str | PathLike, crosswalk_path: str | PathLike) -> dict[str, int]:
    """Load the pre-2025 list and the 2025 crosswalk into the unit tables; return the rows per table.

    Both files are parsed before the database is touched, so a bad file changes nothing. Problems
    with the files or with units still in use raise common.errors.UserError.
    """
    pre2025 = read_pre2025(pre2025_path)
    current = read_crosswalk(crosswalk_path)
    return replace_units(engine, pre2025, current)
