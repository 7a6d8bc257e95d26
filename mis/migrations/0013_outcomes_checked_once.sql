-- A run's reconcile outcomes are checked against their run once per run, not once per row.
-- Only mis.ledger.record_outcomes writes them, with one run id, in the load transaction of that run (it checks
-- the run is there first); runs are never deleted, so the cascade never fired. The per-row check was half of
-- the insert: 83 ms of 166 ms for a dry run's 13,848 outcomes (EXPLAIN ANALYZE), about 1.5 million at L.
ALTER TABLE mis.reconcile_outcome DROP CONSTRAINT IF EXISTS reconcile_outcome_run_id_fkey;
