"""Names of the session temp tables the load and the reconcile build and read, declared once for their modules."""
from __future__ import annotations

# Built by mis.load.project, read by the reconcile, the load, the ledger and the snapshot.
HH = "_hh"                  # the roster's households, typed as the MIS would hold them
MEM = "_mem"                # the roster's people (sid: one per staged row)
PA = "_pa"                  # the roster's poverty assessments (households with a year and a category)

# Built by mis.load.apply_clears.
CLEARED = "_clear"          # the stored values a returned workbook asked to clear («xóa»)

# Built by mis.reconcile.classify.
SCOPE = "_scope"            # the registry households this roster speaks for
ABSENT = "_absent"          # of those, the ones missing if no roster household claims them

# Built by mis.household_matching.
HM = "_hm"                  # every candidate registry household of a roster household
HMATCH = "_hmatch"          # each roster household's one registry household, or the reason it cannot be trusted

# Built by mis.person_matching.
PM = "_pm"                  # staged person -> registry member, and how
NEW_PM = "_new_pm"          # name matches made in Python, on their way into PM
AMBIGUOUS = "_ambiguous"    # staged people with more than one close candidate: conflicts
LEFT = "_left"              # listed registry people no staged person claims
REKEY = "_rekey"            # new people given a key of their own
PO = "_po"                  # one outcome per staged person

# Built by mis.held_back.
HELD = "_held"              # the roster's people in households held back
KEPT = "_kept"              # the registry people they are: neither moved nor unlisted

# Built by mis.outcomes.
DISPUTED = "_disputed"      # registry households a roster household in conflict claims
