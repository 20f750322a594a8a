"""Matplotlib figure builders, one module per topic (kv, moe, fit, quant, summary); they return Figures."""
