"""Composable wrappers: expert queries, frozen opponents, exploration bonuses."""
