"""Reference 2-D convolution (NCHW) written straight from its three GEMM definitions.

Slow but obviously right: each pass builds its GEMM operands element by element from the index
formulas that the CUDA kernels in kernels/conv2d.cu use, then multiplies them. It is the oracle for
the GPU kernels and for the fast CPU convolution. Arrays in, arrays out; float64 by default.

    forward          y[n, k, p, q]  GEMM  M = N*P*Q,  N = K/G,      K = C/G*R*S
    backward data    dx[n, c, h, w] GEMM  M = N*H*W,  N = C/G,      K = K/G*R*S
    backward weight  dw[k, c, r, s] GEMM  M = K/G,    N = C/G*R*S,  K = N*P*Q

with h = p*stride - pad + r*dilation (and the same along w / q / s).
"""
from __future__ import annotations

import numpy as np


def _pair(v, name: str) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"conv2d_ref: {name} must be an int or a pair, got {v}")
    return v


def conv_out_size(size: int, kernel: int, stride: int, pad: int, dil: int) -> int:
    """Output length along one axis: floor((size + 2*pad - dil*(kernel-1) - 1) / stride) + 1."""
    return (size + 2 * pad - dil * (kernel - 1) - 1) // stride + 1


def conv_params(x_shape, w_shape, stride=1, padding=0, dilation=1, groups=1) -> dict:
    """Check shapes; return every size the GEMM mapping needs (N, C, H, W, K, R, S, P, Q, ...)."""
    n, c, h, w = (int(s) for s in x_shape)
    k, cg, r, s = (int(t) for t in w_shape)
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    g = int(groups)
    if g < 1 or c % g or k % g:
        raise ValueError(f"conv2d_ref: groups={g} must divide in channels {c} and out channels {k}")
    if cg != c // g:
        raise ValueError(f"conv2d_ref: weight {tuple(w_shape)} expects {cg * g} input channels "
                         f"for groups={g}, input {tuple(x_shape)} has {c}")
    if min(sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
        raise ValueError(f"conv2d_ref: stride {sh, sw} and dilation {dh, dw} must be >= 1, "
                         f"padding {ph, pw} >= 0")
    p = conv_out_size(h, r, sh, ph, dh)
    q = conv_out_size(w, s, sw, pw, dw)
    if p < 1 or q < 1:
        raise ValueError(f"conv2d_ref: input {tuple(x_shape)} is smaller than the dilated kernel "
                         f"{tuple(w_shape)} with padding {ph, pw}")
    return dict(N=n, C=c, H=h, W=w, K=k, R=r, S=s, P=p, Q=q, G=g, Cg=c // g, Kg=k // g,
                sh=sh, sw=sw, ph=ph, pw=pw, dh=dh, dw=dw)


def _gemm_rows(shape):
    """All multi-indices of `shape` in row-major order, one column per axis."""
    return np.indices(shape).reshape(len(shape), -1)


def conv2d_reference_forward(x, w, stride=1, padding=0, dilation=1, groups=1,
                             dtype=np.float64) -> np.ndarray:
    """y = conv2d(x, w): per group, A[m=(n,p,q), k=(c,r,s)] = x[n, c, h, w] (0 outside), B = w."""
    d = conv_params(x.shape, w.shape, stride, padding, dilation, groups)
    x = np.asarray(x, dtype)
    w = np.asarray(w, dtype)
    n_, p_, q_ = _gemm_rows((d["N"], d["P"], d["Q"]))                 # GEMM rows m
    c_, r_, s_ = _gemm_rows((d["Cg"], d["R"], d["S"]))                # GEMM reduction k
    h = p_[:, None] * d["sh"] - d["ph"] + r_[None, :] * d["dh"]       # [M, K]
    ww = q_[:, None] * d["sw"] - d["pw"] + s_[None, :] * d["dw"]
    inside = (h >= 0) & (h < d["H"]) & (ww >= 0) & (ww < d["W"])
    hc, wc = np.clip(h, 0, d["H"] - 1), np.clip(ww, 0, d["W"] - 1)
    y = np.empty((d["N"], d["K"], d["P"], d["Q"]), dtype)
    for g in range(d["G"]):
        a = np.where(inside, x[n_[:, None], g * d["Cg"] + c_[None, :], hc, wc], 0)  # [M, K]
        b = w[g * d["Kg"]:(g + 1) * d["Kg"]].reshape(d["Kg"], -1).T                 # [K, N]
        out = a @ b                                                                  # [M, N]
        y[:, g * d["Kg"]:(g + 1) * d["Kg"]] = \
            out.reshape(d["N"], d["P"], d["Q"], d["Kg"]).transpose(0, 3, 1, 2)
    return y


def conv2d_reference_backward_data(dy, w, x_shape, stride=1, padding=0, dilation=1, groups=1,
                                   dtype=np.float64) -> np.ndarray:
    """dx: per group, A[m=(n,h,w), k=(k,r,s)] = dy[n, k, p, q] where p = (h + pad - r*dil)/stride
    is a whole number inside [0, P) (0 otherwise), B[k=(k,r,s), c] = w[k, c, r, s]."""
    d = conv_params(x_shape, w.shape, stride, padding, dilation, groups)
    dy = np.asarray(dy, dtype)
    w = np.asarray(w, dtype)
    if dy.shape != (d["N"], d["K"], d["P"], d["Q"]):
        raise ValueError(f"conv2d_ref: grad shape {dy.shape} != output shape "
                         f"{(d['N'], d['K'], d['P'], d['Q'])}")
    n_, h_, w_ = _gemm_rows((d["N"], d["H"], d["W"]))
    k_, r_, s_ = _gemm_rows((d["Kg"], d["R"], d["S"]))
    pn = h_[:, None] + d["ph"] - r_[None, :] * d["dh"]
    qn = w_[:, None] + d["pw"] - s_[None, :] * d["dw"]
    p, q = pn // d["sh"], qn // d["sw"]
    ok = (pn % d["sh"] == 0) & (qn % d["sw"] == 0)
    ok &= (p >= 0) & (p < d["P"]) & (q >= 0) & (q < d["Q"])
    pc, qc = np.clip(p, 0, d["P"] - 1), np.clip(q, 0, d["Q"] - 1)
    dx = np.empty((d["N"], d["C"], d["H"], d["W"]), dtype)
    for g in range(d["G"]):
        a = np.where(ok, dy[n_[:, None], g * d["Kg"] + k_[None, :], pc, qc], 0)     # [M, K]
        wg = w[g * d["Kg"]:(g + 1) * d["Kg"]]                                       # [Kg, Cg, R, S]
        b = wg.transpose(0, 2, 3, 1).reshape(-1, d["Cg"])                           # [(k,r,s), c]
        out = a @ b
        dx[:, g * d["Cg"]:(g + 1) * d["Cg"]] = \
            out.reshape(d["N"], d["H"], d["W"], d["Cg"]).transpose(0, 3, 1, 2)
    return dx


def conv2d_reference_backward_weight(x, dy, w_shape, stride=1, padding=0, dilation=1, groups=1,
                                     dtype=np.float64) -> np.ndarray:
    """dw: per group, A[m=k, kk=(n,p,q)] = dy[n,k,p,q], B[kk=(n,p,q), (c,r,s)] = x[n,c,h,w]."""
    d = conv_params(x.shape, w_shape, stride, padding, dilation, groups)
    x = np.asarray(x, dtype)
    dy = np.asarray(dy, dtype)
    if dy.shape != (d["N"], d["K"], d["P"], d["Q"]):
        raise ValueError(f"conv2d_ref: grad shape {dy.shape} != output shape "
                         f"{(d['N'], d['K'], d['P'], d['Q'])}")
    n_, p_, q_ = _gemm_rows((d["N"], d["P"], d["Q"]))                 # GEMM reduction
    c_, r_, s_ = _gemm_rows((d["Cg"], d["R"], d["S"]))                # GEMM columns
    h = p_[:, None] * d["sh"] - d["ph"] + r_[None, :] * d["dh"]
    ww = q_[:, None] * d["sw"] - d["pw"] + s_[None, :] * d["dw"]
    inside = (h >= 0) & (h < d["H"]) & (ww >= 0) & (ww < d["W"])
    hc, wc = np.clip(h, 0, d["H"] - 1), np.clip(ww, 0, d["W"] - 1)
    dw = np.empty(tuple(int(t) for t in w_shape), dtype)
    for g in range(d["G"]):
        a = dy[:, g * d["Kg"]:(g + 1) * d["Kg"]].transpose(1, 0, 2, 3).reshape(d["Kg"], -1)
        b = np.where(inside, x[n_[:, None], g * d["Cg"] + c_[None, :], hc, wc], 0)  # [NPQ, CRS]
        dw[g * d["Kg"]:(g + 1) * d["Kg"]] = (a @ b).reshape(d["Kg"], d["Cg"], d["R"], d["S"])
    return dw
