-- Running a province's syncs: runs that wait for a person, runs a person rejected, province reports.

-- awaiting_approval: the run would change more of its district than allowed and waits for a person;
-- rejected: a person said no (nothing loaded); held: the CLI stopped before the load for the same reason.
ALTER TABLE mis.sync_run DROP CONSTRAINT IF EXISTS sync_run_status_check;
ALTER TABLE mis.sync_run ADD CONSTRAINT sync_run_status_check
    CHECK (status IN ('running', 'awaiting_approval', 'success', 'failed', 'rejected', 'held'));
ALTER TABLE mis.sync_run ADD COLUMN approval jsonb;          -- the figures put to the person, and the answer

-- What the province-wide steps found after its districts loaded: cross-district conflicts,
-- poverty movement, the province summary.
CREATE TABLE mis.province_report (
    report_id      bigserial PRIMARY KEY,
    province_code  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    trigger        text,                 -- what started it: the Airflow run, or the CLI
    body           jsonb NOT NULL
);
CREATE INDEX ON mis.province_report (province_code, created_at);
