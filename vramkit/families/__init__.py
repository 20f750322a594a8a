"""Tensor-inventory builders, one module per architecture family (registered in vramkit.params)."""
