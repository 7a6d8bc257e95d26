-- Reconcile: people matched by name where there is no usable ID, households flagged missing,
-- every run's outcomes kept, and fix-up workbooks per district.

-- The accent-free, space-free name (mappings.text.fold): the blocking and comparison key for people
-- without a usable ID. Members loaded before this column existed get it from their key when it is
-- the name key (fold|birth year), and from their next load otherwise.
ALTER TABLE mis.member ADD COLUMN name_key text;
UPDATE mis.member SET name_key = split_part(member_key, '|', 1) WHERE id_kind IS NULL AND member_key LIKE '%|%';
CREATE INDEX ON mis.member (name_key);

-- A household in the MIS for a district whose latest roster no longer lists it: flagged, never
-- deleted. Cleared when a roster lists it again. Another district may then claim it as moved.
ALTER TABLE mis.household ADD COLUMN missing_run_id text;
CREATE INDEX ON mis.household (district_code_pre2025);
CREATE INDEX ON mis.household (source_id);

-- Bumped by every load: a run whose reconcile predates a later load reconciles again inside its
-- own load transaction, so what it writes never rests on a stale comparison.
CREATE SEQUENCE mis.registry_version;

-- Every run's outcome per household and per person, except "unchanged" (counted on the run).
CREATE TABLE mis.reconcile_outcome (
    run_id                   text NOT NULL REFERENCES mis.sync_run ON DELETE CASCADE,
    entity                   text NOT NULL CHECK (entity IN ('household', 'member')),
    household_code           text NOT NULL,         -- the roster's code (the registry's, for missing)
    member_key               text,
    full_name                text,
    outcome                  text NOT NULL CHECK (outcome IN ('new', 'changed', 'moved', 'missing', 'conflict')),
    changed_fields           text[] NOT NULL DEFAULT '{}',
    registry_household_code  text,                  -- the MIS household it was matched to
    reason                   text,                  -- why a conflict, or how a match was made
    source_file              text,
    source_sheet             text,
    source_row               integer
);
CREATE INDEX ON mis.reconcile_outcome (run_id, entity, outcome);
CREATE INDEX ON mis.reconcile_outcome (household_code);

-- A province-wide source writes one fix-up workbook per district: district -> path.
ALTER TABLE mis.sync_run ADD COLUMN fixup_workbooks jsonb;
UPDATE mis.sync_run SET fixup_workbooks = jsonb_build_object(coalesce(district_code, '-'), fixup_workbook)
WHERE fixup_workbook IS NOT NULL;
ALTER TABLE mis.sync_run DROP COLUMN fixup_workbook;
ALTER TABLE mis.sync_run ADD COLUMN registry_version bigint;

-- Each record's own district (a province-wide source's records belong to many), and each entry's rule.
ALTER TABLE mis.reject ADD COLUMN district_code text;
ALTER TABLE mis.reject_entry ADD COLUMN rule text;
UPDATE mis.reject_entry e SET rule = split_part(e.fingerprint, '|', 2);
CREATE INDEX ON mis.reject_entry (household_code);
