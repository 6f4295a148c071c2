"""The benchmark's own machinery: same work on both sides, and --quick runs end to end."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch", reason="torch is needed for the parity tests "
                                   "(pip install -e '.[test]')")

from benchmarks.timing import compare  # noqa: E402
from benchmarks.workloads import all_workloads  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm", "transformer"])
def test_model_workloads_agree_before_timing(name):
    """Identical weights and data give the same loss, and one Adam step keeps them together."""
    w = next(w for w in all_workloads() if w.name == name)
    ours, theirs = w.build("ours", "cpu", True), w.build("torch", "cpu", True)
    np.testing.assert_allclose(ours.value(), theirs.value(), rtol=1e-4)
    ours.step()
    theirs.step()
    np.testing.assert_allclose(ours.value(), theirs.value(), rtol=1e-3)


@pytest.mark.parametrize("name", ["matmul_128", "conv2d", "max_pool2d", "softmax", "layer_norm",
                                  "cross_entropy", "lstm_layer", "sdpa", "chain_300_ops"])
def test_op_workloads_agree_before_timing(name):
    w = next(w for w in all_workloads() if w.name == name)
    ours, theirs = w.build("ours", "cpu", True), w.build("torch", "cpu", True)
    np.testing.assert_allclose(ours.value(), theirs.value(), rtol=1e-3, atol=1e-3)


def test_compare_reports_ratio_of_interleaved_pairs():
    calls = []
    pair = compare(lambda: calls.append("a"), lambda: calls.append("b"), repeat=4, warmup=1)
    assert pair.samples == 4
    assert calls[:2] == ["a", "b"]
    assert "b" == calls[4] or "b" == calls[5]      # the order alternates after warm-up
    assert pair.ratio > 0 and pair.ratio_lo <= pair.ratio <= pair.ratio_hi


def test_quick_run_writes_table_json_and_png(tmp_path):
    out = tmp_path / "bench"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(out),
                           "--repeat", "2"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ratio" in proc.stdout and "mlp" in proc.stdout
    result = json.loads((out / "results.json").read_text())
    names = {r["name"] for r in result["rows"]}
    assert {"mlp", "chain_300_ops"} <= names
    for r in result["rows"]:
        assert r["ours_ms"] > 0 and r["torch_ms"] > 0 and r["pairs"] == 2
    mlp = next(r for r in result["rows"] if r["name"] == "mlp")
    assert mlp["ours_mb"] >= 0 and mlp["torch_mb"] >= 0
    assert (out / "ratios.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
