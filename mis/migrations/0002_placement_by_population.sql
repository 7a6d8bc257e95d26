-- A commune whose whole population went to one new commune, while only parts of its land went
-- elsewhere ("Nhập một phần diện tích, toàn bộ dân số" beside "Nhập một phần diện tích"), places
-- its households in that one commune: land moved, people did not. Anything else with two or more
-- candidates stays a hold for a person to decide.
CREATE OR REPLACE VIEW mis.commune_placement AS
WITH rows AS (
    SELECT x.commune_code_pre2025, x.commune_code,
           coalesce(x.note, '') ILIKE '%toàn bộ dân số%' AS whole_population,
           coalesce(x.note, '') ILIKE '%diện tích%' AND coalesce(x.note, '') NOT ILIKE '%dân số%' AS land_only
    FROM mis.commune_crosswalk x
), agg AS (
    SELECT commune_code_pre2025,
           count(DISTINCT commune_code) AS n,
           min(commune_code) AS only_code,
           count(DISTINCT commune_code) FILTER (WHERE whole_population) AS n_population,
           min(commune_code) FILTER (WHERE whole_population) AS population_code,
           bool_and(whole_population OR land_only) AS land_or_population,
           array_agg(DISTINCT commune_code ORDER BY commune_code) AS candidates
    FROM rows GROUP BY commune_code_pre2025
)
SELECT c.commune_code AS commune_code_pre2025,
       c.district_code AS district_code_pre2025,
       c.province_code AS province_code_pre2025,
       CASE WHEN a.n = 1 THEN a.only_code
            WHEN a.n_population = 1 AND a.land_or_population THEN a.population_code END AS commune_code,
       coalesce(a.candidates, ARRAY[]::text[]) AS candidates
FROM mis.commune_pre2025 c
LEFT JOIN agg a ON a.commune_code_pre2025 = c.commune_code;
