"""Packaging for tinygrad_lite. Runtime needs NumPy only; everything else is an extra."""
from setuptools import find_packages, setup

TEST = [
    "pytest>=7",
    "hypothesis>=6.80",
    # Pinned on purpose: the development and CI machines hold a CPU wheel of exactly this
    # version on local disk; any other version pulls a multi-GB CUDA build from PyPI.
    "torch==2.13.0",
    "scikit-learn>=1.3",   # the bundled digits / breast-cancer data used by the examples and CLI
    "tqdm>=4.60",
    "matplotlib>=3.7",
    "scipy>=1.10",
    # the "cuda" half on the CPU: the strict CuPy stand-in reads names and signatures from the
    # real CuPy (it imports without a GPU), and the NVRTC test compiles every kernel instance
    # with CUDA's headers from these wheels (crt/mma.h lives in nvidia-cuda-crt)
    "cupy-cuda13x>=14",
    "nvidia-cuda-nvrtc==13.*",
    "nvidia-cuda-runtime==13.*",
    "nvidia-cuda-crt==13.*",
    # multi-process tests: mpi4py with MPICH's wheel (a working mpiexec without a system MPI)
    "mpi4py>=4",
    "mpich>=4",
    "threadpoolctl>=3",
    "safetensors>=0.4",
    "onnx>=1.14",
    "onnxruntime>=1.16",
    "ml_dtypes>=0.3",      # bfloat16 on the CPU
]

setup(
    name="tinygrad_lite",
    version="0.1.0",
    description="A small reverse-mode autograd engine with PyTorch's names, on NumPy or CuPy",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["tinygrad_lite", "tinygrad_lite.*", "benchmarks"]),
    # the CUDA sources travel with the package (the kernel loader looks in
    # <sys.prefix>/share/tinygrad_lite/kernels), so a non-editable install finds them
    data_files=[("share/tinygrad_lite/kernels", ["kernels/conv2d.cu", "kernels/attention.cu",
                                                 "kernels/tile_mma.cuh"])],
    install_requires=["numpy>=1.24"],
    extras_require={
        "cli": ["scikit-learn>=1.3", "tqdm>=4.60", "matplotlib>=3.7", "threadpoolctl>=3"],
        "test": TEST,
        "cuda": ["cupy-cuda13x>=14"],
        "distributed": ["mpi4py>=4", "mpich>=4"],
        "formats": ["safetensors>=0.4", "onnx>=1.14"],
        "bf16": ["ml_dtypes>=0.3"],
    },
    entry_points={"console_scripts": ["tinygrad-lite=tinygrad_lite.cli:main"]},
)
