"""Experts, solvers and imitation-learning algorithms for mail-gym games."""
