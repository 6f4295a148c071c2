"""tinygrad_lite.nn.functional: torch.nn.functional's names, gathered from the family modules."""
from .activation import *  # noqa: F401,F403  more activations, normalize, pixel_shuffle, rms_norm
from .attention import *  # noqa: F401,F403  scaled_dot_product_attention, ...
from .convolution import *  # noqa: F401,F403  conv1d/2d, conv_transpose2d, pooling
from .loss import *  # noqa: F401,F403  linear, activations, norms, dropout, embedding, losses
from .vision import *  # noqa: F401,F403  interpolate
