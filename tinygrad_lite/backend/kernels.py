"""The CUDA kernels in kernels/*.cu: lazy compile through cupy.RawModule, stats, launchers.

Callers on "cuda" ask `supports_conv(...)` / `supports_attention(...)` first; when it says no
they run the composed path and call `record(name, used_kernel=False)`. The launchers record
their own use.
Arrays in and out are cupy arrays, contiguous NCHW / [B, H, L, D]. bfloat16 has no CuPy dtype: pass
uint16 arrays holding bfloat16 bits with `bf16=True` (or arrays whose dtype is named "bfloat16").

Nothing here imports cupy at import time. Without a GPU, `compile_options` (what NVRTC is given),
`find_crt_include`, the `supports_*` predicates, `tolerance` / `error_stats` (the accuracy the
kernels are held to) and `ptxas_report` (nvcc) still work.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import get_cupy

# tile sizes; they must match the explicit instantiations at the end of kernels/*.cu
CONV_TILE = (64, 64, 32)            # BM, BN, BK
CONV_THREADS = 128
ATTN_FWD_TILE = (64, 64, 128)       # BLOCK_M, BLOCK_N, threads
ATTN_BWD_TILE = (64, 64, 256)
ATTN_HEAD_DIMS = (32, 64, 128)
PAD = 8                             # tl::PAD, elements added to each shared-memory row
MAX_SMEM = 227 * 1024               # per block on sm_90 after the opt-in
MODE_EXACT, MODE_TF32, MODE_HALF = 0, 1, 2
SOURCES = ("conv2d.cu", "attention.cu")

GRID_YZ_MAX = 65535                 # CUDA's limit on gridDim.y and gridDim.z

# float32 GEMMs on TF32 tensor cores, per kernel family, as torch splits it: convolution follows
# torch.backends.cudnn.allow_tf32 (default True), attention torch.backends.cuda.matmul.allow_tf32
# (default False, so float32 attention keeps float32's accuracy unless asked)
_allow_tf32 = {"conv": True, "attention": False}
_modules: dict = {}     # (source path, source sha256, full options) -> RawModule
_resolved: dict = {}    # (filename, extra options, $TINYGRAD_LITE_KERNELS) -> RawModule
_stats: dict = {}


# -- switches and counters -------------------------------------------------------------------
def set_allow_tf32(flag: bool, family=None) -> None:
    """True: float32 GEMMs of `family` ("conv", "attention"; None: both) use TF32 tensor cores;
    False: exact float32 FFMA."""
    for fam in (_allow_tf32 if family is None else (family,)):
        if fam not in _allow_tf32:
            raise ValueError(f"set_allow_tf32: family must be 'conv' or 'attention', got {fam!r}")
        _allow_tf32[fam] = bool(flag)


def get_allow_tf32(family: str = "conv") -> bool:
    return _allow_tf32[family]


def record(name: str, used_kernel: bool) -> None:
    """Count one call of `name` ("conv2d_forward", "attention_backward", ...) by path."""
    entry = _stats.setdefault(name, {"kernel": 0, "fallback": 0})
    entry["kernel" if used_kernel else "fallback"] += 1


def stats() -> dict:
    """{name: {"kernel": calls on our CUDA kernel, "fallback": calls on the composed path}}"""
    return {k: dict(v) for k, v in _stats.items()}


def reset_stats() -> None:
    _stats.clear()


# -- finding and compiling the sources -------------------------------------------------------
def kernel_dirs() -> list[Path]:
    """Where kernels/*.cu may live: $TINYGRAD_LITE_KERNELS, the source tree, an installed copy."""
    here = Path(__file__).resolve()
    dirs = []
    if os.environ.get("TINYGRAD_LITE_KERNELS"):
        dirs.append(Path(os.environ["TINYGRAD_LITE_KERNELS"]))
    dirs += [here.parents[2] / "kernels",                         # repo checkout / editable install
             here.parents[1] / "kernels",                         # package_data inside the package
             Path(sys.prefix) / "share" / "tinygrad_lite" / "kernels"]   # setup.py data_files
    return dirs


def kernel_path(filename: str) -> Path:
    for d in kernel_dirs():
        if (d / filename).is_file():
            return d / filename
    raise FileNotFoundError(f"kernels: {filename} not found in any of "
                            f"{[str(d) for d in kernel_dirs()]}; set TINYGRAD_LITE_KERNELS")


def _dtype_kind(a, bf16: bool) -> str:
    name = a.dtype.name
    if name == "float32":
        return "float"
    if name == "float16":
        return "__half"
    if name == "bfloat16" or (bf16 and name == "uint16"):
        return "__nv_bfloat16"
    raise TypeError(f"kernels: unsupported dtype {name} (float32, float16 or bfloat16 bits)")


def _mode(ctype: str, tf32=None, family: str = "conv") -> int:
    """Tensor-core mode; tf32=None follows set_allow_tf32 for the family, True/False overrides
    it for one call."""
    if ctype != "float":
        return MODE_HALF
    return MODE_TF32 if (_allow_tf32[family] if tf32 is None else tf32) else MODE_EXACT


def _name_expressions(filename: str) -> list[str]:
    """Every template instance the launchers below may ask for."""
    types = [("float", MODE_EXACT), ("float", MODE_TF32), ("__half", MODE_HALF),
             ("__nv_bfloat16", MODE_HALF)]
    if filename == "conv2d.cu":
        names = [f"conv2d_igemm<{t},{m},{p}>" for t, m in types for p in range(3)]
        return names + ["conv2d_cast<__half>", "conv2d_cast<__nv_bfloat16>"]
    fm, fn, ft = ATTN_FWD_TILE
    bm, bn, bt = ATTN_BWD_TILE
    names = []
    for t, m in types:
        for d in ATTN_HEAD_DIMS:
            names += [f"attn_fwd<{t},{m},{d},{fm},{fn},{ft}>",
                      f"attn_bwd<{t},{m},{d},{bm},{bn},{bt}>"]
    for t in ("float", "__half", "__nv_bfloat16"):
        names += [f"attn_bwd_delta<{t},{d}>" for d in ATTN_HEAD_DIMS] + [f"attn_cast<{t}>"]
    return names


# <mma.h> includes "crt/mma.h". CuPy passes NVRTC the include directory of the CUDA it found,
# which with pip wheels is nvidia-cuda-runtime's (site-packages/nvidia/cu13/include): that wheel
# has no crt/, so the loader adds a directory that does.
CRT_HEADER = "crt/mma.h"
CRT_PACKAGE = "nvidia-cuda-crt"
_SYSTEM_CUDA = Path("/usr/local/cuda")
_QUOTED_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def cuda_include_candidates() -> list[tuple[str, Path]]:
    """Include directories that may hold crt/mma.h, in search order, each with where it came
    from: $CUDA_PATH and $CUDA_HOME, /usr/local/cuda, beside nvcc on PATH, then the nvidia pip
    wheels (nvidia/<name>/include under every sys.path entry; CUDA 13's is nvidia/cu13)."""
    found = []
    for var in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(var):
            found.append((f"${var}/include", Path(os.environ[var]) / "include"))
    found.append(("system CUDA", _SYSTEM_CUDA / "include"))
    nvcc = shutil.which("nvcc")
    if nvcc:
        found.append((f"beside nvcc ({nvcc})", Path(nvcc).resolve().parent.parent / "include"))
    for entry in sys.path:
        wheels = Path(entry or ".") / "nvidia"
        if wheels.is_dir():
            found += [(f"pip wheel nvidia/{inc.parent.name}", inc)
                      for inc in sorted(wheels.glob("*/include"))]
    unique, seen = [], set()
    for how, inc in found:
        real = os.path.realpath(inc)
        if real not in seen:
            seen.add(real)
            unique.append((how, inc))
    return unique


