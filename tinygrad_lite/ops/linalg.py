"""Matrix products (matmul, the fused Linear, inverse, det, svdvals) and einsum."""
from __future__ import annotations

import string

import numpy as np

from ..autograd.function import Function
from ..autograd.function import constant as _const
from ..autograd.grad_mode import state
from ..backend import array_module
from .movement import Cat
from .pointwise import quiet


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


# -- solvers and decompositions ------------------------------------------------------------------
# Backward formulas are torch's (FunctionsManual.cpp), written with Tensor ops so they
# differentiate again. Several outputs (eigh, svd, qr) travel packed in one array along the last
# axis, (..., sum of part sizes), and functions/linalg.py slices them apart: a Function here has
# one output, and the slices' gradients come back packed the same way.
def _eye_like(t):
    xp = array_module(t._data)
    return _const(xp.eye(t.shape[-1], dtype=t.dtype))


def pack(xp, batch, *parts):
    flat = [p.reshape(batch + (int(np.prod(p.shape[len(batch):])),)) for p in parts]
    return xp.concatenate(flat, axis=-1)


def unpack(t, batch, *shapes):
    """The parts of a packed tensor, each reshaped to batch + its shape."""
    out, start = [], 0
    for shape in shapes:
        size = 1
        for n in shape:
            size *= n
        out.append(t[..., start:start + size].reshape(batch + tuple(shape)))
        start += size
    return out


class Solve(Function):
    """x = a^-1 b (b a batch of matrices);  db = a^-T dy;  da = -db x^T"""

    def forward(self, a, b):
        xp = array_module(a, b)
        try:
            x = xp.linalg.solve(a, b)
        except xp.linalg.LinAlgError:
            raise RuntimeError(f"linalg.solve: the matrix (batch of shape {tuple(a.shape)}, "
                               f"{a.dtype}) is singular") from None
        self.save_for_backward(a, x)
        return x

    def backward(self, grad):
        a, x = self.saved_tensors
        gb = Solve.apply(a.mT, grad)
        return (-(gb @ x.mT) if self.needs_input_grad[0] else None), gb


class Cholesky(Function):
    """l = cholesky(a), lower;  da = l^-T Phi(l^T dl) l^-1 with Phi the lower triangle plus
    its transpose, halved on the diagonal (torch's)"""

    def forward(self, a):
        xp = array_module(a)
        try:
            l_ = xp.linalg.cholesky(a)
        except xp.linalg.LinAlgError:
            raise RuntimeError(f"linalg.cholesky: the input (batch of shape {tuple(a.shape)}, "
                               f"{a.dtype}) is not positive-definite") from None
        self.save_for_backward(l_)
        return l_

    def backward(self, grad):
        (l_,) = self.saved_tensors
        g = (l_.mT @ grad).tril()
        g = (g + g.tril(-1).mT) * 0.5
        l_inv = Inverse.apply(l_)
        return l_inv.mT @ g @ l_inv


class LogAbsDet(Function):
    """y = log |det a|;  da = dy * a^-T"""

    def forward(self, a):
        xp = array_module(a)
        _, y = xp.linalg.slogdet(a)
        y = xp.asarray(y).astype(a.dtype, copy=False)
        self.save_for_backward(a)
        return y

    def backward(self, grad):
        (a,) = self.saved_tensors
        return grad.unsqueeze(-1).unsqueeze(-1) * Inverse.apply(a).mT


class Eigh(Function):
    """(v, w) = eigh(a), packed as (..., n*n + n);
    da = v (skew(v^T dv) / (w_j - w_i) + diag(dw)) v^T  (torch's)"""

    def forward(self, a, uplo):
        xp = array_module(a)
        w, v = xp.linalg.eigh(a, UPLO=uplo)
        out = pack(xp, a.shape[:-2], v, w)
        self.save_for_backward(out)
        self.batch, self.n = a.shape[:-2], a.shape[-1]
        return out

    def backward(self, grad):
        (out,) = self.saved_tensors
        n = self.n
        v, w = unpack(out, self.batch, (n, n), (n,))
        gv, gw = unpack(grad, self.batch, (n, n), (n,))
        vg = v.mT @ gv
        e = w.unsqueeze(-2) - w.unsqueeze(-1)
        eye = _eye_like(v)
        e = e + eye                                    # the diagonal is 1 (masked below)
        inner = ((vg - vg.mT) * 0.5 / e) * (1.0 - eye) + gw.diag_embed()
        return v @ inner @ v.mT


