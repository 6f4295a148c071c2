"""Matrix products (matmul, the fused Linear, inverse, det, svdvals) and einsum."""
from __future__ import annotations

import string

from ..autograd.function import Function
from ..autograd.function import constant as _const
from ..autograd.grad_mode import state
from ..backend import array_module


class MatMul(Function):
    """y = a @ b (batched, broadcast);  da = dy @ b^T;  db = a^T @ dy (engine sums batch dims)"""

    def forward(self, a, b):
        need_a, need_b = self.needs_input_grad
        self.save_for_backward(a if need_b else None, b if need_a else None)
        return array_module(a).matmul(a, b)

    def backward(self, grad):
        a, b = self.saved_tensors
        return (grad @ b.mT if self.needs_input_grad[0] else None,
                a.mT @ grad if self.needs_input_grad[1] else None)


# -- Linear -----------------------------------------------------------------------------------
class Linear(Function):
    """y = x @ W^T + b;  dx = dy @ W;  dW = dy^T @ x;  db = sum(dy) over batch dims"""

    def forward(self, x, w, b):
        need_x, need_w, _ = self.needs_input_grad
        self.save_for_backward(x if need_w else None, w if need_x else None)
        # one GEMM over all leading dims instead of a batched matmul
        y = x.reshape(-1, x.shape[-1]) @ w.T
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(self, grad):
        x, w = self.saved_tensors
        need_x, need_w, need_b = self.needs_input_grad
        if not state.grad_enabled:      # no graph to build: two GEMMs and a sum on the arrays
            g2 = grad._data.reshape(-1, grad.shape[-1])
            gx = _const((g2 @ w._data).reshape(grad.shape[:-1] + (w.shape[1],))) if need_x else None
            gw = _const(g2.T @ x._data.reshape(-1, x.shape[-1])) if need_w else None
            gb = _const(g2.sum(0)) if need_b else None
            return gx, gw, gb
        g2 = grad.reshape(-1, grad.shape[-1])
        gx = grad @ w if need_x else None
        gw = g2.mT @ x.reshape(-1, x.shape[-1]) if need_w else None
        gb = g2.sum(0) if need_b else None
        return gx, gw, gb


def linear_reference(x, w, b=None):
    """The composed oracle for Linear."""
    y = x @ w.mT
    return y if b is None else y + b


def _inv(xp, a, op):
    try:
        return xp.linalg.inv(a)
    except xp.linalg.LinAlgError:
        raise RuntimeError(f"{op}: the matrix (batch of shape {tuple(a.shape)}, {a.dtype}) is "
                           "singular") from None


class Inverse(Function):
    """y = a^-1 (batched);  da = -y^T @ dy @ y^T"""

    def forward(self, a):
        y = _inv(array_module(a), a, "inverse")
        self.save_for_backward(y)
        return y

    def backward(self, grad):
        (y,) = self.saved_tensors
        yt = y.mT
        return -(yt @ grad @ yt)


class Det(Function):
    """y = det(a) (batched);  da = dy * y * a^-T  (needs a invertible)"""

    def forward(self, a):
        xp = array_module(a)
        y = xp.asarray(xp.linalg.det(a))     # NumPy hands back a scalar for one matrix
        self.save_for_backward(a, y)
        return y

    def backward(self, grad):
        a, y = self.saved_tensors
        if not (y._data != 0).all():
            raise RuntimeError(f"det: backward at a singular matrix (shape {tuple(a.shape)}) is "
                               "not supported")
        return (grad * y).unsqueeze(-1).unsqueeze(-1) * Inverse.apply(a).mT


class Svdvals(Function):
    """s = singular values of a (batched, descending);  da = U diag(ds) V^H
    (exact where the singular values are distinct, as torch's)"""

    def forward(self, a):
        xp = array_module(a)
        if not self.needs_input_grad[0]:
            return xp.linalg.svd(a, compute_uv=False).astype(a.dtype, copy=False)
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        self.save_for_backward(u, vh)
        return s.astype(a.dtype, copy=False)

    def backward(self, grad):
        u, vh = self.saved_tensors
        return (u * grad.unsqueeze(-2)) @ vh


# -- einsum ----------------------------------------------------------------------------------------
_ELLIPSIS = "..."


# below this many elements numpy's plain einsum loop beats working out a contraction path
_OPTIMIZE_ABOVE = 4096


class Einsum(Function):
    """y = einsum(eq, x_1..x_n);  dx_k = einsum(dy, x_j for j != k -> labels of x_k), put on the
    diagonal where x_k repeats a label and expanded where only x_k carries one"""

    def forward(self, *arrays, terms, out):
        need = self.needs_input_grad
        if any(need):
            # x_j is needed exactly when some other operand wants a gradient
            self.save_for_backward(*(a if any(need[:j] + need[j + 1:]) else None
                                     for j, a in enumerate(arrays)))
            self.terms, self.out = terms, out
            self.sizes = {c: n for t, a in zip(terms, arrays) for c, n in zip(t, a.shape)}
        xp = array_module(*arrays)
        big = max(a.size for a in arrays) > _OPTIMIZE_ABOVE
        y = xp.einsum(",".join(terms) + "->" + out, *arrays,
                      optimize=len(arrays) > 2 or (len(arrays) == 2 and big))
        if len(arrays) == 1:
            y = xp.array(y, copy=True)    # one operand: einsum may hand back a view of it
        return xp.asarray(y)              # NumPy turns 0-d results into scalars

    def backward(self, grad):
        xs = self.saved_tensors
        return tuple(_operand_grad(grad, xs, self.terms, self.out, self.sizes, k) if need
                     else None for k, need in enumerate(self.needs_input_grad))


