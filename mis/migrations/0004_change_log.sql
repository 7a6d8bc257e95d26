-- Every field a run changed: who ran it, which run and file, the old and the new value.
-- Answers "when did this household's category change, and from which file".
CREATE TABLE mis.change_log (
    change_id        bigserial PRIMARY KEY,
    run_id           text NOT NULL REFERENCES mis.sync_run,
    changed_by       text NOT NULL,
    entity           text NOT NULL CHECK (entity IN ('household', 'member', 'poverty_assessment')),
    household_code   text NOT NULL,
    member_key       text,
    assessment_year  integer,
    field            text NOT NULL,
    old_value        text,
    new_value        text,
    source_file      text,
    source_sheet     text,
    source_row       integer
);
CREATE INDEX ON mis.change_log (household_code);
CREATE INDEX ON mis.change_log (run_id);
