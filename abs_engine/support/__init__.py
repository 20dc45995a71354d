"""Risk-sharing layers (风险分担): buy-backs, loss-sharing agreements, guarantees with
re-guarantees, interest subsidies and annual-fee upkeep, applied to a pool's projected
defaults (docs/risk-sharing.md)."""

from .layers import LayerResult, apply_layers, compile_stack, failure_months

__all__ = ["LayerResult", "apply_layers", "compile_stack", "failure_months"]