def _operand_grad(grad, xs, terms, out, sizes, k):
    """d<y, dy>/dx_k as one more einsum, so that create_graph can differentiate it again."""
    term = terms[k]
    used = set("".join(terms) + out)
    fresh = (c for c in string.ascii_letters if c not in used)
    # the gradient's labels: x_k's, with each repeat renamed, and an identity per repeat that
    # ties the renamed label to the first one (dy lands on the diagonal, zero elsewhere)
    target, eyes, eye_terms = [], [], []
    xp = array_module(grad._data)
    for c in term:
        if c in target:
            r = next(fresh, None)
            if r is None:
                raise ValueError(f"einsum: backward of '{','.join(terms)}->{out}' needs more "
                                 "than 52 subscript letters")
            eyes.append(_const(xp.eye(sizes[c], dtype=grad._data.dtype)))
            eye_terms.append(c + r)
            target.append(r)
        else:
            target.append(c)
    ops = [grad] + [x for j, x in enumerate(xs) if j != k] + eyes
    op_terms = [out] + [t for j, t in enumerate(terms) if j != k] + eye_terms
    have = set("".join(op_terms))
    # a label only x_k carries was summed out: dy does not depend on it, so it is expanded back
    kept = "".join(c for c in target if c in have)
    g = Einsum.apply(*ops, terms=tuple(op_terms), out=kept)
    if len(kept) == len(target):
        return g
    full = tuple(sizes[c] for c in term)
    return g.reshape(tuple(n if c in have else 1 for c, n in zip(target, full))).expand(full)


def _shapes(shapes) -> str:
    return ", ".join(str(tuple(s)) for s in shapes)


def _tokens(text, where, fail):
    """Split one side of the equation into letters and '...'; anything else is an error."""
    out, i = [], 0
    while i < len(text):
        if text.startswith(_ELLIPSIS, i):
            if _ELLIPSIS in out:
                fail(f"{where} has more than one '...'")
            out.append(_ELLIPSIS)
            i += 3
        elif text[i] in string.ascii_letters:
            out.append(text[i])
            i += 1
        elif text[i] == ".":
            fail(f"{where} has a '.' that is not part of '...'")
        else:
            fail(f"{where} has {text[i]!r}; subscripts must be letters a-z, A-Z or '...'")
    return out


def parse(equation: str, shapes):
    """Resolve `equation` against the operands' shapes.

    Returns (terms, out, sizes): one string of letters per operand with '...' spelled out as
    letters of its own, the output's letters, and the size of each letter after broadcasting.
    """
    def fail(msg):
        raise ValueError(f"einsum('{equation}'): {msg} (operand shapes {_shapes(shapes)})")

    eq = "".join(equation.split())
    if eq.count("->") > 1:
        fail("more than one '->'")
    lhs, arrow, rhs = eq.partition("->")
    sides = lhs.split(",")
    if len(sides) != len(shapes):
        fail(f"the equation names {len(sides)} operand(s) but {len(shapes)} were given")
    toks = [_tokens(s, f"operand {i}", fail) for i, s in enumerate(sides)]
    out_toks = _tokens(rhs, "the output", fail) if arrow else None

    ell_dims = []
    for i, (t, shape) in enumerate(zip(toks, shapes)):
        named = len(t) - (_ELLIPSIS in t)
        if len(shape) < named or (_ELLIPSIS not in t and len(shape) != named):
            fail(f"operand {i} has {named} subscript(s) but {len(shape)} dimension(s) "
                 f"(shape {tuple(shape)})" + ("" if _ELLIPSIS in t else " and no '...'"))
        ell_dims.append(len(shape) - named)
    letters = set(c for t in toks + [out_toks or []] for c in t if c != _ELLIPSIS)
    n_ell = max((d for t, d in zip(toks, ell_dims) if _ELLIPSIS in t), default=0)
    spare = [c for c in string.ascii_letters if c not in letters]
    if n_ell > len(spare):
        fail("too many distinct subscripts and '...' dimensions (at most 52)")
    ell = "".join(spare[:n_ell])     # '...' dimensions line up from the right, as broadcasting

    terms = []
    for t, d in zip(toks, ell_dims):
        terms.append("".join(ell[n_ell - d:] if c == _ELLIPSIS else c for c in t))

    sizes = {}
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        mine = {}
        for c, n in zip(term, shape):
            if c in mine and mine[c] != n:
                fail(f"subscript {c!r} is repeated in operand {i} with sizes {mine[c]} != {n}")
            mine[c] = n
            seen = sizes.get(c, 1)
            if n != seen and 1 not in (n, seen):
                what = "a '...' dimension" if c in ell else f"subscript {c!r}"
                fail(f"{what} has size {n} in operand {i} but {seen} in an earlier operand; "
                     "sizes must match or be 1")
            if n != 1:
                sizes[c] = n
            sizes.setdefault(c, 1)

    if out_toks is None:        # implicit: '...' first, then the letters used once, sorted
        named = "".join(c for t in toks for c in t if c != _ELLIPSIS)
        out = ell + "".join(sorted(c for c in set(named) if named.count(c) == 1))
    else:
        out = ""
        for c in out_toks:
            part = ell if c == _ELLIPSIS else c
            if c != _ELLIPSIS and c in out:
                fail(f"output subscript {c!r} appears more than once")
            if c != _ELLIPSIS and c not in sizes:
                fail(f"output subscript {c!r} does not appear in any operand")
            out += part
    return terms, out, sizes
