"""Every kernel instance through NVRTC, without a GPU, built as cupy.RawModule would build it.

nvcc accepting a source proves nothing about NVRTC (no host headers, its own include search), so
this drives CuPy's NVRTC binding directly with the loader's source, name expressions and options
(`kernels.compile_options`) plus what CuPy 14 appends on the way to nvrtcCompileProgram:
  cupy/_core/_compile_with_cache.pyx, assemble_cupy_compiler_options: its bundled CCCL -I's
      first, then ours, then -I cupy/_core/include and -I <the CUDA it found>/include;
  cupy/cuda/compiler.py, _compile_with_cache_cuda: -ftz=true;
  cupy/cuda/compiler.py, _compile_using_nvrtc_no_warning: -arch=sm_90 for a compute capability
      9.0 device (H100/H200; compute_90 and PTX under CUPY_COMPILE_WITH_PTX=1), then
      --device-as-default-execution-space, and --pch under CUPY_NVRTC_USE_PCH=1.
Tests skip only where CuPy or its NVRTC library cannot be loaded, with a reason starting "nvrtc:".
"""
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tinygrad_lite.backend import kernels

ARCH = "90"                  # what CuPy targets on an H100 / H200
INSTANCES = 50               # every name expression of conv2d.cu and attention.cu


def _load_nvrtc():
    """(nvrtc binding, (major, minor)), or skip: the one thing that may legitimately be absent."""
    try:
        from cupy_backends.cuda.libs import nvrtc
    except ImportError as e:
        pytest.skip(f"nvrtc: CuPy is not installed ({e}); pip install cupy-cuda13x")
    try:
        version = tuple(nvrtc.getVersion())
    except Exception as e:   # the binding raises whatever the dynamic loader gave it
        pytest.skip(f"nvrtc: the NVRTC library cannot be loaded ({type(e).__name__}: {e}); "
                    "pip install nvidia-cuda-nvrtc")
    return nvrtc, version


def cupy_nvrtc_options(filename: str, nvrtc_version: tuple) -> tuple[tuple, str]:
    """The options cupy.RawModule hands NVRTC for kernels/<filename> on an sm_90 device, and
    whether it keeps the cubin or the PTX (see the module docstring for where each comes from)."""
    from cupy._core import core
    from cupy.cuda import compiler
    options = core.assemble_cupy_compiler_options(kernels.compile_options(filename))
    options += ("-ftz=true",)
    use_ptx = getattr(compiler, "_use_ptx", False)
    options += (f"-arch=compute_{ARCH}" if use_ptx else f"-arch=sm_{ARCH}",)
    options += ("--device-as-default-execution-space",)
    if getattr(compiler, "_use_pch", False) and nvrtc_version >= (12, 8):
        options += ("--pch",)
    return options, "ptx" if use_ptx else "cubin"


