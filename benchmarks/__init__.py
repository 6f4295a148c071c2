"""`python -m benchmarks`: tinygrad_lite and PyTorch side by side, in one process, as ratios."""
