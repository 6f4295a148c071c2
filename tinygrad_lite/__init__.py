"""tinygrad_lite: a small reverse-mode autograd engine with PyTorch's names, on NumPy or CuPy."""
from __future__ import annotations

from ._startup import guard_command_startup as _guard

_guard()     # the command's early Ctrl-C: one line, no traceback (see _startup.py)

from . import autograd, backend, dtypes  # noqa: E402
from .backend import heap as _heap
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .backend import Device as device
from .backend import cuda_is_available, get_default_device, set_default_device
from .backend.threads import get_num_threads, set_num_threads
from .dtypes import (bool_, double, float, float16, float32, float64, half, int8, int16, int32,
                     int64, long, short, uint8)
from .dtypes import bool_ as bool  # noqa: A001  (torch's name)
from .dtypes import finfo, get_default_dtype, iinfo, set_default_dtype
from .dtypes import int32 as int  # noqa: A001
from .functions import *  # noqa: F401,F403  (the torch-level functions; functions/__all__)
from .functions import abs, all, any, max, min, pow, round, sum  # noqa: A004
from .random import initial_seed, manual_seed, seed
from .serialization import load, save
from .tensor import Size, Tensor
from .autograd import functional as _autograd_functional  # noqa: E402,F401
# (tl.autograd.functional: jacobian, hessian, ... are built on Tensors and the functions, so they
# load after them, here, rather than from autograd/__init__.py, which sits below Tensor)
from . import nn  # noqa: E402  (layers; need Tensor loaded)
from .nn.functional import (adaptive_avg_pool1d, adaptive_max_pool1d,  # noqa: E402
                            avg_pool1d, bilinear, celu, conv1d, conv2d, conv_transpose1d,
                            conv_transpose2d, cosine_similarity, group_norm, layer_norm,
                            max_pool1d, max_pool2d, pairwise_distance, pixel_shuffle,
                            pixel_unshuffle, prelu, relu_, rms_norm, selu, threshold,
                            threshold_)  # torch's top-level names for these F functions
from .nn.functional.dropout import torch_dropout as dropout  # noqa: E402  (input, p, train)
from . import special  # noqa: E402  (torch.special's names)
from . import optim  # noqa: E402  (optimizers and lr schedulers)
from . import data, utils  # noqa: E402  (datasets and loaders; also as tl.utils.data)
from . import viz  # noqa: E402  (graph pictures)
from . import safetensors  # noqa: E402  (safetensors files; the package is imported lazily)
from . import onnx  # noqa: E402  (tl.onnx.export; the onnx package is imported lazily)

__version__ = "0.1.0"

_heap.keep_heap()   # freed arrays stay in the heap for the next step (see backend/heap.py)

# NumPy's floating-point warnings (division by zero, overflow, invalid values) from inside this
# package are silenced, as torch is silent about inf and NaN: only those attributed to our own
# modules, never the caller's. The test suite turns them back into errors to find them early.
import warnings as _warnings  # noqa: E402

_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"tinygrad_lite(\.|$)")


from . import accelerator, amp, backends, cpu, cuda  # noqa: E402  (torch.cuda, .amp, ...)
from .amp import (autocast, get_autocast_dtype, is_autocast_enabled,  # noqa: E402
                  set_autocast_dtype, set_autocast_enabled)
from . import distributed  # noqa: E402  (process groups; mpi4py is imported only when used)
from .legacy import make_types as _make_types  # noqa: E402

globals().update(_make_types("cpu"))       # FloatTensor, LongTensor, ... (torch's legacy types)


def __getattr__(name):
    """tl.bfloat16: ml_dtypes is imported the first time it is asked for (see dtypes.py)."""
    if name == "bfloat16":
        return dtypes.__getattr__(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor",  # noqa: F811
            mode=None, options=None, disable=False):
    """torch.compile's signature; returns `model` unchanged (there is no compiler here, and
    eager mode is what runs). As a decorator without arguments it returns a pass-through."""
    if model is None:
        return lambda fn: fn
    return model
