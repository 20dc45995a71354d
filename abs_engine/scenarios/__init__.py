"""Scenario runs at desk scale: sweeps, break-even search, Monte Carlo (docs/scenarios.md)."""
