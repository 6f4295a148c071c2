"""Recurrent layers with torch's names, gate order, weight names and defaults.

RNN / LSTM / GRU run each layer and direction as one input GEMM (all time steps at once) plus one
fused time-loop Function from ops/recurrent.py. The cells compose Tensor ops for a single step.
"""
from __future__ import annotations

import math
from typing import Optional

from ... import dtypes as D
from ... import random
from ...backend import array_module
from ...ops import recurrent as R
from ...functions.indexing import cat, stack
from ..._checks import check_tensor
from ...tensor import Tensor, _const
from ..functional.dropout import dropout
from .module import Module, Parameter
from ..utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _uniform_param(shape, bound, dtype, device) -> Parameter:
    dt = D.to_dtype(dtype or D.get_default_dtype())
    arr = random.uniform(shape, -bound, bound, dt, device or "cpu")
    return Parameter(_const(arr))


def _zeros(ref: Tensor, shape) -> Tensor:
    return _const(array_module(ref._data).zeros(shape, dtype=ref.dtype))


class RNNBase(Module):
    """Shared by RNN, LSTM and GRU: parameters per layer and direction, and the layer loop."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        name = "LSTM" if mode == "LSTM" else "GRU" if mode == "GRU" else "RNN"
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive int, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers!r}")
        if not 0.0 <= float(dropout) <= 1.0 or isinstance(dropout, bool):
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size is not supported by tinygrad_lite")
        self.mode, self._name = mode, name
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = 0
        gate = _GATES[mode] * hidden_size
        bound = 1.0 / math.sqrt(hidden_size)
        dirs = 2 if bidirectional else 1
        self._flat_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                shapes = [(gate, layer_in), (gate, hidden_size)]
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    shapes += [(gate,), (gate,)]
                for n, s in zip(names, shapes):
                    setattr(self, n, _uniform_param(s, bound, dtype, device))
                self._flat_names.append(names)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    def flatten_parameters(self) -> None:
        """Kept so torch code that calls it runs; the weights are always used in place."""

    @property
    def all_weights(self) -> list:
        return [[getattr(self, n) for n in names] for names in self._flat_names]

    # -- checks at the boundary --------------------------------------------------------------
    def _check_input(self, x):
        check_tensor(x, self._name, name="input")
        if x.ndim not in (2, 3):
            raise ValueError(f"{self._name}: expected input of 2 (unbatched) or 3 dimensions, "
                             f"got shape {tuple(x.shape)}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{self._name}: input.size(-1) must be input_size="
                             f"{self.input_size}, got shape {tuple(x.shape)}")
        seq_dim = 1 if self.batch_first and x.ndim == 3 else 0
        if x.shape[seq_dim] == 0:
            raise ValueError(f"{self._name}: sequence length must be at least 1, got input "
                             f"of shape {tuple(x.shape)} (batch_first={self.batch_first})")
        w = self.weight_ih_l0
        if x.dtype != w.dtype or x.device != w.device:
            raise TypeError(f"{self._name}: input is {x.dtype} on {x.device} but the weights are "
                            f"{w.dtype} on {w.device}; convert one with .to()")

    def _check_state(self, h, batch, what, unbatched):
        dirs = 2 if self.bidirectional else 1
        want = (self.num_layers * dirs, self.hidden_size) if unbatched else \
            (self.num_layers * dirs, batch, self.hidden_size)
        check_tensor(h, self._name, name=what)
        if tuple(h.shape) != want:
            raise ValueError(f"{self._name}: expected {what} of shape {want}, got "
                             f"{tuple(h.shape)}")
        w = self.weight_ih_l0
        if h.dtype != w.dtype or h.device != w.device:
            raise TypeError(f"{self._name}: {what} is {h.dtype} on {h.device} but the weights "
                            f"are {w.dtype} on {w.device}")

    def _split_state(self, hx, batch, unbatched):
        """(h_0, c_0) from hx, checked; c_0 is None except for an LSTM, both None without hx."""
        h0 = c0 = None
        if hx is not None:
            if self.mode == "LSTM":
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError("LSTM: hx must be a tuple (h_0, c_0)")
                h0, c0 = hx
                self._check_state(c0, batch, "c_0", unbatched)
            else:
                h0 = hx
            self._check_state(h0, batch, "h_0", unbatched)
        return h0, c0

    # -- the layer loop ------------------------------------------------------------------------
    def forward(self, input: Tensor, hx=None):
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        self._check_input(input)
        unbatched = input.ndim == 2
        x = input.unsqueeze(1) if unbatched else \
            (input.transpose(0, 1) if self.batch_first else input)
        batch = x.shape[1]
        lstm = self.mode == "LSTM"
        h0, c0 = self._split_state(hx, batch, unbatched)
        if unbatched and h0 is not None:
            h0 = h0.unsqueeze(1)
            c0 = c0.unsqueeze(1) if c0 is not None else None
        x, h_n, c_n = self._layers(x, h0, c0, batch, self._run)
        out = x.squeeze(1) if unbatched else (x.transpose(0, 1) if self.batch_first else x)
        h_n = stack(h_n)
        if unbatched:
            h_n = h_n.squeeze(1)
        if lstm:
            c_n = stack(c_n)
            return out, (h_n, c_n.squeeze(1) if unbatched else c_n)
        return out, h_n

    def _layers(self, x, h0, c0, batch, run):
        """Every layer and direction in turn, each reading the one below's outputs (both
        directions side by side): (last layer's outputs, [h_T per layer/direction], [c_T])."""
        dirs = 2 if self.bidirectional else 1
        zeros = _zeros(x, (batch, self.hidden_size))
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                k = layer * dirs + d
                h = h0[k] if h0 is not None else zeros
                c = c0[k] if c0 is not None else zeros
                y, h_last, c_last = run(x, k, h, c, reverse=d == 1)
                outs.append(y)
                h_n.append(h_last)
                c_n.append(c_last)
            x = outs[0] if dirs == 1 else cat(outs, dim=-1)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                x = dropout(x, self.dropout, True)
        return x, h_n, c_n

    def _run(self, x, k, h, c, reverse):
        """One layer in one direction: (outputs [T, B, H], final h, final c or None)."""
        names = self._flat_names[k]
        w_ih, w_hh = getattr(self, names[0]), getattr(self, names[1])
        b_ih = getattr(self, names[2]) if self.bias else None
        b_hh = getattr(self, names[3]) if self.bias else None
        steps, batch = x.shape[0], x.shape[1]
        if self.mode == "LSTM":
            # gi gate-major [T, 4H, B] straight from the GEMM (see LSTMSequence); the summed
            # bias is added inside the loop's own copy of gi
            gi = w_ih @ x.permute(0, 2, 1)
            b = b_ih + b_hh if b_ih is not None else None
            packed = R.LSTMSequence.apply(gi, h, c, w_hh, b, reverse=reverse, gate_major=True)
            y = packed[:steps]
            return y, packed[0 if reverse else steps - 1], packed[steps]
        gi = x.reshape(steps * batch, x.shape[2]) @ w_ih.T
        if self.mode == "GRU":
            if b_ih is not None:
                gi = gi + b_ih
            gi = gi.reshape(steps, batch, gi.shape[-1])
            y = R.GRUSequence.apply(gi, h, w_hh, b_hh, reverse=reverse)
            return y, y[0 if reverse else steps - 1], None
        if b_ih is not None:
            gi = gi + (b_ih + b_hh)
        gi = gi.reshape(steps, batch, gi.shape[-1])
        act = "relu" if self.mode == "RNN_RELU" else "tanh"
        y = R.RNNSequence.apply(gi, h, w_hh, reverse=reverse, nonlinearity=act)
        return y, y[0 if reverse else steps - 1], None

    # -- packed input ----------------------------------------------------------------------
    # The packed batch is longest first, so the sequences still running at step t are always a
    # prefix of it. Steps with the same batch size form a segment whose rows of data are one
    # contiguous [steps, size, *] block; the fused loop runs once per segment, and the state
    # carries over from segment to segment shrinking (forward) or growing (reverse, which starts
    # each sequence at its own last step from its initial state). So every sequence's final
    # state is taken after its own last step and no padding is ever computed.
    def _forward_packed(self, packed, hx):
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        if not isinstance(data, Tensor) or data.ndim != 2 or data.shape[1] != self.input_size:
            got = tuple(data.shape) if isinstance(data, Tensor) else type(data).__name__
            raise ValueError(f"{self._name}: a PackedSequence's data must be [N, input_size="
                             f"{self.input_size}], got {got}")
        self._check_input(data)
        sizes = [int(n) for n in batch_sizes.tolist()]
        segments, row = [], 0          # (first row of data, steps, batch size)
        for t, n in enumerate(sizes):
            if t and n == sizes[t - 1]:
                first, steps, _ = segments[-1]
                segments[-1] = (first, steps + 1, n)
            else:
                segments.append((row, 1, n))
            row += n
        h0, c0 = self._split_state(hx, sizes[0], False)
        if sorted_indices is not None:
            # hx comes in the caller's batch order, the packed data longest first
            h0 = h0.index_select(1, sorted_indices) if h0 is not None else None
            c0 = c0.index_select(1, sorted_indices) if c0 is not None else None
        run = lambda *a, reverse: self._run_packed(*a, segments, reverse)  # noqa: E731
        x, h_n, c_n = self._layers(data, h0, c0, sizes[0], run)
        out = PackedSequence(x, batch_sizes, sorted_indices, unsorted_indices)
        states = [stack(h_n)] + ([stack(c_n)] if self.mode == "LSTM" else [])
        if unsorted_indices is not None:
            states = [s.index_select(1, unsorted_indices) for s in states]
        return (out, tuple(states)) if self.mode == "LSTM" else (out, states[0])

    def _run_packed(self, x, k, h, c, segments, reverse):
        """One layer in one direction over packed rows x [N, in]: (outputs [N, H], final h [B, H]
        and final c (LSTM) or None, longest first), each sequence's final state at its end."""
        names = self._flat_names[k]
        w_ih, w_hh = getattr(self, names[0]), getattr(self, names[1])
        b_ih = getattr(self, names[2]) if self.bias else None
        b_hh = getattr(self, names[3]) if self.bias else None
        lstm = self.mode == "LSTM"
        gi = x @ w_ih.T
        if b_ih is not None and self.mode == "GRU":
            gi = gi + b_ih
        elif b_ih is not None and not lstm:
            gi = gi + (b_ih + b_hh)
        b = b_ih + b_hh if lstm and b_ih is not None else None
        act = "relu" if self.mode == "RNN_RELU" else "tanh"
        outs, done_h, done_c = [None] * len(segments), [], []
        h_cur = c_cur = None
        for i in (reversed(range(len(segments))) if reverse else range(len(segments))):
            first, steps, n = segments[i]
            g = gi[first:first + steps * n].reshape(steps, n, gi.shape[-1])
            if h_cur is None:
                h_in, c_in = h[:n], c[:n]
            elif reverse:       # sequences whose last step is in this segment start here
                h_in = cat([h_cur, h[h_cur.shape[0]:n]])
                c_in = cat([c_cur, c[c_cur.shape[0]:n]]) if lstm else None
            else:               # sequences that ended with the last segment keep their state
                done_h.append(h_cur[n:])
                done_c.append(c_cur[n:] if lstm else None)
                h_in, c_in = h_cur[:n], c_cur[:n] if lstm else None
            if lstm:
                y = R.LSTMSequence.apply(g, h_in, c_in, w_hh, b, reverse=reverse)
                c_cur = y[steps]
                y = y[:steps]
            elif self.mode == "GRU":
                y = R.GRUSequence.apply(g, h_in, w_hh, b_hh, reverse=reverse)
            else:
                y = R.RNNSequence.apply(g, h_in, w_hh, reverse=reverse, nonlinearity=act)
            h_cur = y[0 if reverse else steps - 1]
            outs[i] = y.reshape(steps * n, y.shape[-1])
        if not reverse and len(segments) > 1:
            # the longest sequences ended last; their states go first
            h_cur = cat([h_cur] + done_h[::-1])
            c_cur = cat([c_cur] + done_c[::-1]) if lstm else None
        return cat(outs) if len(outs) > 1 else outs[0], h_cur, c_cur

class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r} (use 'tanh' or 'relu')")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """LSTM with torch's gate order i, f, g, o; returns (output, (h_n, c_n))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """GRU with torch's gate order r, z, n and n = tanh(W_in x + b_in + r (W_hn h + b_hn))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


