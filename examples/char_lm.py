"""A character-level LSTM language model; samples text once trained.

Trains on the Zen of Python (shipped with every Python) unless given a UTF-8 text file.

    python examples/char_lm.py [--text FILE]
"""
import argparse

import numpy as np

import tinygrad_lite.models as M


def main(epochs: int = 20, text: str = None) -> tuple:
    """Train, print a sample, return (test loss, next-character accuracy, sample)."""
    dataset = f"text:{text}" if text else "zen"
    model, info, loss, acc = M.fit("charlm", dataset=dataset, epochs=epochs)
    sample = M.sample_text(model, info.vocab, "Beautiful is", length=120,
                           generator=np.random.default_rng(0))
    print(f"test loss {loss:.4f} (perplexity {M.perplexity(loss):.2f}), "
          f"next-character accuracy {acc:.4f}")
    print("sample:", sample)
    return loss, acc, sample


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--text", help="a UTF-8 text file to learn from")
    args = parser.parse_args()
    main(args.epochs, args.text)
