"""tinygrad_lite.utils: torch.utils' layout. `utils.data` holds datasets and loaders (the package
imports it; importing it here would make tensor.py, which takes `utils.hooks`, load the data
layer above it); `utils.hooks` holds RemovableHandle."""