# -- cells --------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """weight_ih [G*H, in], weight_hh [G*H, H], bias_ih, bias_hh; U(-1/sqrt(H), 1/sqrt(H))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, gates: int,
                 device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        bound = 1.0 / math.sqrt(hidden_size)
        self.weight_ih = _uniform_param((gates * hidden_size, input_size), bound, dtype, device)
        self.weight_hh = _uniform_param((gates * hidden_size, hidden_size), bound, dtype, device)
        if bias:
            self.bias_ih = _uniform_param((gates * hidden_size,), bound, dtype, device)
            self.bias_hh = _uniform_param((gates * hidden_size,), bound, dtype, device)
        else:
            self.bias_ih = None
            self.bias_hh = None

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def _prepare(self, x, hx, name):
        check_tensor(x, name, name="input")
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected input of shape (batch, {self.input_size}) or "
                             f"({self.input_size},), got {tuple(x.shape)}")
        if x.dtype != self.weight_ih.dtype or x.device != self.weight_ih.device:
            raise TypeError(f"{name}: input is {x.dtype} on {x.device} but the weights are "
                            f"{self.weight_ih.dtype} on {self.weight_ih.device}")
        unbatched = x.ndim == 1
        if unbatched:
            x = x.unsqueeze(0)
        states = []
        for i, h in enumerate(hx if isinstance(hx, (tuple, list)) else (hx,)):
            if h is None:
                states.append(_zeros(x, (x.shape[0], self.hidden_size)))
                continue
            want = (self.hidden_size,) if unbatched else (x.shape[0], self.hidden_size)
            if not isinstance(h, Tensor) or tuple(h.shape) != want:
                got = tuple(h.shape) if isinstance(h, Tensor) else type(h).__name__
                raise ValueError(f"{name}: hidden state {i} must have shape {want}, got {got}")
            states.append(h.unsqueeze(0) if unbatched else h)
        gx = x @ self.weight_ih.T
        if self.bias_ih is not None:
            gx = gx + self.bias_ih
        return gx, states, unbatched


class RNNCell(RNNCellBase):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        gx, (h,), unbatched = self._prepare(input, hx, "RNNCell")
        if self.bias_hh is not None:
            gx = gx + self.bias_hh
        h = R.rnn_cell_reference(gx, h, self.weight_hh, self.nonlinearity)
        return h.squeeze(0) if unbatched else h


class LSTMCell(RNNCellBase):
    """One LSTM step; returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx=None):
        gx, (h, c), unbatched = self._prepare(input, hx if hx is not None else (None, None),
                                              "LSTMCell")
        if self.bias_hh is not None:
            gx = gx + self.bias_hh
        h, c = R.lstm_cell_reference(gx, h, c, self.weight_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """One GRU step with torch's n = tanh(W_in x + b_in + r (W_hn h + b_hn))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        gx, (h,), unbatched = self._prepare(input, hx, "GRUCell")
        h = R.gru_cell_reference(gx, h, self.weight_hh, self.bias_hh)
        return h.squeeze(0) if unbatched else h
