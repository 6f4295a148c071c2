"""Linear regression by gradient descent: recover known coefficients from noisy samples.

    python examples/linear_regression.py
"""
import tinygrad_lite.models as M


def main(epochs: int = 10) -> tuple:
    """Fit y = x @ w + b on synthetic data; print the learned and the true coefficients."""
    model, _, mse, _ = M.fit("linreg", epochs=epochs)
    w = model.linear.weight.detach().numpy().ravel().tolist()
    b = float(model.linear.bias.detach().numpy()[0])
    print("learned w:", [round(v, 4) for v in w], "b:", round(b, 4))
    print("true    w:", list(M.TRUE_WEIGHT), "b:", M.TRUE_BIAS)
    print(f"test mse: {mse:.6f}")
    return w, b, mse


if __name__ == "__main__":
    main()
