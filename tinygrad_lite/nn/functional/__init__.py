"""tinygrad_lite.nn.functional: torch.nn.functional's names, one module per group of its docs."""
from .convolution import *  # noqa: F401,F403  conv1d/2d, conv_transpose1d/2d, unfold, fold
from .pooling import *  # noqa: F401,F403  max, average and adaptive pooling
from .attention import *  # noqa: F401,F403  scaled_dot_product_attention, ...
from .activation import *  # noqa: F401,F403  relu ... softmax, log_softmax, softmin, glu, prelu
from .normalization import *  # noqa: F401,F403  batch/instance/layer/group/rms norm, normalize
from .linear import *  # noqa: F401,F403  linear, bilinear
from .dropout import *  # noqa: F401,F403  dropout, dropout1d, dropout2d
from .sparse import *  # noqa: F401,F403  embedding, one_hot
from .distance import *  # noqa: F401,F403  cosine_similarity, pairwise_distance
from .loss import *  # noqa: F401,F403  cross_entropy, nll_loss, mse_loss, ...
from .vision import *  # noqa: F401,F403  pad, interpolate, pixel_shuffle, pixel_unshuffle
