-- Lookups that scanned whole tables on every source run.
-- The fix-up workbook finds each open household's latest held rows by source and household code; without
-- these it scanned every held row of every run (three scans per source run, 50-60 ms each at 50,000 rows).
CREATE INDEX IF NOT EXISTS held_row_source_household_idx ON mis.held_row (source_id, household_code);
CREATE INDEX IF NOT EXISTS held_row_household_run_idx ON mis.held_row (household_code, run_id);
-- A held-back person is looked for among the listed people by folded name and birth year: a common name
-- alone matched hundreds of people a key, so the planner scanned the whole registry (0.5 s at 1.2M members).
CREATE INDEX IF NOT EXISTS member_name_key_birth_year_idx ON mis.member (name_key, birth_year);
DROP INDEX IF EXISTS mis.member_name_key_idx;
