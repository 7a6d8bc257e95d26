-- The same placement as 0002, aggregated per commune (a lateral join on the crosswalk's index) instead of
-- over the whole crosswalk: a source's lookup of its own province's 80 communes read all 10,571 crosswalk
-- rows and matched two patterns on each (40-90 ms, once per source run, on a dry run's critical path).
CREATE OR REPLACE VIEW mis.commune_placement AS
SELECT c.commune_code AS commune_code_pre2025,
       c.district_code AS district_code_pre2025,
       c.province_code AS province_code_pre2025,
       CASE WHEN a.n = 1 THEN a.only_code
            WHEN a.n_population = 1 AND a.land_or_population THEN a.population_code END AS commune_code,
       coalesce(a.candidates, ARRAY[]::text[]) AS candidates
FROM mis.commune_pre2025 c
LEFT JOIN LATERAL (
    SELECT count(DISTINCT commune_code) AS n,
           min(commune_code) AS only_code,
           count(DISTINCT commune_code) FILTER (WHERE whole_population) AS n_population,
           min(commune_code) FILTER (WHERE whole_population) AS population_code,
           bool_and(whole_population OR land_only) AS land_or_population,
           array_agg(DISTINCT commune_code ORDER BY commune_code) AS candidates
    FROM (SELECT x.commune_code,
                 coalesce(x.note, '') ILIKE '%toàn bộ dân số%' AS whole_population,
                 coalesce(x.note, '') ILIKE '%diện tích%' AND coalesce(x.note, '') NOT ILIKE '%dân số%' AS land_only
          FROM mis.commune_crosswalk x WHERE x.commune_code_pre2025 = c.commune_code) rows
    HAVING count(*) > 0
) a ON true;
