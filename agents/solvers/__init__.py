"""Exact solvers and evaluation for tabular Markov games."""
