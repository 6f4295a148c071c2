"""Differentiable primitives, one module per family; each op is one Function subclass."""
