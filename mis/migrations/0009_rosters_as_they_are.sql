-- Rosters nobody had shown us: local household codes, hamlets, every row accounted for, and what goes
-- back addressed to the commune after the reform.

-- A household's key (household_code) is its code qualified by the unit within which the source's
-- codes are unique ("31300/001"); local_code keeps the code as the district writes it ("001").
-- Households loaded before keys were qualified get local_code from their code.
ALTER TABLE mis.household ADD COLUMN local_code text;
UPDATE mis.household SET local_code = household_code WHERE local_code IS NULL;
CREATE INDEX ON mis.household (local_code);
-- The hamlet-level unit below the commune (ấp, thôn, khóm, khu vực, tổ dân phố, ...).
ALTER TABLE mis.household ADD COLUMN hamlet text;

-- How a source's local codes are qualified: decided from its whole roster on its first load, kept,
-- and changed only on purpose (`misgw households scope`), so a later delivery cannot flip it.
CREATE TABLE mis.source_household_scope (
    source_id    text PRIMARY KEY,
    scope        text NOT NULL CHECK (scope IN ('commune', 'district', 'province')),
    decided_by   text NOT NULL,          -- the run that decided it, or the person who set it
    evidence     jsonb NOT NULL DEFAULT '{}',
    decided_at   timestamptz NOT NULL DEFAULT now()
);

-- Households for a person to look at: merged by the old rule (one local code, several communes),
-- never split by guess.
CREATE TABLE mis.household_review (
    review_id      bigserial PRIMARY KEY,
    household_id   bigint NOT NULL REFERENCES mis.household,
    source_id      text NOT NULL,
    kind           text NOT NULL,
    detail         text NOT NULL,
    run_id         text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (household_id, kind)
);

-- Every held row says why, in Vietnamese and English.
ALTER TABLE mis.held_row ADD COLUMN reason_en text;

-- Every row of every sheet accounted for (read = loaded + unchanged + rejected + held + superseded
-- + skipped), the columns recognised but not stored, the checks that could not run, and why a run
-- that completed needs a person ('attention': a file stopped, or nothing judged was accepted).
ALTER TABLE mis.sync_run ADD COLUMN row_accounts jsonb;
ALTER TABLE mis.sync_run ADD COLUMN notices jsonb;
ALTER TABLE mis.sync_run ADD COLUMN rows_held integer;
ALTER TABLE mis.sync_run ADD COLUMN attention text;
ALTER TABLE mis.sync_run DROP CONSTRAINT IF EXISTS sync_run_status_check;
ALTER TABLE mis.sync_run ADD CONSTRAINT sync_run_status_check
    CHECK (status IN ('running', 'awaiting_approval', 'success', 'attention', 'failed', 'rejected', 'held'));

-- After the reform the district is gone: what goes back is addressed to the (current) commune.
ALTER TABLE mis.reject ADD COLUMN commune_code text;
ALTER TABLE mis.held_row ADD COLUMN commune_code text;
ALTER TABLE mis.reject_entry ADD COLUMN commune_code text;
