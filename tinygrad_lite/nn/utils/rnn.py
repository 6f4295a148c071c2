"""Batching sequences of different lengths (torch.nn.utils.rnn): pad_sequence and its inverse.

Packed sequences are not provided: recurrent layers here run on padded batches, and a padded
batch with per-sequence lengths gives the same last states when each one is picked out at its
own length (see unpad_sequence).
"""
from __future__ import annotations

from typing import List, Sequence

from ...creation import full
from ...ops import movement as M
from ...tensor import Tensor

__all__ = ["pad_sequence", "unpad_sequence"]


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack tensors of shape [L_i, *] into [max L, B, *] ([B, max L, *] with batch_first),
    filling with padding_value on padding_side ("right" or "left"). Differentiable."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0)) if sequences.ndim > 0 else [sequences]
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: expected a non-empty list of tensors")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', "
                         f"got {padding_side!r}")
    first = sequences[0]
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: sequence {i} is {type(s).__name__}, not a Tensor")
        if s.ndim == 0 or s.shape[1:] != first.shape[1:] or s.dtype != first.dtype \
                or s.device != first.device:
            raise ValueError(
                f"pad_sequence: every sequence must be [L, *] with the same trailing shape, "
                f"dtype and device; sequence 0 is {tuple(first.shape)} {first.dtype} on "
                f"{first.device}, sequence {i} is {tuple(s.shape)} {s.dtype} on {s.device}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        short = longest - s.shape[0]
        if short:
            fill = full((short,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype,
                        device=s.device)
            s = M.cat([s, fill] if padding_side == "right" else [fill, s], dim=0)
        padded.append(s)
    return M.stack(padded, dim=0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> List[Tensor]:
    """The inverse of pad_sequence (right padding): one [L_i, *] tensor per sequence."""
    if not isinstance(padded_sequences, Tensor):
        raise TypeError(f"unpad_sequence: expected a Tensor, got "
                        f"{type(padded_sequences).__name__}")
    lengths = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    if x.ndim < 2 or len(lengths) != x.shape[0] or \
            any(not 0 <= int(n) <= x.shape[1] for n in lengths):
        raise ValueError(f"unpad_sequence: lengths {lengths} do not fit a padded batch of "
                         f"shape {tuple(padded_sequences.shape)} (batch_first={batch_first})")
    return [x[i, :int(n)] for i, n in enumerate(lengths)]
