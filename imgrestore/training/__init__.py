"""Training machinery (imports torch): the generic loop, checkpoints and patch data."""
