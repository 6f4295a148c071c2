"""`python -m benchmarks --suite distributed --quick` runs end to end (no timing is checked)."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None,
                    reason="distributed: mpi4py/mpiexec not installed")
def test_quick_distributed_suite_writes_its_table_and_json(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--suite", "distributed", "--quick",
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "all_reduce, float32 SUM, 2 ranks" in proc.stdout and "comm share" in proc.stdout
    result = json.loads((tmp_path / "distributed.json").read_text())
    assert [r["bytes"] for r in result["two"]["allreduce"]] == [8, 65536]
    assert {r["model"] for r in result["one"]["train"]} == {"mlp", "cnn", "lstm", "transformer"}
    for r in result["one"]["train"] + result["two"]["train"]:
        assert r["ms"] > 0 and r["n"] == 2
    kinds = {(r["model"], r["kind"], r["per_rank_batch"]) for r in result["two"]["train"]}
    assert ("lstm", "strong", 4) in kinds and ("lstm", "weak", 8) in kinds