def _cuda_version(include_dir: Path):
    """CUDA_VERSION from include_dir/cuda.h (13000 for 13.0), or None when it cannot be read."""
    try:
        m = re.search(r"#define\s+CUDA_VERSION\s+(\d+)", (include_dir / "cuda.h").read_text())
    except OSError:
        return None
    return int(m.group(1)) if m else None


def _nvrtc_major():
    """The major version of the NVRTC CuPy compiles with, or None when it cannot be loaded."""
    try:
        from cupy_backends.cuda.libs import nvrtc
        return int(nvrtc.getVersion()[0])
    except Exception:       # no CuPy, or no NVRTC library: nothing to match against
        return None


def find_crt_include(nvrtc_major=None) -> Path:
    """The first of `cuda_include_candidates()` that has crt/mma.h. With nvrtc_major given,
    headers of another CUDA major release are passed over: NVRTC supports only its own."""
    looked, candidates = [], cuda_include_candidates()
    for how, inc in candidates:
        if not (inc / CRT_HEADER).is_file():
            looked.append(f"{inc} ({how}): no {CRT_HEADER}")
            continue
        version = _cuda_version(inc)
        if nvrtc_major is not None and version is not None and version // 1000 != nvrtc_major:
            looked.append(f"{inc} ({how}): CUDA {version // 1000}.{version % 1000 // 10} "
                          f"headers, but NVRTC is {nvrtc_major}.x")
            continue
        return inc
    if not any(how.startswith("pip wheel") for how, _ in candidates):
        looked.append("nvidia/*/include under every sys.path entry: no nvidia pip wheel found")
    raise RuntimeError(
        f"kernels: no usable CUDA include directory with {CRT_HEADER} (<mma.h> includes it); "
        "looked in:\n  " + "\n  ".join(looked) + f"\nInstall the {CRT_PACKAGE} wheel (pip install "
        f"{CRT_PACKAGE}; it adds site-packages/nvidia/cu13/include/{CRT_HEADER}) or a full CUDA "
        "toolkit, or point CUDA_PATH at a toolkit that has it.")


