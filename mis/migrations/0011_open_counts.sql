-- The operator's page counts open ledger entries by their severity (the last reject row of each entry).
CREATE INDEX IF NOT EXISTS reject_entry_id_idx ON mis.reject (entry_id, reject_id);
