"""Analyses of normalised code: which values carry derivatives, and what the reverse sweep keeps."""
