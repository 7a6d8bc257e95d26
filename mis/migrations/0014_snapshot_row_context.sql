-- A workbook row's place as last loaded: the digest of its cells, of the row before it and of its sheet's
-- name (misgw.stages.extract). A row read again in the same place is known before it is mapped, so a
-- workbook with 1% of its rows changed maps those rows and their households, not the whole sheet
-- (mis.snapshot.narrow_rows). NULL for records of a database or a web service, and for rows that came
-- back in a returned fix-up workbook.
ALTER TABLE mis.source_snapshot ADD COLUMN row_context text;
CREATE INDEX ON mis.source_snapshot (source_id, row_context) WHERE row_context IS NOT NULL;