def included_headers(filename: str) -> list[Path]:
    """Every header kernels/<filename> pulls in with #include "...", recursively, in order."""
    root = kernel_path(filename).parent
    headers, todo = [], [root / filename]
    while todo:
        for name in _QUOTED_INCLUDE.findall(todo.pop().read_text()):
            path = root / name
            if path.is_file() and path not in headers:
                headers.append(path)
                todo.append(path)
    return headers


def header_hash(filename: str) -> str:
    """16 hex digits of sha256 over the headers kernels/<filename> includes (names and text)."""
    h = hashlib.sha256()
    for path in included_headers(filename):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def compile_options(filename: str) -> tuple:
    """The NVRTC options of kernels/<filename>, the same for the loader and the NVRTC test.
    CuPy's on-disk cache keys on source text and options only, so the header hash rides along as
    -DTL_HEADER_HASH: editing tile_mma.cuh then recompiles instead of loading a stale cubin."""
    path = kernel_path(filename)
    return ("-std=c++17", f"-I{path.parent}", f"-I{find_crt_include(_nvrtc_major())}",
            f"-DTL_HEADER_HASH=0x{header_hash(filename)}")


def module(filename: str, options: tuple = ()):
    """The cupy.RawModule of kernels/<filename> (compile_options + options), built once per
    source text, header hash and options. Sources are read once per process: call
    `clear_cache()` after editing them in a running process."""
    fast_key = (filename, tuple(options), os.environ.get("TINYGRAD_LITE_KERNELS"))
    mod = _resolved.get(fast_key)           # launches stay a dict lookup, no file reads
    if mod is None:
        cp = get_cupy()
        path = kernel_path(filename)
        source = path.read_text()
        opts = compile_options(filename) + tuple(options)
        key = (str(path), hashlib.sha256(source.encode()).hexdigest(), opts)
        if key not in _modules:
            _modules[key] = cp.RawModule(code=source, options=opts,
                                         name_expressions=_name_expressions(filename))
        mod = _resolved[fast_key] = _modules[key]
    return mod


def clear_cache() -> None:
    """Forget which sources were read, so the next launch re-reads kernels/ (and recompiles what
    changed; CuPy's disk cache still serves what did not)."""
    _resolved.clear()


