-- Returned fix-up workbooks, any number of rounds: each held row keeps its place in the district's own
-- roster (origin_*), the content digest of that roster row, and the round of the workbook it came in
-- (0: the district's roster). A record fixed by a returned workbook is remembered, so that removing
-- that workbook later does not bring the roster's old, wrong row back to judgement.
ALTER TABLE mis.held_row ADD COLUMN origin_file text;
ALTER TABLE mis.held_row ADD COLUMN origin_sheet text;
ALTER TABLE mis.held_row ADD COLUMN origin_row integer;
ALTER TABLE mis.held_row ADD COLUMN origin_digest text;
ALTER TABLE mis.held_row ADD COLUMN fixup_round integer NOT NULL DEFAULT 0;

CREATE TABLE mis.fixup_applied (
    source_id      text NOT NULL,
    origin_file    text NOT NULL,
    origin_sheet   text NOT NULL,
    origin_row     integer NOT NULL,
    origin_digest  text,                  -- the roster row as it was when the fix was asked for
    fixed_file     text NOT NULL,         -- the returned workbook whose row loaded
    fixed_row      integer NOT NULL,
    fixup_round    integer NOT NULL,
    household_code text,
    run_id         text NOT NULL REFERENCES mis.sync_run,
    applied_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, origin_file, origin_sheet, origin_row)
);
