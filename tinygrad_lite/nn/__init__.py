"""tinygrad_lite.nn: Module, Parameter and the layers, with PyTorch's names and defaults."""
from . import functional, init, parallel, utils  # noqa: F401
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .containers import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .extra import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import Module, Parameter  # noqa: F401
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .syncbatchnorm import SyncBatchNorm  # noqa: F401
from .recurrent import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .upsample import *  # noqa: F401,F403
