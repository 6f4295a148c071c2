"""An LSTM that reads each 8x8 digit row by row (8 steps of 8 pixels) and classifies it.

    python examples/lstm_rows.py [--dataset mnist:DIR]
"""
import argparse

import tinygrad_lite.models as M


def main(epochs: int = 15, dataset: str = "digits") -> float:
    """Train, print one line per epoch, return the held-out accuracy."""
    _, _, _, acc = M.fit("lstm", dataset=dataset, epochs=epochs)
    print(f"test accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--dataset", default="digits")
    args = parser.parse_args()
    main(args.epochs, args.dataset)