def _function(filename: str, name: str, smem: int = 0):
    fn = module(filename).get_function(name)
    if smem > 48 * 1024 and getattr(fn, "max_dynamic_shared_size_bytes", 0) < smem:
        fn.max_dynamic_shared_size_bytes = smem            # opt in above 48 KB
    return fn


# -- convolution -----------------------------------------------------------------------------
def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))


def _conv_sizes(x_shape, w_shape, stride, padding, dilation, groups):
    n, c, h, w = (int(s) for s in x_shape)
    k, cg, r, s = (int(t) for t in w_shape)
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    p = (h + 2 * ph - dh * (r - 1) - 1) // sh + 1
    q = (w + 2 * pw - dw * (s - 1) - 1) // sw + 1
    return n, c, h, w, k, r, s, p, q, sh, sw, ph, pw, dh, dw, int(groups)


def supports_conv(x, w, stride=1, padding=0, dilation=1, groups=1) -> bool:
    """True when the implicit-GEMM kernels take this conv2d, forward and both gradients (else
    use the composed path): sizes below 2**31 elements and every grid within CUDA's limits."""
    try:
        if x.ndim != 4 or w.ndim != 4 or x.dtype != w.dtype:
            return False
        _dtype_kind(x, False)
        n, c, h, wd, k, r, s, p, q, *rest = _conv_sizes(x.shape, w.shape, stride, padding,
                                                        dilation, groups)
    except (TypeError, ValueError, IndexError):
        return False
    g = int(groups)
    if g < 1 or c % g or k % g or w.shape[1] != c // g or p < 1 or q < 1:
        return False
    biggest = max(n * c * h * wd, n * k * p * q, k * (c // g) * r * s)
    if biggest >= 2**31 - 1:
        return False
    # grid (ceil(GM/64), ceil(GN/64), groups * splits) of each pass: y and z stop at 65535
    splits, _ = conv_split_k(k // g, (c // g) * r * s, n * p * q, g)
    bn = CONV_TILE[1]
    for gn, zs in ((k // g, g), (c // g, g), ((c // g) * r * s, g * splits)):
        if math.ceil(gn / bn) > GRID_YZ_MAX or zs > GRID_YZ_MAX:
            return False
    return True


def _conv_launch(pass_id, ctype, mode, a_src, b_src, out, out_acc, sizes, k_per_split, splits):
    n, c, h, w, k, r, s, p, q, sh, sw, ph, pw, dh, dw, g = sizes
    gm, gn = [(n * p * q, k // g), (n * h * w, c // g), (k // g, (c // g) * r * s)][pass_id]
    bm, bn, _ = CONV_TILE
    fn = _function("conv2d.cu", f"conv2d_igemm<{ctype},{mode},{pass_id}>")
    grid = (math.ceil(gm / bm), math.ceil(gn / bn), g * splits)
    i32 = np.int32
    fn(grid, (CONV_THREADS,), (a_src, b_src, out, out_acc, *(i32(v) for v in sizes),
                               i32(k_per_split)))


def _contig(a):
    return a if a.flags.c_contiguous else get_cupy().ascontiguousarray(a)


def conv2d_forward(x, w, stride=1, padding=0, dilation=1, groups=1, tf32=None, bf16=False):
    """y[n,k,p,q] = sum_{c,r,s} x[n, g*C/G + c, p*sh - ph + r*dh, q*sw - pw + s*dw] w[k,c,r,s]"""
    cp = get_cupy()
    x, w = _contig(x), _contig(w)
    ctype = _dtype_kind(x, bf16)
    sizes = _conv_sizes(x.shape, w.shape, stride, padding, dilation, groups)
    n, _, _, _, k, _, _, p, q = sizes[:9]
    y = cp.empty((n, k, p, q), x.dtype)
    gk = x.shape[1] // int(groups) * w.shape[2] * w.shape[3]
    _conv_launch(0, ctype, _mode(ctype, tf32), x, w, y, _NULL, sizes,
                 _round_up(gk, CONV_TILE[2]), 1)
    record("conv2d_forward", True)
    return y


def conv2d_backward_data(dy, w, x_shape, stride=1, padding=0, dilation=1, groups=1,
                         tf32=None, bf16=False):
    """dx = conv2d gradient w.r.t. the input: GEMM M = N*H*W, N = C/G, K = K/G*R*S."""
    cp = get_cupy()
    dy, w = _contig(dy), _contig(w)
    ctype = _dtype_kind(dy, bf16)
    sizes = _conv_sizes(x_shape, w.shape, stride, padding, dilation, groups)
    dx = cp.empty(tuple(int(s) for s in x_shape), dy.dtype)
    gk = w.shape[0] // int(groups) * w.shape[2] * w.shape[3]
    _conv_launch(1, ctype, _mode(ctype, tf32), dy, w, dx, _NULL, sizes,
                 _round_up(gk, CONV_TILE[2]), 1)
    record("conv2d_backward_data", True)
    return dx


def conv_split_k(gm: int, gn: int, gk: int, groups: int, sms: int = 132) -> tuple[int, int]:
    """(splits, k_per_split) for the weight gradient: enough blocks to fill ~2 waves of SMs."""
    bm, bn, bk = CONV_TILE
    blocks = math.ceil(gm / bm) * math.ceil(gn / bn) * groups
    k_tiles = max(1, math.ceil(gk / bk))
    splits = max(1, min(k_tiles, math.ceil(2 * sms / blocks)))
    k_per_split = math.ceil(k_tiles / splits) * bk
    return math.ceil(gk / k_per_split), k_per_split


def conv2d_backward_weight(x, dy, w_shape, stride=1, padding=0, dilation=1, groups=1,
                         tf32=None, bf16=False):
    """dw = conv2d gradient w.r.t. the weight: GEMM M = K/G, N = C/G*R*S, K = N*P*Q, split-K."""
    cp = get_cupy()
    x, dy = _contig(x), _contig(dy)
    ctype = _dtype_kind(x, bf16)
    w_shape = tuple(int(s) for s in w_shape)
    sizes = _conv_sizes(x.shape, w_shape, stride, padding, dilation, groups)
    n, c, _, _, k, r, s, p, q = sizes[:9]
    g = int(groups)
    splits, kps = conv_split_k(k // g, (c // g) * r * s, n * p * q, g)
    acc = cp.zeros(w_shape, cp.float32)
    _conv_launch(2, ctype, _mode(ctype, tf32), dy, x, _NULL, acc, sizes, kps, splits)
    record("conv2d_backward_weight", True)
    if ctype == "float":
        return acc
    out = cp.empty(w_shape, x.dtype)
    fn = _function("conv2d.cu", f"conv2d_cast<{ctype}>")
    fn((min(1024, math.ceil(acc.size / 256)),), (256,), (acc, out, np.int32(acc.size)))
    return out


def _round_up(v: int, m: int) -> int:
    return max(m, math.ceil(v / m) * m)


# A null device pointer: RawKernel passes numpy scalars by value, and a pointer is 8 bytes.
_NULL = np.uint64(0)


# -- attention -------------------------------------------------------------------------------
def attention_smem_bytes(head_dim: int, itemsize: int, backward: bool) -> int:
    """Dynamic shared memory of attn_fwd / attn_bwd (mirrors FwdSmem / BwdSmem in attention.cu)."""
    ldt = head_dim + PAD
    if not backward:
        bm, bn, _ = ATTN_FWD_TILE
        lds = bn + PAD
        b = (bm + 2 * bn) * ldt * itemsize + bm * lds * 4
        b += 0 if itemsize == 4 else bm * lds * itemsize
        return b + bm * ldt * 4 + 3 * bm * 4
    bm, bn, _ = ATTN_BWD_TILE
    lds = bn + PAD
    b = (2 * bn + 2 * bm) * ldt * itemsize + 2 * bm * lds * 4
    b += 0 if itemsize == 4 else 2 * bm * lds * itemsize
    return b + max(bm, bn) * ldt * 4 + 2 * bm * 4


def supports_attention(q, k, v, mask=None, dropout_p=0.0, causal=False) -> bool:
    """True when the fused kernels take this call: 4-D, same dtype, head_dim 32/64/128, no
    arbitrary mask, no dropout, float32 / float16 / bfloat16, B * H <= 65535 (the grid's y)."""
    try:
        _dtype_kind(q, False)
    except TypeError:
        return False
    if mask is not None or dropout_p or q.ndim != 4 or k.ndim != 4 or k.shape != v.shape:
        return False
    if q.dtype != k.dtype or q.dtype != v.dtype:
        return False
    if q.shape[:2] != k.shape[:2] or q.shape[3] != k.shape[3] or q.shape[3] not in ATTN_HEAD_DIMS:
        return False
    if q.shape[2] < 1 or k.shape[2] < 1 or max(q.size, k.size) >= 2**31 - 1:
        return False
    if q.shape[0] * q.shape[1] > GRID_YZ_MAX:      # both passes launch with gridDim.y = B * H
        return False
    return attention_smem_bytes(q.shape[3], q.dtype.itemsize, True) <= MAX_SMEM


def _kv_len_arg(kv_len, batch):
    if kv_len is None:
        return _NULL
    cp = get_cupy()
    kl = cp.asarray(kv_len, dtype=cp.int32).reshape(-1)
    if kl.size != batch:
        raise ValueError(f"attention: kv_len has {kl.size} entries for batch size {batch}")
    return kl


def attention_forward(q, k, v, scale=None, causal=False, kv_len=None, tf32=None, bf16=False):
    """(O, LSE): O = softmax(scale Q K^T) V; LSE [B, H, Lq] float32, natural log, -inf if empty."""
    cp = get_cupy()
    q, k, v = _contig(q), _contig(k), _contig(v)
    b, h, lq, d = q.shape
    lk = k.shape[2]
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    ctype = _dtype_kind(q, bf16)
    bm, bn, nt = ATTN_FWD_TILE
    smem = attention_smem_bytes(d, q.dtype.itemsize, False)
    mode = _mode(ctype, tf32, "attention")
    fn = _function("attention.cu", f"attn_fwd<{ctype},{mode},{d},{bm},{bn},{nt}>",
                   smem)
    o = cp.empty_like(q)
    lse = cp.empty((b, h, lq), cp.float32)
    kl = _kv_len_arg(kv_len, b)
    fn((math.ceil(lq / bm), b * h), (nt,),
       (q, k, v, o, lse, kl, np.int32(h), np.int32(lq), np.int32(lk),
        np.float32(scale * 1.4426950408889634), np.int32(bool(causal))), shared_mem=smem)
    record("attention_forward", True)
    return o, lse


def attention_backward(q, k, v, o, lse, do, scale=None, causal=False, kv_len=None,
                       tf32=None, bf16=False):
    """(dQ, dK, dV) from the saved O and LSE, recomputing P tile by tile."""
    cp = get_cupy()
    q, k, v, o, do = (_contig(a) for a in (q, k, v, o, do))
    lse = _contig(lse.astype(cp.float32, copy=False))
    b, h, lq, d = q.shape
    lk = k.shape[2]
    scale = 1.0 / math.sqrt(d) if scale is None else float(scale)
    ctype = _dtype_kind(q, bf16)
    rows = b * h * lq
    delta = cp.empty((b, h, lq), cp.float32)
    _function("attention.cu", f"attn_bwd_delta<{ctype},{d}>")(
        (math.ceil(rows / 8),), (256,), (o, do, delta, np.int32(rows)))
    bm, bn, nt = ATTN_BWD_TILE
    smem = attention_smem_bytes(d, q.dtype.itemsize, True)
    mode = _mode(ctype, tf32, "attention")
    fn = _function("attention.cu", f"attn_bwd<{ctype},{mode},{d},{bm},{bn},{nt}>",
                   smem)
    dq_acc = cp.zeros(q.shape, cp.float32)
    dk, dv = cp.empty_like(k), cp.empty_like(v)
    kl = _kv_len_arg(kv_len, b)
    fn((math.ceil(lk / bn), b * h), (nt,),
       (q, k, v, do, lse, delta, dq_acc, dk, dv, kl, np.int32(h), np.int32(lq), np.int32(lk),
        np.float32(scale), np.int32(bool(causal))), shared_mem=smem)
    if ctype == "float":
        dq = dq_acc
    else:
        dq = cp.empty_like(q)
        _function("attention.cu", f"attn_cast<{ctype}>")(
            (min(4096, math.ceil(dq.size / 256)),), (256,), (dq_acc, dq, np.int64(dq.size)))
    record("attention_backward", True)
    return dq, dk, dv


# -- accuracy contract (tests and benchmarks hold the kernels to it) --------------------------
# Unit roundoff of what the kernels round to: float32 results, TF32 operands (10 mantissa bits,
# round to nearest), float16 (10 bits) and bfloat16 (7 bits) operands, P, dS and outputs.
UNIT_ROUNDOFF = {"fp32": 2.0**-24, "tf32": 2.0**-11, "fp16": 2.0**-11, "bf16": 2.0**-8}
# Multiples of the error model below. Emulating each precision in NumPy on the GPU tests' shapes
# and seeds (as tests/test_kernels_build.py does for two of them) gives rms errors up to 1.2 and
# max errors up to 24 model units (attention gradients, whose rows differ most in size): 4 and 40
# leave 1.7x or more for what emulation cannot see (exp2f/log2f ulps, the order of sums and
# atomicAdds), while one TF32 output off by 1% still fails by 2x.
TOL_RMS = 4.0
TOL_MAX = 40.0


def precision_name(dtype_name: str, tf32=None, family: str = "conv") -> str:
    """The precision a launch on this storage dtype computes in: fp32, tf32, fp16 or bf16
    (tf32=None follows set_allow_tf32 for the family, as the launchers do)."""
    if dtype_name == "float32":
        return "tf32" if (_allow_tf32[family] if tf32 is None else tf32) else "fp32"
    names = {"float16": "fp16", "bfloat16": "bf16"}
    if dtype_name not in names:
        raise TypeError(f"kernels: unsupported dtype {dtype_name} (float32, float16, bfloat16)")
    return names[dtype_name]


def tolerance(precision: str, k: int) -> tuple[float, float]:
    """(rms, max) error bounds, as fractions of the reference's rms, for a float32-accumulated
    product whose longest reduction has k terms and whose operands are rounded to `precision`.

    Model: u + 2**-24 * sqrt(k). Rounding operands and outputs costs about u relative however
    long the reduction, since with random signs those errors add up in quadrature like the terms
    themselves; only the float32 running sum grows, by about sqrt(k) units of float32 roundoff.
    (u * sqrt(k) would loosen the TF32 and half bounds by sqrt(k): 3x to 56x on the test shapes.)"""
    if precision not in UNIT_ROUNDOFF:
        raise ValueError(f"kernels: unknown precision {precision!r}; one of {list(UNIT_ROUNDOFF)}")
    if k < 1:
        raise ValueError(f"kernels: tolerance needs a reduction length k >= 1, got {k}")
    model = UNIT_ROUNDOFF[precision] + UNIT_ROUNDOFF["fp32"] * math.sqrt(k)
    return TOL_RMS * model, TOL_MAX * model


def conv_reduction_lengths(x_shape, w_shape, stride=1, padding=0, dilation=1,
                           groups=1) -> tuple[int, int, int]:
    """GEMM K of the forward, data-gradient and weight-gradient passes: C/G*R*S, K/G*R*S, N*P*Q."""
    sizes = _conv_sizes(x_shape, w_shape, stride, padding, dilation, groups)
    n, c, _, _, k, r, s, p, q = sizes[:9]
    g = int(groups)
    return c // g * r * s, k // g * r * s, n * p * q


def attention_reduction_lengths(lq: int, lk: int, head_dim: int) -> tuple[int, int]:
    """Longest reduction of the forward (over D and Lk) and of the backward (D, Lq and Lk)."""
    return max(head_dim, lk), max(head_dim, lq, lk)


def error_stats(ours, ref, scale=None) -> tuple[float, float]:
    """(rms(ours - ref), max|ours - ref|) / scale on host arrays, in float64; scale defaults to
    rms(ref). Pass a scale where ref itself may vanish (gradients that cancel) or where absolute
    error is what matters (LSE: an error e scales every probability by exp(e))."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    if ours.shape != ref.shape:
        raise ValueError(f"kernels: error_stats of shapes {ours.shape} and {ref.shape}")
    if ref.size == 0:
        return 0.0, 0.0
    diff = ours - ref
    scale = float(np.sqrt(np.mean(ref * ref))) if scale is None else float(scale)
    scale = max(scale, np.finfo(np.float64).tiny)
    return (float(np.sqrt(np.mean(diff * diff))) / scale,
            float(np.max(np.abs(diff))) / scale)


# -- build report (nvcc only, no GPU) --------------------------------------------------------
_PTXAS_ENTRY = re.compile(r"Compiling entry function '(\S+)' for '(\w+)'")
_PTXAS_SPILL = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, "
                          r"(\d+) bytes spill loads")
_PTXAS_REGS = re.compile(r"Used (\d+) registers")
_PTXAS_SMEM = re.compile(r"(\d+) bytes smem")


def _demangle(names: list[str]) -> list[str]:
    tool = shutil.which("c++filt") or shutil.which("cu++filt")
    if not tool or not names:
        return names
    out = subprocess.run([tool], input="\n".join(names), capture_output=True, text=True)
    lines = out.stdout.splitlines()
    return lines if len(lines) == len(names) else names


def ptxas_report(filename: str, arch: str = "sm_90", cache_dir: str | None = None) -> dict:
    """Compile kernels/<filename> with `nvcc -std=c++17 -arch=<arch> -cubin -Xptxas -v` (every
    template instance) and return {kernel: {registers, spill_stores, spill_loads, stack, smem}}.
    Cached by source hash, since a full build takes several seconds."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        raise FileNotFoundError("kernels: nvcc is not on PATH")
    path = kernel_path(filename)
    src = b"".join(p.read_bytes() for p in [path] + included_headers(filename))
    digest = hashlib.sha256(src + arch.encode()).hexdigest()[:16]
    cache = Path(cache_dir or os.environ.get("TINYGRAD_LITE_CACHE",
                                             Path(tempfile.gettempdir()) / "tinygrad_lite_ptxas"))
    log_file = cache / f"{path.stem}-{arch}-{digest}.log"
    if log_file.is_file():
        text = log_file.read_text()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [nvcc, "-std=c++17", f"-arch={arch}", "-cubin", "-Xptxas", "-v",
                   "-DTL_INSTANTIATE_ALL", f"-I{path.parent}", "-o",
                   str(Path(tmp) / "out.cubin"), str(path)]
            res = subprocess.run(cmd, capture_output=True, text=True)
        text = res.stdout + res.stderr
        if res.returncode != 0:
            raise RuntimeError(f"kernels: nvcc failed on {filename}:\n{text[-4000:]}")
        cache.mkdir(parents=True, exist_ok=True)
        log_file.write_text(text)
    mangled, rows, cur = [], [], None
    for line in text.splitlines():
        m = _PTXAS_ENTRY.search(line)
        if m:
            cur = {"registers": None, "spill_stores": 0, "spill_loads": 0, "stack": 0, "smem": 0}
            mangled.append(m.group(1))
            rows.append(cur)
            continue
        if cur is None:
            continue
        m = _PTXAS_SPILL.search(line)
        if m:
            cur["stack"], cur["spill_stores"], cur["spill_loads"] = (int(g) for g in m.groups())
        m = _PTXAS_REGS.search(line)
        if m:
            cur["registers"] = int(m.group(1))
            sm = _PTXAS_SMEM.search(line)
            cur["smem"] = int(sm.group(1)) if sm else 0
    return dict(zip(_demangle(mangled), rows))
