"""kernels/*.cu without a GPU: nvcc builds every template instance for sm_90 with no register
spills in the hot kernels, the loader's tables match the sources, and the Python side works."""
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tinygrad_lite.backend import kernels

HOT = ("conv2d_igemm<", "attn_fwd<", "attn_bwd<")
needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not on PATH")


@pytest.fixture(scope="module")
def reports():
    """ptxas -v of both sources, built in parallel once per session (and cached by source hash)."""
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not on PATH")
    with ThreadPoolExecutor(2) as pool:
        got = list(pool.map(kernels.ptxas_report, kernels.SOURCES))
    return dict(zip(kernels.SOURCES, got))


def _short(demangled: str) -> str:
    """'void attn_fwd<float, 1, 64>(float const*, ...)' -> 'attn_fwd<float,1,64>'"""
    name = demangled.split("(")[0].replace("void ", "", 1)
    return name.replace(" ", "")


@needs_nvcc
@pytest.mark.parametrize("source", kernels.SOURCES)
def test_every_loader_instance_is_built(reports, source):
    built = {_short(k) for k in reports[source]}
    wanted = set(kernels._name_expressions(source))
    assert wanted <= built, f"not instantiated for nvcc: {sorted(wanted - built)}"


@needs_nvcc
@pytest.mark.parametrize("source", kernels.SOURCES)
def test_hot_kernels_do_not_spill(reports, source):
    hot = {k: v for k, v in reports[source].items() if any(h in k for h in HOT)}
    assert hot, f"no hot kernels found in {source}"
    for name, r in hot.items():
        assert r["spill_stores"] == 0 and r["spill_loads"] == 0, f"{name} spills: {r}"
        assert r["stack"] == 0, f"{name} uses a stack frame: {r}"
        assert r["registers"] is not None and r["registers"] <= 255, f"{name}: {r}"
    for name, r in reports[source].items():
        assert r["smem"] <= 48 * 1024, f"{name}: static shared memory above 48 KB: {r}"


SMEM_CHECK = """
#include "attention.cu"
{asserts}
"""


@needs_nvcc
def test_python_shared_memory_sizes_match_the_kernels(tmp_path):
    """kernels.attention_smem_bytes mirrors FwdSmem / BwdSmem: checked by static_assert in nvcc."""
    lines = []
    for t, size in (("float", 4), ("__half", 2), ("__nv_bfloat16", 2)):
        for d in kernels.ATTN_HEAD_DIMS:
            fm, fn, _ = kernels.ATTN_FWD_TILE
            bm, bn, _ = kernels.ATTN_BWD_TILE
            lines.append(f"static_assert(tl::FwdSmem<{t}, {d}, {fm}, {fn}>::BYTES == "
                         f"{kernels.attention_smem_bytes(d, size, False)}, \"fwd {t} {d}\");")
            lines.append(f"static_assert(tl::BwdSmem<{t}, {d}, {bm}, {bn}>::BYTES == "
                         f"{kernels.attention_smem_bytes(d, size, True)}, \"bwd {t} {d}\");")
    src = tmp_path / "smem_check.cu"
    src.write_text(SMEM_CHECK.format(asserts="\n".join(lines)))
    path = kernels.kernel_path("attention.cu")
    res = subprocess.run(["nvcc", "-std=c++17", "-arch=sm_90", "-cubin", f"-I{path.parent}",
                          "-o", str(tmp_path / "x.cubin"), str(src)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]


@pytest.mark.parametrize("source", kernels.SOURCES + ("tile_mma.cuh",))
def test_sources_are_nvrtc_friendly(source):
    """Device headers only; every function is __device__ or __global__; no host code."""
    text = kernels.kernel_path(source).read_text()
    includes = re.findall(r'#include\s+[<"]([^>"]+)[>"]', text)
    assert set(includes) <= {"cuda_fp16.h", "cuda_bf16.h", "mma.h", "tile_mma.cuh"}, includes
    assert "std::" not in text and "printf" not in text
    for m in re.finditer(r"^(?:template <[^\n]*>\s*)?(?:static\s+)?(?:inline\s+)?"
                         r"(void|float|int|T)\s+\w+\(", text, re.M):
        pytest.fail(f"{source}: function without __device__/__global__: {m.group(0)!r}")


def test_stats_and_switches():
    kernels.reset_stats()
    kernels.record("conv2d_forward", True)
    kernels.record("conv2d_forward", False)
    kernels.record("attention_forward", False)
    assert kernels.stats() == {"conv2d_forward": {"kernel": 1, "fallback": 1},
                               "attention_forward": {"kernel": 0, "fallback": 1}}
    from tinygrad_lite.backend import kernel_stats, reset_kernel_stats
    assert kernel_stats() == kernels.stats()
    reset_kernel_stats()
    assert kernels.stats() == {}
    old = kernels.get_allow_tf32()
    try:
        kernels.set_allow_tf32(False)
        assert kernels._mode("float") == kernels.MODE_EXACT
        assert kernels._mode("float", tf32=True) == kernels.MODE_TF32
        assert kernels._mode("__half") == kernels.MODE_HALF
        kernels.set_allow_tf32(True)
        assert kernels._mode("float") == kernels.MODE_TF32
    finally:
        kernels.set_allow_tf32(old)


def test_supports_predicates():
    f32 = np.float32
    q = np.zeros((2, 3, 100, 64), f32)
    k = np.zeros((2, 3, 77, 64), f32)
    assert kernels.supports_attention(q, k, k, causal=True)
    assert kernels.supports_attention(q.astype(np.float16), k.astype(np.float16),
                                      k.astype(np.float16))
    assert not kernels.supports_attention(q, k, k, mask=np.ones((100, 77), bool))
    assert not kernels.supports_attention(q, k, k, dropout_p=0.1)
    assert not kernels.supports_attention(q[..., :48], k[..., :48], k[..., :48])  # head_dim 48
    assert not kernels.supports_attention(q.astype(np.float64), k.astype(np.float64),
                                          k.astype(np.float64))
    assert not kernels.supports_attention(q[0], k[0], k[0])
    x = np.zeros((2, 4, 9, 9), f32)
    assert kernels.supports_conv(x, np.zeros((6, 2, 3, 3), f32), 2, 1, 2, 2)
    assert not kernels.supports_conv(x, np.zeros((6, 3, 3, 3), f32), groups=2)
    assert not kernels.supports_conv(x, np.zeros((6, 4, 11, 11), f32))     # kernel too big
    assert not kernels.supports_conv(x.astype(np.float64), np.zeros((6, 4, 3, 3)))
    for d in kernels.ATTN_HEAD_DIMS:
        for size in (2, 4):
            assert kernels.attention_smem_bytes(d, size, True) <= kernels.MAX_SMEM


def test_split_k_covers_the_reduction():
    for gm, gn, gk, g in [(64, 576, 32 * 56 * 56, 1), (64, 147, 32 * 112 * 112, 1),
                          (3, 9, 10, 1), (256, 2304, 32 * 14 * 14, 1), (8, 9, 50, 4)]:
        splits, kps = kernels.conv_split_k(gm, gn, gk, g)
        assert kps % kernels.CONV_TILE[2] == 0 and splits * kps >= gk > (splits - 1) * kps


def test_kernel_sources_are_found():
    for f in kernels.SOURCES:
        assert kernels.kernel_path(f).is_file()
    with pytest.raises(FileNotFoundError, match="TINYGRAD_LITE_KERNELS"):
        kernels.kernel_path("missing.cu")