def _build(nvrtc, version, filename: str, program_dir: Path) -> dict:
    options, kind = cupy_nvrtc_options(filename, version)
    names = kernels._name_expressions(filename)
    source = kernels.kernel_path(filename).read_text()
    start = time.perf_counter()
    # CuPy names the program after a file in a temporary directory, so quoted includes are
    # found through -I only, as here
    prog = nvrtc.createProgram(source, str(program_dir / filename), (), ())
    try:
        for name in names:
            nvrtc.addNameExpression(prog, name)
        try:
            nvrtc.compileProgram(prog, options)
            error = None
        except nvrtc.NVRTCError as e:
            error = str(e)
        log = nvrtc.getProgramLog(prog)
        lowered, binary = {}, b""
        if error is None:
            lowered = {name: nvrtc.getLoweredName(prog, name) for name in names}
            binary = nvrtc.getCUBIN(prog) if kind == "cubin" else nvrtc.getPTX(prog)
    finally:
        nvrtc.destroyProgram(prog)
    return {"options": options, "names": names, "error": error, "log": log,
            "lowered": lowered, "binary": binary, "seconds": time.perf_counter() - start}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Both sources compiled once for the whole module, in parallel (NVRTC releases the GIL)."""
    nvrtc, version = _load_nvrtc()
    program_dir = tmp_path_factory.mktemp("nvrtc")
    with ThreadPoolExecutor(len(kernels.SOURCES)) as pool:
        got = list(pool.map(lambda f: _build(nvrtc, version, f, program_dir), kernels.SOURCES))
    for f, b in zip(kernels.SOURCES, got):
        print(f"nvrtc {version}: {f}: {len(b['names'])} instances in {b['seconds']:.1f} s")
    return dict(zip(kernels.SOURCES, got))


def test_every_instance_is_counted():
    names = [n for f in kernels.SOURCES for n in kernels._name_expressions(f)]
    assert len(names) == len(set(names)) == INSTANCES


@pytest.mark.parametrize("source", kernels.SOURCES)
def test_nvrtc_compiles_without_errors(builds, source):
    b = builds[source]
    assert b["error"] is None, f"{source}: {b['error']}\n{b['log'][-4000:]}"
    assert not re.search(r"\berror\b", b["log"], re.I), b["log"][-4000:]
    assert f"-arch=sm_{ARCH}" in b["options"] or f"-arch=compute_{ARCH}" in b["options"]


@pytest.mark.parametrize("source", kernels.SOURCES)
def test_every_name_expression_is_lowered(builds, source):
    b = builds[source]
    assert b["error"] is None, b["log"][-4000:]
    assert sorted(b["lowered"]) == sorted(b["names"])
    mangled = list(b["lowered"].values())
    assert len(set(mangled)) == len(mangled)
    for name, low in b["lowered"].items():
        assert low.startswith("_Z"), (name, low)
        # the instance was emitted, not just named: its symbol is in the binary
        assert low.encode() in b["binary"], f"{name} ({low}) is not in the {source} binary"


def test_the_loader_options_reach_nvrtc(builds):
    for source, b in builds.items():
        loader = kernels.compile_options(source)
        at = b["options"].index(loader[0])
        assert b["options"][at:at + len(loader)] == loader, source


# -- where crt/mma.h comes from ---------------------------------------------------------------
def test_crt_include_is_found_here():
    _load_nvrtc()                              # where no CUDA is installed at all, skip
    inc = kernels.find_crt_include(kernels._nvrtc_major())
    assert (inc / kernels.CRT_HEADER).is_file()
    assert f"-I{inc}" in kernels.compile_options("conv2d.cu")


def _empty_search_paths(tmp_path, monkeypatch, wheel=True):
    """Point every search place at an empty directory; return those places' include dirs."""
    toolkit = tmp_path / "toolkit"
    (toolkit / "bin").mkdir(parents=True)
    nvcc = toolkit / "bin" / "nvcc"
    nvcc.write_text("#!/bin/sh\n")
    nvcc.chmod(0o755)
    site = tmp_path / "site"
    if wheel:
        (site / "nvidia" / "cu13" / "include").mkdir(parents=True)   # runtime wheel, no crt/
    monkeypatch.setenv("CUDA_PATH", str(tmp_path / "cuda_path"))
    monkeypatch.delenv("CUDA_HOME", raising=False)
    monkeypatch.setattr(kernels, "_SYSTEM_CUDA", tmp_path / "system")
    monkeypatch.setenv("PATH", str(toolkit / "bin"))
    monkeypatch.setattr(sys, "path", [str(site)])
    places = [tmp_path / "cuda_path" / "include", tmp_path / "system" / "include",
              toolkit / "include"]
    return places + ([site / "nvidia" / "cu13" / "include"] if wheel else [])


@pytest.mark.parametrize("wheel", [True, False], ids=["runtime-wheel-only", "no-wheels"])
def test_missing_crt_names_every_place_and_the_package(tmp_path, monkeypatch, wheel):
    places = _empty_search_paths(tmp_path, monkeypatch, wheel)
    with pytest.raises(RuntimeError) as err:
        kernels.find_crt_include()
    msg = str(err.value)
    for place in places:
        assert str(place) in msg
    assert "nvidia-cuda-crt" in msg and kernels.CRT_HEADER in msg
    if not wheel:
        assert "sys.path" in msg
    with pytest.raises(RuntimeError, match="nvidia-cuda-crt"):   # what module() builds with
        kernels.compile_options("conv2d.cu")


def _fake_include(root: Path, cuda_version: int) -> Path:
    inc = root / "include"
    (inc / "crt").mkdir(parents=True)
    (inc / "crt" / "mma.h").write_text("")
    (inc / "cuda.h").write_text(f"#define CUDA_VERSION {cuda_version}\n")
    return inc


def test_search_order_and_version_match(tmp_path, monkeypatch):
    _empty_search_paths(tmp_path, monkeypatch)
    system = _fake_include(tmp_path / "system", 13000)
    assert kernels.find_crt_include(13) == system
    cuda_path = _fake_include(tmp_path / "cuda_path", 12040)
    assert kernels.find_crt_include() == cuda_path           # $CUDA_PATH first
    assert kernels.find_crt_include(13) == system            # ... unless its CUDA major differs
    os.remove(system / "crt" / "mma.h")
    with pytest.raises(RuntimeError, match=r"CUDA 12\.4 headers, but NVRTC is 13"):
        kernels.find_crt_include(13)
