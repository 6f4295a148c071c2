"""The seeds' CNN, (conv-relu-pool) x 2 then fc-relu-fc, on the 8x8 handwritten digits.

    python examples/cnn.py [--dataset mnist:DIR]
"""
import tinygrad_lite.models as M


def main(epochs: int = 12, dataset: str = "digits") -> float:
    """Train, print one line per epoch, return the held-out accuracy."""
    _, _, _, acc = M.fit("cnn", dataset=dataset, epochs=epochs)
    print(f"test accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main(**M.example_args(__doc__, epochs=12))
