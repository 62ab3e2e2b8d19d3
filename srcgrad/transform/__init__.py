"""Transforms from normalised primal code to derivative code."""
