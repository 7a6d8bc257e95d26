-- How long each stage of a run took (extract, map_validate, reconcile, load, report), in seconds:
-- operators see where a slow night went; the benchmark reads the same figures.
ALTER TABLE mis.sync_run ADD COLUMN IF NOT EXISTS stage_seconds jsonb NOT NULL DEFAULT '{}';
