"""The stages of a run that grew beyond a function of misgw.pipeline: each in a module of its own."""
