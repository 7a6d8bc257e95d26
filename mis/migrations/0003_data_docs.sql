-- Where the run's Great Expectations Data Docs were written (the site's index page).
ALTER TABLE mis.sync_run ADD COLUMN data_docs text;
