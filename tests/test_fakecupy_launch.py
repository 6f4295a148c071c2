"""The fake CuPy's kernel launches (tests/fakecupy/launch.py), in pure NumPy: parsing the
`__global__` signatures, resolving name expressions, every launch check, and each emulated
kernel against the float64 references of tinygrad_lite/ops."""
import math

import numpy as np
import pytest

from fakecupy import launch as L
from fakecupy.array import FakeArray
from tinygrad_lite.backend import kernels
from tinygrad_lite.ops.attention_ref import (attention_reference_backward,
                                             attention_reference_forward)
from tinygrad_lite.ops.conv_ref import (conv2d_reference_backward_data,
                                        conv2d_reference_backward_weight,
                                        conv2d_reference_forward)

CONV = kernels.kernel_path("conv2d.cu").read_text()
ATTN = kernels.kernel_path("attention.cu").read_text()
NULL = np.uint64(0)
I32 = np.int32
# rounding of one store into the storage type, relative
EPS = {"float": 1e-6, "__half": 2**-10, "__nv_bfloat16": 2**-7}
NP_DTYPE = {"float": np.float32, "__half": np.float16, "__nv_bfloat16": np.uint16}
MODE = {"float": 1, "__half": 2, "__nv_bfloat16": 2}


def dev(a) -> FakeArray:
    """A device array on a 64-byte boundary, as CuPy's allocator gives."""
    a = np.ascontiguousarray(a)
    buf = np.empty(a.nbytes + 64, np.uint8)
    off = -buf.ctypes.data % 64
    out = buf[off:off + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return FakeArray(out)


def to_storage(x, ctype):
    x = np.asarray(x, np.float64)
    return L.float_to_bf16_bits(x) if ctype == "__nv_bfloat16" else x.astype(NP_DTYPE[ctype])


def to_f64(a, ctype):
    a = a._a if isinstance(a, FakeArray) else a
    return L.bf16_bits_to_float(a).astype(np.float64) if ctype == "__nv_bfloat16" else \
        a.astype(np.float64)


def close(got, want, ctype, scale=1.0):
    """Only the final store's rounding separates the emulation from the reference."""
    np.testing.assert_allclose(got, want, rtol=EPS[ctype], atol=EPS[ctype] * scale)


@pytest.fixture(autouse=True)
def _fresh_counts():
    L.reset()
    yield
    L.reset()


# -- parsing and resolving -------------------------------------------------------------------
def test_parse_finds_every_kernel_of_both_files():
    conv, attn = L.parse_kernels(CONV), L.parse_kernels(ATTN)
    assert {k: len(v.params) for k, v in conv.items()} == {"conv2d_igemm": 21, "conv2d_cast": 3}
    assert {k: len(v.params) for k, v in attn.items()} == {
        "attn_fwd": 11, "attn_bwd_delta": 4, "attn_bwd": 15, "attn_cast": 3}
    ig = conv["conv2d_igemm"]
    assert ig.template == (("typename", "T"), ("int", "MODE"), ("int", "PASS"))
    assert ig.launch_bounds == ("tl::CONV_NT", "4") and not ig.dynamic_smem
    assert ig.params[0] == L.Param("const T*", "T", True, True, True, "a_src")
    assert ig.params[3].type == "float*" and not ig.params[3].const
    assert [p.name for p in ig.params[4:]] == ["N", "C", "H", "W", "K", "R", "S", "P", "Q", "sh",
                                               "sw", "ph", "pw", "dh", "dw", "G", "k_per_split"]
    assert attn["attn_fwd"].dynamic_smem and attn["attn_bwd"].dynamic_smem
    assert attn["attn_fwd"].launch_bounds == ("NT", "2")
    assert attn["attn_cast"].params[2].type == "long long"
    assert attn["attn_fwd"].params[5] == L.Param("const int*", "int", True, True, True, "kv_len")


def test_parse_other_spellings():
    src = r'''
    // __global__ void in_a_comment(int x) {}
    extern "C" __global__ void plain(unsigned n, const float* __restrict__ x, float* y) { }
    extern "C" {
    __global__ __launch_bounds__(2 * 64) void inner(long long int n, double* out) { extern
        __shared__ float s[]; }
    }
    __global__ void declared_only(int n);
    template __global__ void plain<float>(float*);
    '''
    ks = L.parse_kernels(src)
    assert set(ks) == {"plain", "inner"}
    assert ks["plain"].extern_c and ks["inner"].extern_c
    assert [p.type for p in ks["plain"].params] == ["unsigned int", "const float*", "float*"]
    assert ks["inner"].params[0].type == "long long" and ks["inner"].dynamic_smem
    assert L.resolve(ks, "inner").threads == 128


@pytest.mark.parametrize("filename", kernels.SOURCES)
def test_every_name_expression_resolves(filename):
    ks = L.parse_kernels(kernels.kernel_path(filename).read_text())
    for name in kernels._name_expressions(filename):
        inst = L.resolve(ks, name)
        assert all(p.base != "T" for p in inst.params), name
        if inst.kernel.name in ("attn_fwd", "attn_bwd"):
            assert inst.threads == inst.values["NT"]
            d, t = inst.values["D"], inst.types["T"]
            assert L._attn_smem(inst) == kernels.attention_smem_bytes(
                d, L._SIZEOF[t], inst.kernel.name == "attn_bwd"), name


def test_resolve_substitutes_types_and_values():
    inst = L.resolve(L.parse_kernels(ATTN), "attn_fwd< __half, 2, 64, 64, 64, 128 >")
    assert [p.type for p in inst.params[:6]] == ["const __half*"] * 3 + ["__half*", "float*",
                                                                         "const int*"]
    assert inst.values == {"MODE": 2, "D": 64, "BM": 64, "BN": 64, "NT": 128}
    assert inst.threads == 128
    cast = L.resolve(L.parse_kernels(CONV), "conv2d_cast<__nv_bfloat16>")
    assert [p.type for p in cast.params] == ["const float*", "__nv_bfloat16*", "int"]
    assert cast.threads is None
    assert L.resolve(L.parse_kernels(CONV), "conv2d_igemm<float,0,2>").threads == 128


@pytest.mark.parametrize("name, words", [
    ("conv2d_nope<float>", "not a kernel"),
    ("attn_cast", "template arguments"),
    ("attn_fwd<float,1,64,64,64>", "template arguments"),
    ("attn_fwd<float,1,64,64,64,128,3>", "template arguments"),
    ("conv2d_igemm<1,0,0>", "not a known C type"),
    ("conv2d_igemm<float,float,0>", "integer literal"),
    ("conv2d_igemm<float,2,0>", "MODE = 2"),
    ("conv2d_igemm<__half,1,0>", "MODE = 1"),
    ("conv2d_igemm<float,0,3>", "PASS = 3"),
    ("attn_fwd<float,1,48,64,64,128>", "D = 48"),
])
def test_resolve_rejects_unknown_instances(name, words):
    ks = {**L.parse_kernels(CONV), **L.parse_kernels(ATTN)}
    with pytest.raises(ValueError, match=words):
        L.resolve(ks, name)


# -- convolution -----------------------------------------------------------------------------
def conv_args(a, b, out, acc, sizes, kps):
    return (a, b, out, acc, *(I32(v) for v in sizes), I32(kps))


def conv_grid(pass_id, sizes, splits=1):
    n, c, h, w, k, r, s, p, q, *_, g = sizes
    gm, gn = [(n * p * q, k // g), (n * h * w, c // g), (k // g, (c // g) * r * s)][pass_id]
    bm, bn, _ = kernels.CONV_TILE
    return (math.ceil(gm / bm), math.ceil(gn / bn), g * splits)


GEOMS = [  # x shape, w shape, stride, padding, dilation, groups
    ((2, 4, 7, 6), (6, 2, 3, 3), 2, 1, 1, 2),
    ((1, 3, 6, 7), (4, 3, 2, 3), 1, (0, 2), (2, 1), 1),
]


@pytest.mark.parametrize("ctype", ["float", "__half", "__nv_bfloat16"])
@pytest.mark.parametrize("geom", GEOMS)
def test_conv_passes_match_reference(ctype, geom):
    rng = np.random.default_rng(0)
    xs, ws, stride, pad, dil, g = geom
    x = to_f64(to_storage(rng.standard_normal(xs), ctype), ctype)
    w = to_f64(to_storage(rng.standard_normal(ws), ctype), ctype)
    sizes = kernels._conv_sizes(xs, ws, stride, pad, dil, g)
    n, c, h, wd, k, r, s, p, q = sizes[:9]
    dy = to_f64(to_storage(rng.standard_normal((n, k, p, q)), ctype), ctype)
    geo = dict(stride=stride, padding=pad, dilation=dil, groups=g)
    mode, bk = MODE[ctype], kernels.CONV_TILE[2]

    y = dev(np.zeros((n, k, p, q), NP_DTYPE[ctype]))
    L.launch(CONV, f"conv2d_igemm<{ctype},{mode},0>", conv_grid(0, sizes), (128,),
             conv_args(dev(to_storage(x, ctype)), dev(to_storage(w, ctype)), y, NULL, sizes,
                       kernels._round_up(c // g * r * s, bk)))
    want = conv2d_reference_forward(x, w, **geo)
    close(to_f64(y, ctype), want, ctype, np.abs(want).max())

    dx = dev(np.zeros(xs, NP_DTYPE[ctype]))
    L.launch(CONV, f"conv2d_igemm<{ctype},{mode},1>", conv_grid(1, sizes), (128,),
             conv_args(dev(to_storage(dy, ctype)), dev(to_storage(w, ctype)), dx, NULL,
                       sizes, kernels._round_up(k // g * r * s, bk)))
    want = conv2d_reference_backward_data(dy, w, xs, **geo)
    close(to_f64(dx, ctype), want, ctype, np.abs(want).max())

    # split-K over grid z (the kernel takes any k_per_split), adding onto what the buffer holds
    kps = 8
    splits = math.ceil(n * p * q / kps)
    assert splits > 1
    base = rng.standard_normal(ws).astype(np.float32)
    acc = dev(base)
    L.launch(CONV, f"conv2d_igemm<{ctype},{mode},2>", conv_grid(2, sizes, splits), (128,),
             conv_args(dev(to_storage(dy, ctype)), dev(to_storage(x, ctype)), NULL, acc,
                       sizes, kps))
    want = base + conv2d_reference_backward_weight(x, dy, ws, **geo)
    close(acc._a, want, "float", np.abs(want).max())
    assert L.LAUNCHES == {"conv2d_igemm": 3}


def test_conv_grid_covers_only_its_tiles():
    xs, ws = (1, 2, 9, 9), (4, 2, 1, 1)            # GEMM M = 81: two row tiles
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(xs).astype(np.float32), rng.standard_normal(ws).astype(np.float32)
    sizes = kernels._conv_sizes(xs, ws, 1, 0, 1, 1)
    y = dev(np.full((1, 4, 9, 9), np.nan, np.float32))
    L.launch(CONV, "conv2d_igemm<float,0,0>", (1, 1, 1), (128,),
             conv_args(dev(x), dev(w), y, NULL, sizes, 32))
    got, want = y._a.reshape(4, 81), conv2d_reference_forward(x, w).reshape(4, 81)
    np.testing.assert_allclose(got[:, :64], want[:, :64], rtol=1e-6)
    assert np.isnan(got[:, 64:]).all()              # the block that would own them never ran
    # a short k_per_split reduces over part of K only: here none of C*R*S = 2 beyond 1
    y2 = dev(np.zeros((1, 4, 9, 9), np.float32))
    L.launch(CONV, "conv2d_igemm<float,0,0>", (2, 1, 1), (128,),
             conv_args(dev(x), dev(w), y2, NULL, sizes, 1))
    w1 = w.copy()
    w1[:, 1:] = 0
    np.testing.assert_allclose(y2._a, conv2d_reference_forward(x, w1), rtol=1e-6)


def test_conv_forward_splits_race():
    xs, ws = (1, 2, 4, 4), (2, 2, 1, 1)
    sizes = kernels._conv_sizes(xs, ws, 1, 0, 1, 1)
    x, w = dev(np.ones(xs, np.float32)), dev(np.ones(ws, np.float32))
    y = dev(np.zeros((1, 2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="race"):
        L.launch(CONV, "conv2d_igemm<float,0,0>", (1, 1, 2), (128,),
                 conv_args(x, w, y, NULL, sizes, 32))


@pytest.mark.parametrize("name, ctype, nbits", [("conv2d_cast<__half>", "__half", "int"),
                                                ("conv2d_cast<__nv_bfloat16>", "__nv_bfloat16",
                                                 "int"),
                                                ("attn_cast<float>", "float", "long long"),
                                                ("attn_cast<__half>", "__half", "long long")])
def test_casts(name, ctype, nbits):
    src = CONV if name.startswith("conv") else ATTN
    acc = np.random.default_rng(2).standard_normal(1000).astype(np.float32)
    out = dev(np.zeros(1000, NP_DTYPE[ctype]))
    n = I32(999) if nbits == "int" else np.int64(999)
    L.launch(src, name, (2,), (256,), (dev(acc), out, n))    # grid-stride: 2 blocks do it all
    close(to_f64(out, ctype)[:999], acc[:999], ctype, 4)
    assert out._a[999] == 0


def test_bf16_rounds_to_nearest_even():
    x = np.array([1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8 + 2**-30), 2.0**-130, np.inf, 3.4e38,
                  np.nan])
    got = L.bf16_bits_to_float(L.float_to_bf16_bits(x))
    np.testing.assert_array_equal(got[:6], [1.0, 1 + 2**-6, -(1 + 2**-7), 2.0**-130, np.inf,
                                            np.inf])
    assert np.isnan(got[6])


# -- attention -------------------------------------------------------------------------------
B, H, LQ, LK, D = 2, 1, 70, 50, 32                    # Lq > 64: two query tiles


def attn_inputs(ctype, seed=3):
    rng = np.random.default_rng(seed)
    q, k, v, do = (to_f64(to_storage(rng.standard_normal(s), ctype), ctype)
                   for s in ((B, H, LQ, D), (B, H, LK, D), (B, H, LK, D), (B, H, LQ, D)))
    return q, k, v, do


def run_fwd(ctype, q, k, v, causal, kv_len, grid=None, smem=None, scale=0.3):
    bm, _, nt = kernels.ATTN_FWD_TILE
    need = kernels.attention_smem_bytes(D, np.dtype(NP_DTYPE[ctype]).itemsize, False)
    o = dev(np.full(q.shape, to_storage(np.nan, ctype)))            # NaN: never written
    lse = dev(np.full(q.shape[:3], np.nan, np.float32))
    kl = NULL if kv_len is None else dev(np.asarray(kv_len, np.int32))
    L.launch(ATTN, f"attn_fwd<{ctype},{MODE[ctype]},{D},64,64,{nt}>",
             grid or (math.ceil(LQ / bm), B * H), (nt,),
             (dev(to_storage(q, ctype)), dev(to_storage(k, ctype)), dev(to_storage(v, ctype)), o,
              lse, kl, I32(H), I32(LQ), I32(LK), np.float32(scale * L.LOG2E), I32(causal)),
             shared_mem=need if smem is None else smem, max_dynamic_shared_size_bytes=need)
    return o, lse


@pytest.mark.parametrize("ctype", ["float", "__half", "__nv_bfloat16"])
@pytest.mark.parametrize("causal, kv_len", [(False, None), (True, None), (True, [0, 33]),
                                            (False, [77, 5])])
def test_attention_forward_matches_reference(ctype, causal, kv_len):
    q, k, v, _ = attn_inputs(ctype)
    o, lse = run_fwd(ctype, q, k, v, causal, kv_len)
    scale = float(np.float32(0.3 * L.LOG2E)) / L.LOG2E
    want_o, want_lse = attention_reference_forward(q, k, v, scale, causal, kv_len=kv_len)
    close(to_f64(o, ctype), want_o, ctype, 1)
    close(lse._a, want_lse, "float", 1)               # natural log; -inf where no key is seen
    assert L.LAUNCHES == {"attn_fwd": 1}


def test_attention_forward_grid_covers_only_its_rows():
    q, k, v, _ = attn_inputs("float")
    o, lse = run_fwd("float", q, k, v, False, None, grid=(1, B * H - 1))
    assert not np.isnan(o._a[0, 0, :64]).any() and np.isnan(o._a[0, 0, 64:]).all()
    assert np.isnan(o._a[1]).all() and np.isnan(lse._a[1]).all()


@pytest.mark.parametrize("ctype", ["float", "__half"])
@pytest.mark.parametrize("causal, kv_len", [(False, None), (True, [0, 33])])
def test_attention_backward_matches_reference(ctype, causal, kv_len):
    q, k, v, do = attn_inputs(ctype, seed=4)
    scale = 0.3
    o64, lse64 = attention_reference_forward(q, k, v, scale, causal, kv_len=kv_len)
    o = to_f64(to_storage(o64, ctype), ctype)
    rows = B * H * LQ
    delta = dev(np.full((B, H, LQ), np.nan, np.float32))
    L.launch(ATTN, f"attn_bwd_delta<{ctype},{D}>", (math.ceil(rows / 8),), (256,),
             (dev(to_storage(o, ctype)), dev(to_storage(do, ctype)), delta, I32(rows)))
    close(delta._a, (o * do).sum(-1), "float", 10)

    bm, bn, nt = kernels.ATTN_BWD_TILE
    need = kernels.attention_smem_bytes(D, np.dtype(NP_DTYPE[ctype]).itemsize, True)
    dq_acc = dev(np.ones(q.shape, np.float32))       # accumulates onto what it holds
    dk, dv = (dev(np.full(k.shape, np.nan, NP_DTYPE[ctype])) for _ in range(2))
    kl = NULL if kv_len is None else dev(np.asarray(kv_len, np.int32))
    L.launch(ATTN, f"attn_bwd<{ctype},{MODE[ctype]},{D},{bm},{bn},{nt}>",
             (math.ceil(LK / bn), B * H), (nt,),
             (dev(to_storage(q, ctype)), dev(to_storage(k, ctype)), dev(to_storage(v, ctype)),
              dev(to_storage(do, ctype)), dev(lse64.astype(np.float32)), delta, dq_acc, dk, dv,
              kl, I32(H), I32(LQ), I32(LK), np.float32(scale), I32(causal)),
             shared_mem=need, max_dynamic_shared_size_bytes=need)
    want = attention_reference_backward(q, k, v, o, lse64, do, scale, causal, kv_len=kv_len)
    # the kernel takes LSE as float32 and delta from its own launch: that much looser
    tol = dict(rtol=1e-5, atol=1e-5) if ctype == "float" else dict(rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(dq_acc._a, 1 + want[0], **tol)
    np.testing.assert_allclose(to_f64(dk, ctype), want[1], **tol)
    np.testing.assert_allclose(to_f64(dv, ctype), want[2], **tol)
    assert L.LAUNCHES == {"attn_bwd_delta": 1, "attn_bwd": 1}


def test_attention_backward_grid_covers_only_its_keys():
    q, k, v, do = attn_inputs("float")
    lk = 80                                            # two key tiles, the grid covers one
    k = np.concatenate([k, k[:, :, :30]], 2)
    v = np.concatenate([v, v[:, :, :30]], 2)
    need = kernels.attention_smem_bytes(D, 4, True)
    dq_acc = dev(np.zeros(q.shape, np.float32))
    dk, dv = (dev(np.full(k.shape, np.nan, np.float32)) for _ in range(2))
    L.launch(ATTN, f"attn_bwd<float,0,{D},64,64,256>", (1, B * H), (256,),
             (dev(q.astype(np.float32)), dev(k.astype(np.float32)), dev(v.astype(np.float32)),
              dev(do.astype(np.float32)), dev(np.zeros((B, H, LQ), np.float32)),
              dev(np.zeros((B, H, LQ), np.float32)), dq_acc, dk, dv, NULL, I32(H), I32(LQ),
              I32(lk), np.float32(0.2), I32(0)), shared_mem=need,
             max_dynamic_shared_size_bytes=need)
    assert not np.isnan(dk._a[:, :, :64]).any() and np.isnan(dk._a[:, :, 64:]).all()
    assert np.isnan(dv._a[:, :, 64:]).all()


# -- every check fires -----------------------------------------------------------------------
def fwd_call(**change):
    """A valid attn_fwd<float,1,32,...> launch, with `change` applied to its pieces."""
    need = kernels.attention_smem_bytes(D, 4, False)
    arr = {"q": (B, H, LQ, D), "k": (B, H, LK, D), "v": (B, H, LK, D), "o": (B, H, LQ, D),
           "lse": (B, H, LQ)}
    args = [dev(np.zeros(arr[n], np.float32)) for n in arr] + [
        NULL, I32(H), I32(LQ), I32(LK), np.float32(0.5), I32(0)]
    for i, value in change.pop("args", {}).items():
        args[i] = value
    args += list(change.pop("extra", ()))
    call = dict(grid=(2, B * H), block=(128,), args=tuple(args), shared_mem=need,
                max_dynamic_shared_size_bytes=need,
                name_expression=f"attn_fwd<float,1,{D},64,64,128>")
    call.update(change)
    L.launch(ATTN, **call)


def test_valid_call_passes():
    fwd_call()
    assert L.LAUNCHES["attn_fwd"] == 1



@pytest.mark.parametrize("change, error, words", [
    (dict(args={6: 1}), TypeError, r"argument 6 \(H, int\).*Python int.*long long"),
    (dict(args={7: np.int64(LQ)}), TypeError, r"argument 7 \(Lq, int\): expected np.int32.*int64"),
    (dict(args={9: 0.5}), TypeError, r"argument 9 \(scale_log2.*Python float"),
    (dict(args={9: np.float64(0.5)}), TypeError, "expected np.float32"),
    (dict(args={10: True}), TypeError, "Python bool"),
    (dict(args={0: dev(np.zeros((B, H, LQ, D), np.float16))}), TypeError,
     r"argument 0 \(Qg, const float\*\): expected a float32 array, got float16"),
    (dict(args={5: dev(np.zeros(B, np.int64))}), TypeError, "expected a int32 array"),
    (dict(args={0: np.zeros((B, H, LQ, D), np.float32)}), TypeError, "host numpy array"),
    (dict(args={0: None}), TypeError, "np.uint64"),
    (dict(args={6: dev(np.zeros(1, np.int32))}), TypeError, "expected np.int32, got a device"),
    (dict(args={3: FakeArray(np.zeros((B, H, D, LQ), np.float32).swapaxes(2, 3))}), ValueError,
     r"argument 3 \(Og.*not C-contiguous"),
    (dict(args={1: FakeArray(dev(np.zeros(B * H * LK * D + 1, np.float32))._a[1:])}),
     ValueError, r"argument 1 \(Kg.*4 bytes past a 16-byte boundary"),
    (dict(args={3: NULL}), ValueError, r"argument 3 \(Og\) is null"),
    (dict(args={4: dev(np.zeros(B * H * LQ - 1, np.float32))}), ValueError,
     r"LSEg\) has 139 elements.*writes 140"),
    (dict(args={6: I32(0)}), ValueError, "H must be >= 1"),
    (dict(args={3: "o"}), TypeError, "Python str"),
    (dict(block=(256,)), ValueError, "built for exactly 128"),
    (dict(block=(64, 2)), ValueError, "one-dimensional"),
    (dict(block=(2048,)), ValueError, r"block\[0\] = 2048 is outside"),
    (dict(block=(32, 32, 2)), ValueError, "2048 threads, more than 1024"),
    (dict(block=128), TypeError, "block must be a tuple"),
    (dict(grid=(2, 65536)), ValueError, r"grid\[1\] = 65536 is outside \[1, 65535\]"),
    (dict(grid=(0, 2)), ValueError, r"grid\[0\] = 0"),
    (dict(grid=(2, 2, 2)), ValueError, "does not read blockIdx.z"),
    (dict(grid=(2.0, 2)), TypeError, r"grid\[0\] must be an int"),
    (dict(max_dynamic_shared_size_bytes=0), ValueError, "without the opt-in"),
    (dict(shared_mem=1024, max_dynamic_shared_size_bytes=0), ValueError,
     "lays out 60160 bytes.*shared_mem = 1024"),
    (dict(shared_mem=228 * 1024, max_dynamic_shared_size_bytes=228 * 1024), ValueError,
     "exceed the 232448 bytes"),
    (dict(extra=(I32(0),)), TypeError, r"expected 11 arguments \(const float\* Qg.*got 12"),
    (dict(name_expression="attn_fwd<float,1,32,64,64>"), ValueError, "template arguments"),
    (dict(name_expression="attn_fwd_v2<float>"), ValueError, "not a kernel of this source"),
])
def test_each_check_fires(change, error, words):
    with pytest.raises(error, match=words):
        fwd_call(**change)
    assert not L.LAUNCHES


def test_wrong_arg_count_and_aliasing():
    a = dev(np.zeros(1000, np.float32))
    with pytest.raises(TypeError, match=r"expected 3 arguments .*got 2"):
        L.launch(CONV, "conv2d_cast<__half>", (1,), (256,), (a, I32(4)))
    with pytest.raises(ValueError, match=r"arguments 0 \(acc\) and 1 \(out\) overlap"):
        L.launch(ATTN, "attn_cast<float>", (1,), (256,), (a, a, np.int64(4)))
    with pytest.raises(TypeError, match=r"argument 2 \(n, int\).*Python int"):
        L.launch(CONV, "conv2d_cast<__half>", (1,), (256,),
                 (a, dev(np.zeros(4, np.float16)), 4))


def test_launch_counter_counts_base_names():
    a, b = dev(np.ones(8, np.float32)), dev(np.zeros(8, np.float16))
    for _ in range(3):
        L.launch(ATTN, "attn_cast<__half>", (1,), (64,), (a, b, np.int64(8)))
    L.launch(CONV, "conv2d_cast<__half>", (1,), (64,), (a, b, I32(8)))
    assert L.LAUNCHES == {"attn_cast": 3, "conv2d_cast": 1}
    L.reset()
    assert not L.LAUNCHES
