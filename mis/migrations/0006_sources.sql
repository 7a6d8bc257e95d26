-- Sources beyond spreadsheets: legacy databases and web services, read incrementally.

-- What a source's last loading run read: its connector's bookmark (file digests, a watermark) and a
-- digest of what decides the reading (mapping, rules, code lists). Written in the load transaction,
-- so a run that fails or is killed never moves it.
CREATE TABLE mis.source_bookmark (
    source_id    text PRIMARY KEY,
    bookmark     jsonb NOT NULL,
    run_id       text NOT NULL REFERENCES mis.sync_run,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- For a source with record keys and no watermark: each record's content digest as last loaded. The
-- next full read is compared with it, and only households with a changed, new or gone record go on.
CREATE TABLE mis.source_snapshot (
    source_id       text NOT NULL,
    record_key      text NOT NULL,
    household       text,            -- the household column as the source holds it
    row_hash        text NOT NULL,
    household_code  text,            -- the household code the MIS holds for it
    PRIMARY KEY (source_id, record_key)
);
CREATE INDEX ON mis.source_snapshot (source_id, household);

-- Lineage of a database or web-service record: its primary key, where a workbook has a row number.
ALTER TABLE mis.household ADD COLUMN source_key text;
ALTER TABLE mis.member ADD COLUMN source_key text;
ALTER TABLE mis.poverty_assessment ADD COLUMN source_key text;
ALTER TABLE mis.reject ADD COLUMN record_key text;
ALTER TABLE mis.held_row ADD COLUMN record_key text;
ALTER TABLE mis.reconcile_outcome ADD COLUMN source_key text;
