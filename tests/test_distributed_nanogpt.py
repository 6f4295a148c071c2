"""A nanoGPT-style torch script runs on tinygrad_lite under `mpiexec -n 2` with only its imports
changed (tests/test_distributed_nanogpt_script.py is the script)."""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("test_distributed_nanogpt_script.py")
needs_mpi = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None,
                               reason="distributed: mpi4py/mpiexec not installed")


def ported(text: str) -> str:
    """The script with `torch` replaced by `tinygrad_lite` in its import lines and nowhere
    else."""
    lines = []
    for line in text.splitlines():
        if re.match(r"(import|from) torch\b", line):
            line = re.sub(r"^import torch\.(\S+) as", r"import tinygrad_lite.\1 as", line)
            line = re.sub(r"^import torch$", "import tinygrad_lite as torch", line)
            line = re.sub(r"^from torch\b", "from tinygrad_lite", line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def _losses(stdout: str, world: int) -> list:
    found = [float(x) for x in re.findall(rf"epoch \d+ world {world} loss ([0-9.]+)", stdout)]
    assert len(found) == 4, stdout
    return found


def _run(cmd, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        env.pop(key, None)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc.stdout


def test_only_import_lines_change():
    text = SCRIPT.read_text()
    new = ported(text)
    changed = [(a, b) for a, b in zip(text.splitlines(), new.splitlines()) if a != b]
    assert len(changed) == 7 and all(re.match(r"(import|from) torch", a) for a, _ in changed)
    assert not re.search(r"^(import|from) torch", new, re.M)


def test_the_torch_original_runs_in_one_process(tmp_path):
    pytest.importorskip("torch", reason="torch is needed to run the original")
    losses = _losses(_run([sys.executable, str(SCRIPT), str(tmp_path / "ckpt.pt")], tmp_path), 1)
    assert losses[-1] < 0.5 * losses[0]


@needs_mpi
def test_the_ported_script_trains_on_two_ranks(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(ported(SCRIPT.read_text()))
    mpiexec = Path(sys.executable).parent / "mpiexec"
    out = _run([str(mpiexec), "-n", "2", sys.executable, str(script), str(tmp_path / "ckpt")],
               tmp_path)
    losses = _losses(out, 2)
    assert losses[-1] < 0.5 * losses[0], losses
    import tinygrad_lite as tl
    saved = next(tmp_path.glob("ckpt*"))
    state = tl.load(str(saved))
    assert "wte.weight" in state and not any(k.startswith("module.") for k in state)
