"""Batching sequences of different lengths (torch.nn.utils.rnn): pad_sequence and its inverse,
and packed sequences (PackedSequence, pack_padded_sequence, pad_packed_sequence, pack_sequence),
all differentiable; RNN / LSTM / GRU take a PackedSequence and return one, as in torch.
"""
from __future__ import annotations

from collections import namedtuple
from typing import List, Optional, Sequence

import numpy as np

from ...functions.creation import full, tensor
from ...functions.indexing import cat, stack
from ...tensor import Tensor

__all__ = ["pad_sequence", "unpad_sequence", "PackedSequence", "pack_padded_sequence",
           "pad_packed_sequence", "pack_sequence", "unpack_sequence"]


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
            s = cat([s, fill] if padding_side == "right" else [fill, s], dim=0)
        padded.append(s)
    return stack(padded, dim=0 if batch_first else 1)


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


# -- packed sequences ----------------------------------------------------------------------------
_PackedFields = namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices",
                                              "unsorted_indices"])


class PackedSequence(_PackedFields):
    """A batch of sequences without padding, step-major: data [sum(lengths), *] holds step 0 of
    the batch_sizes[0] sequences, then step 1 of the batch_sizes[1] still running, ..., each step
    longest first. sorted_indices[j] is the caller's batch index of the j-th longest sequence
    (None when the batch came sorted); unsorted_indices is its inverse."""

    __slots__ = ()

    def __new__(cls, data: Tensor, batch_sizes: Tensor, sorted_indices: Optional[Tensor] = None,
                unsorted_indices: Optional[Tensor] = None):
        if unsorted_indices is None and sorted_indices is not None:
            order = np.asarray(sorted_indices.tolist(), dtype=np.int64)
            unsorted_indices = tensor(np.argsort(order, kind="stable"),
                                      device=sorted_indices.device)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> "PackedSequence":
        """data.to(...); the index tensors follow data's device, batch_sizes stays on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        move = (lambda t: None if t is None else t.to(data.device))  # noqa: E731
        return type(self)(data, self.batch_sizes, move(self.sorted_indices),
                          move(self.unsorted_indices))

    def cpu(self) -> "PackedSequence":
        return self.to("cpu")

    def cuda(self) -> "PackedSequence":
        return self.to("cuda")

    def double(self) -> "PackedSequence":
        return self.to(np.float64)

    def float(self) -> "PackedSequence":
        return self.to(np.float32)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def _int_list(lengths, op: str) -> List[int]:
    if isinstance(lengths, Tensor):
        if lengths.dtype.kind not in "iu" or lengths.ndim != 1:
            raise TypeError(f"{op}: lengths must be a 1-D integer tensor or a list of ints, got "
                            f"shape {tuple(lengths.shape)} dtype {lengths.dtype}")
        return [int(n) for n in lengths.tolist()]
    return [int(n) for n in lengths]


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch [T, B, *] ([B, T, *] with batch_first) whose b-th sequence has
    lengths[b] valid steps: data[k] = input[t_k, sorted_indices[j_k]], one gather, so the
    gradient flows back to the valid entries of input (the padding gets zero)."""
    op = "pack_padded_sequence"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    lengths = _int_list(lengths, op)
    if input.ndim < 2:
        raise ValueError(f"{op}: input must be [T, B, *] or [B, T, *], got shape "
                         f"{tuple(input.shape)}")
    if input.numel() == 0:
        raise RuntimeError(f"{op}: Cannot pack empty tensors (input shape {tuple(input.shape)})")
    batch, steps = (input.shape[0], input.shape[1]) if batch_first else \
        (input.shape[1], input.shape[0])
    if len(lengths) != batch:
        raise RuntimeError(f"{op}: Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lengths)} (batch_size={batch})")
    if enforce_sorted and any(a < b for a, b in zip(lengths, lengths[1:])):
        raise RuntimeError(f"{op}: `lengths` array must be sorted in decreasing order when "
                           f"`enforce_sorted` is True (got {lengths}). You can pass "
                           "`enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                           "to sidestep this requirement if you do not need ONNX exportability.")
    if min(lengths) <= 0:
        raise RuntimeError(f"{op}: Length of all samples has to be greater than 0, but found an "
                           f"element in 'lengths' that is <= 0 (lengths {lengths})")
    if max(lengths) > steps:
        raise RuntimeError(f"{op}: a length of {max(lengths)} is longer than the input's {steps} "
                           f"time steps (input shape {tuple(input.shape)}, "
                           f"batch_first={batch_first})")
    n = np.asarray(lengths, dtype=np.int64)
    # stable, so equal lengths keep the caller's order (torch gives the same indices)
    order = np.arange(batch) if enforce_sorted else np.argsort(-n, kind="stable")
    running = n[order][None, :] > np.arange(steps)[:, None]        # [T, B], rows are prefixes
    t_idx, j_idx = np.nonzero(running)                             # step-major, longest first
    b_idx = order[j_idx]
    rows = b_idx * steps + t_idx if batch_first else t_idx * batch + b_idx
    data = input.reshape((batch * steps,) + tuple(input.shape[2:]))[rows]
    batch_sizes = tensor(running.sum(axis=1)[:max(lengths)], dtype=np.int64)
    sorted_indices = None if enforce_sorted else tensor(order, device=input.device)
    return PackedSequence(data, batch_sizes, sorted_indices)


def _packed_layout(sequence, op: str):
    """(batch_sizes as ints, per-sorted-position lengths, sorted position of each batch index)."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{op}: expected a PackedSequence, got {type(sequence).__name__}")
    sizes = np.asarray(sequence.batch_sizes.tolist(), dtype=np.int64)
    batch = int(sizes[0])
    lengths = (sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)
    if sequence.unsorted_indices is None:
        position = np.arange(batch)
    else:
        position = np.asarray(sequence.unsorted_indices.tolist(), dtype=np.int64)
    return sizes, lengths, position


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: Optional[int] = None):
    """The inverse of pack_padded_sequence: (padded [T, B, *] or [B, T, *] in the caller's batch
    order, lengths as an int64 tensor). One gather from data with a padding row appended."""
    op = "pad_packed_sequence"
    sizes, lengths, position = _packed_layout(sequence, op)
    data = sequence.data
    longest = len(sizes)
    if total_length is not None and total_length < longest:
        raise ValueError(f"{op}: Expected total_length to be at least the length of the longest "
                         f"sequence in input, but got total_length={total_length} and max "
                         f"sequence length being {longest}")
    steps = longest if total_length is None else int(total_length)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    t = np.arange(steps)[:, None]
    j = position[None, :]
    # row of data for (t, b) while sequence b runs, else the padding row appended at the end
    rows = np.where(t < lengths[j], offsets[np.minimum(t, longest - 1)] + j, data.shape[0])
    if batch_first:
        rows = rows.T
    fill = full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype,
                device=data.device)
    padded = cat([data, fill], 0)[rows.reshape(-1)]
    padded = padded.reshape(rows.shape + tuple(data.shape[1:]))
    return padded, tensor(lengths[position], dtype=np.int64)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of [L_i, *] tensors (longest first unless enforce_sorted=False)."""
    sequences = list(sequences)
    lengths = [s.shape[0] if isinstance(s, Tensor) and s.ndim else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> List[Tensor]:
    """The inverse of pack_sequence: one [L_i, *] tensor per sequence, in the caller's order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