class Svd(Function):
    """(u, s, vh) = svd(a, full_matrices=False), packed as (..., m*k + k + k*n); the gradient
    is torch's svd_backward (exact where the singular values are distinct and nonzero)"""

    def forward(self, a):
        xp = array_module(a)
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        s = s.astype(a.dtype, copy=False)
        out = pack(xp, a.shape[:-2], u, s, vh)
        self.save_for_backward(out)
        self.batch, (self.m, self.n) = a.shape[:-2], a.shape[-2:]
        return out

    def backward(self, grad):
        (out,) = self.saved_tensors
        m, n = self.m, self.n
        k = min(m, n)
        shapes = ((m, k), (k,), (k, n))
        u, s, vh = unpack(out, self.batch, *shapes)
        gu, gs, gvh = unpack(grad, self.batch, *shapes)
        v, gv = vh.mT, gvh.mT
        eye = _eye_like(s.unsqueeze(-1) * vh[..., :k])
        s2 = s * s
        e = s2.unsqueeze(-2) - s2.unsqueeze(-1) + eye
        uhgu = u.mT @ gu
        vhgv = v.mT @ gv
        g = ((uhgu - uhgu.mT) * s.unsqueeze(-2) + s.unsqueeze(-1) * (vhgv - vhgv.mT)) / e
        g = g * (1.0 - eye) + gs.diag_embed()
        if m > n:
            gu_s = gu / s.unsqueeze(-2)
            return (u @ g + gu_s - u @ (u.mT @ gu_s)) @ vh
        if m < n:
            gv_s = gv / s.unsqueeze(-2)
            return u @ (g @ vh + gv_s.mT - (gv_s.mT @ v) @ vh)
        return u @ g @ vh


class Qr(Function):
    """(q, r) = qr(a) (reduced), packed as (..., m*k + k*n); the gradient is torch's for
    m >= n: da = (dq + q copyltu(r dr^T - dq^T q)) r^-T"""

    def forward(self, a, mode):
        xp = array_module(a)
        q, r = xp.linalg.qr(a, mode=mode)
        out = pack(xp, a.shape[:-2], q, r)
        self.save_for_backward(out)
        self.batch, (self.m, self.n), self.k = a.shape[:-2], a.shape[-2:], q.shape[-1]
        return out

    def backward(self, grad):
        (out,) = self.saved_tensors
        m, n, k = self.m, self.n, self.k
        if k != min(m, n):
            raise NotImplementedError(
                f"linalg.qr: the gradient of mode='complete' is implemented for m <= n only, "
                f"got shape {(m, n)}")
        shapes = ((m, k), (k, n))
        q, r = unpack(out, self.batch, *shapes)
        gq, gr = unpack(grad, self.batch, *shapes)
        if m >= n:
            return _qr_backward(q, r, gq, gr)
        # A = Q [U V]: the square part X = Q U as above with dQ + Y dV^T, and dY = Q dV
        u, v = r[..., :m], r[..., m:]
        gu, gv = gr[..., :m], gr[..., m:]
        gx = _qr_backward(q, u, gq + (q @ v) @ gv.mT, gu)
        return Cat.apply(gx, q @ gv, axis=-1)


def _qr_backward(q, r, gq, gr):
    """torch's QR gradient for m >= n: (dQ + Q copyltu(M)) R^-T with M = R dR^T - dQ^T Q."""
    b = (gr @ r.mT - q.mT @ gq).triu()
    sym = b + b.mT
    sym = sym - sym.diagonal(0, -2, -1).diag_embed() * 0.5
    return Solve.apply(r, (q @ sym + gq).mT).mT              # g R^-T


class Pinv(Function):
    """y = pinv(a) by the SVD, singular values at most max(atol, rtol * s_max) dropped;
    the gradient is torch's pinv_backward"""

    def forward(self, a, atol, rtol):
        xp = array_module(a)
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else s[..., :1]
        cut = xp.maximum(atol, rtol * smax)
        with quiet(xp):
            s_inv = xp.where(s > cut, 1.0 / s, 0.0).astype(a.dtype, copy=False)
        y = (vh.swapaxes(-1, -2) * s_inv[..., None, :]) @ u.swapaxes(-1, -2)
        self.save_for_backward(a, y)
        return y

    def backward(self, grad):
        a, p = self.saved_tensors
        m, n = a.shape[-2:]
        ph, gh = p.mT, grad.mT
        if m <= n:
            k = gh @ p
            kph = k @ ph
            return -(p @ k).mT + kph - (a @ p) @ kph + (ph @ p) @ (gh - k @ a)
        k = p @ gh
        phk = ph @ k
        return -(k @ p).mT + (gh - a @ k) @ p @ ph + phk - phk @ p @ a
