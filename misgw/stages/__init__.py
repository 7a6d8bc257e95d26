"""The stages of one sync run, one module each (extract, map_validate, reconcile, approval, load, report), and
what they share: the run they work on (run_context) and how a run ends (outcome)."""
