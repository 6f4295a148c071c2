"""tinygrad_lite.nn.functional: torch.nn.functional's names, gathered from the family modules."""
from .fn_attention import *  # noqa: F401,F403  scaled_dot_product_attention, ...
from .fn_basic import *  # noqa: F401,F403  linear, activations, norms, dropout, embedding, losses
from .fn_conv import *  # noqa: F401,F403  conv1d/2d, conv_transpose2d, pooling
from .fn_extra import *  # noqa: F401,F403  more activations, normalize, pixel_shuffle, rms_norm
from .fn_resize import *  # noqa: F401,F403  interpolate
