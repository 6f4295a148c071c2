"""The seeds' models end to end on real data (CPU, fixed seeds, the digits held-out split).

Each test runs an example's main() with CI-sized epochs and holds it to an accuracy floor.
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite.models as M

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small matmuls run faster on one BLAS thread, and far faster on a busy 2-core machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_linear_regression_recovers_coefficients(capsys):
    w, b, mse = load_example("linear_regression").main(epochs=10)
    np.testing.assert_allclose(w, M.TRUE_WEIGHT, atol=1e-2)
    assert abs(b - M.TRUE_BIAS) < 1e-2
    assert mse < 0.01       # the noise variance is 0.0025
    assert "test mse:" in capsys.readouterr().out


def test_logistic_regression_breast_cancer():
    assert load_example("logistic_regression").main(epochs=20) >= 0.94


def test_mlp_digits():
    assert load_example("mlp").main(epochs=15) >= 0.96


def test_cnn_digits():
    assert load_example("cnn").main(epochs=12) >= 0.97


def test_lstm_row_reader_digits():
    assert load_example("lstm_rows").main(epochs=15) >= 0.95


def test_transformer_patches_digits():
    assert load_example("transformer_patches").main(epochs=12) >= 0.93


def test_char_lm_learns_and_samples():
    loss, acc, sample = load_example("char_lm").main(epochs=20)
    # held out: the Zen's last lines. Uniform guessing over its 45 characters has loss 3.81;
    # always guessing the commonest character (space) is right 14.5% of the time
    assert loss < 3.0 and acc > 0.18
    assert sample.startswith("Beautiful is") and len(sample) == len("Beautiful is") + 120


def test_models_reject_mismatched_data():
    _, _, info = M.load_data("breast_cancer")
    with pytest.raises(ValueError, match="does not fit dataset"):
        M.build_model("cnn", info)
    with pytest.raises(ValueError, match="unknown model"):
        M.build_model("resnet", info)
    with pytest.raises(ValueError, match="unknown dataset"):
        M.load_data("imagenet")
    with pytest.raises(ValueError, match="give a path"):
        M.load_data("mnist")


def test_models_accept_mnist_shaped_images(tmp_path):
    """The builders size themselves from the data: 28x28 MNIST files give a working CNN."""
    from test_data import make_mnist
    make_mnist(tmp_path, n_train=8, n_test=4)
    _, test, info = M.load_data(f"mnist:{tmp_path}")
    for name in ("mlp", "cnn", "lstm", "transformer"):
        model = M.build_model(name, info)
        x, _ = next(iter(M.DataLoader(test, batch_size=4)))
        assert model(x).shape == (4, 10)
