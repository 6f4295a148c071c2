"""Logistic regression on the Wisconsin breast-cancer table (bundled with scikit-learn).

    python examples/logistic_regression.py
"""
import tinygrad_lite.models as M


def main(epochs: int = 20) -> float:
    """Train with binary cross-entropy on logits; return the held-out accuracy."""
    _, _, _, acc = M.fit("logreg", epochs=epochs)
    print(f"test accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
