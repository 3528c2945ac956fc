"""Experts: batched policies that play (near-)equilibrium strategies."""
