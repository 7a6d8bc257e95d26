"""Year-over-year poverty movement from the assessments in the registry: escaped, newly poor, fell back."""
from __future__ import annotations

import sqlalchemy as sa

LEVELS = {"commune": "h.commune_code", "district": "h.district_code_pre2025", "province": "h.province_code"}


def movement(conn, year: int, level: str = "province", district_code: str | None = None,
             source_id: str | None = None) -> list[dict]:
    """Per unit of `level`, for assessment `year` against `year - 1`.

    escaped: poor the year before, assessed and not poor this year; newly_poor: poor this year, not
    the year before, and never poor earlier; fell_back (tái nghèo): poor this year, not the year
    before, but poor in an earlier year. Rates are shares of the households assessed this year (in the
    registry), not of every household living in the unit. A unit with no household assessed the year
    before has no movement to show: escaped, newly_poor and fell_back are None there (not "all new"),
    with movement_note saying why.
    """
    unit = LEVELS[level]
    # Each year joined by the assessment's key, never through a shared CTE: on a district whose households
    # the statistics do not count yet, the planner takes a nested loop, and over a CTE (no index) that
    # compared every pair of households (minutes at L); by the key it is one index lookup a household.
    rows = conn.execute(sa.text(f"""
        SELECT {unit} AS unit,
               count(cur.poverty_category) AS assessed,
               count(*) FILTER (WHERE cur.poverty_category = 'poor') AS poor,
               count(*) FILTER (WHERE cur.poverty_category = 'near_poor') AS near_poor,
               count(prev.poverty_category) AS assessed_before,
               count(*) FILTER (WHERE prev.poverty_category = 'poor' AND cur.poverty_category <> 'poor') AS escaped,
               count(*) FILTER (WHERE cur.poverty_category = 'poor' AND coalesce(prev.poverty_category, '') <> 'poor'
                                AND NOT ever.poor) AS newly_poor,
               count(*) FILTER (WHERE cur.poverty_category = 'poor' AND coalesce(prev.poverty_category, '') <> 'poor'
                                AND ever.poor) AS fell_back
        FROM mis.household h
        LEFT JOIN mis.poverty_assessment cur ON cur.household_id = h.household_id AND cur.assessment_year = :year
        LEFT JOIN mis.poverty_assessment prev ON prev.household_id = h.household_id
                                              AND prev.assessment_year = :year - 1
        CROSS JOIN LATERAL (SELECT EXISTS (
            SELECT 1 FROM mis.poverty_assessment e WHERE e.household_id = h.household_id
            AND e.assessment_year < :year - 1 AND e.poverty_category = 'poor') AS poor) ever
        WHERE (cur.poverty_category IS NOT NULL OR prev.poverty_category IS NOT NULL)
          AND (CAST(:district AS text) IS NULL OR h.district_code_pre2025 = :district)
          AND (CAST(:source AS text) IS NULL OR h.source_id = :source)
        GROUP BY 1 ORDER BY 1"""), {"year": year, "district": district_code, "source": source_id}).mappings().all()
    out = []
    for r in rows:
        r = dict(r)
        r["year"] = year
        r["poor_rate"] = round(100.0 * r["poor"] / r["assessed"], 2) if r["assessed"] else None
        r["near_poor_rate"] = round(100.0 * r["near_poor"] / r["assessed"], 2) if r["assessed"] else None
        r["movement_note"] = None
        if not r["assessed_before"]:
            r.update(escaped=None, newly_poor=None, fell_back=None,
                     movement_note=f"no {year - 1} assessment in the registry: movement cannot be computed")
        out.append(r)
    return out


def latest_year(conn, province_code: str | None = None) -> int | None:
    """The latest assessment year the MIS holds (of one province's households, when given)."""
    return conn.execute(sa.text("""
        SELECT max(p.assessment_year) FROM mis.poverty_assessment p JOIN mis.household h USING (household_id)
        WHERE CAST(:p AS text) IS NULL OR h.province_code = :p"""), {"p": province_code}).scalar()

