"""Winograd F(2x2,3x3) and F(4x4,3x3) convolution on the CPU, channels-last inside.

Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks" (2015): an m x m output tile
of a 3x3 correlation is Y = A^T [(G g G^T) . (B^T d B)] A over the (m+2) x (m+2) input tile d.
Here the tiles of a chunk of the batch are transformed at once, so the elementwise product
becomes one GEMM per tile position, (tiles, C) @ (C, K), (m+2)^2 of them; the chunks (about
CHUNK_BYTES of V each, so a chunk's passes stay in cache) are split over the intra-op pool.
The transforms are small GEMMs with the transform matrices over channels-last strips (C
innermost), so every pass reads and writes long contiguous runs.

Notation: U[v, u, c, k] is the transformed weight, V[v, u, t, c] the transformed input and
M[v, u, t, k] = V @ U their product, where u indexes the tile's rows, v its columns and t the
tiles (n, tile row, tile column). The gradients are the exact adjoints of the forward's steps:
dM = A dY A^T is shared by both; dU = V^T dM (then dw = G^T dU G) and dV = dM U^T (then
dd = B dV B^T, overlap-added back onto the input canvas). The forward keeps V for the weight
gradient.

F(2x2) rounds as a direct convolution does; F(4x4)'s transform constants (up to 8 and 1/24)
cost accuracy: its float32 error (max |error| / max |exact|) grows from 1.6e-6 at 16 channels
to 1.7e-5 at 512, where a direct conv's stays below 1e-6 (table in docs/benchmarks.md).
float64 always runs direct (see `choose`), and the tests run these functions in float64 to
hold the algebra to 1e-12.
"""
from __future__ import annotations

from ..backend import array_module, intraop

ALGORITHMS = ("auto", "direct", "winograd2", "winograd4")
_state = {"algorithm": "auto"}


def get_algorithm() -> str:
    return _state["algorithm"]


def set_algorithm(name) -> None:
    if name not in ALGORITHMS:
        raise ValueError(f"conv_algorithm: expected one of {', '.join(map(repr, ALGORITHMS))}, "
                         f"got {name!r}")
    _state["algorithm"] = name


# transform matrices (B^T, G, A^T) for output tiles of 2 and 4 (points 0, +-1 and 0, +-1, +-2)
_F2 = ([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
       [[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]],
       [[1, 1, 1, 0], [0, 1, -1, -1]])
_F4 = ([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
       [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
        [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
       [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]])
_MATS = {2: _F2, 4: _F4}
_cast = {}


def _mats(xp, m: int, dtype):
    """(B^T, G, A^T, B, A) for F(m x m, 3x3) as arrays of `dtype`, memoised."""
    key = (xp.__name__, m, str(dtype))
    if key not in _cast:
        bt, g, at = (xp.asarray(a, dtype=dtype) for a in _MATS[m])
        _cast[key] = (bt, g, at, xp.ascontiguousarray(bt.T), xp.ascontiguousarray(at.T))
    return _cast[key]


# "auto" keeps smaller batches direct (measured: 256->256 @8x8 batch 8, 32 tiles, direct 1.6x
# torch and F(4x4) 3.8x; 64->64 @16x16 batch 1, 16 tiles, 1.4x and 2.4x; from 256 tiles F(4x4)
# is ahead of direct, 0.8-1.1x torch against 1.8x)
MIN_BATCH_TILES = 128


def choose(x_shape, w_shape, dtype, stride, dilation, groups, device: str) -> str:
    """The algorithm for this convolution: "direct", "winograd2" or "winograd4".

    Winograd takes 3x3, stride-1, undilated, ungrouped float32 convolutions on the CPU. Under
    "auto", C_in <= 8 stays direct (the im2col GEMM is best for the 3-channel first layer and
    the small ones) and so does C_in < 16, and a batch of fewer than MIN_BATCH_TILES 4x4 tiles
    (batch 1-8 at 8x8 or 16x16: the transforms' fixed costs, the weight's above all, outweigh
    the GEMMs' savings). From 16 input channels F(4x4) takes each spatial axis whose size is a
    multiple of 4 or at least 16, F(2x2) the rest (tiles that hang far over the edge waste
    work). A forced "winograd2"/"winograd4" applies wherever Winograd can.
    """
    algo = _state["algorithm"]
    if algo == "direct" or device != "cpu" or str(dtype) != "float32":
        return "direct"
    if tuple(w_shape[2:]) != (3, 3) or tuple(stride) != (1, 1) or tuple(dilation) != (1, 1) \
            or groups != 1:
        return "direct"
    if algo != "auto":
        return algo
    if x_shape[1] < 16 or x_shape[0] * -(-x_shape[2] // 4) * -(-x_shape[3] // 4) < MIN_BATCH_TILES:
        return "direct"
    return "winograd4" if all(s % 4 == 0 or s >= 16 for s in x_shape[2:]) else "winograd2"


def tile_size(algo: str) -> int:
    return 4 if algo == "winograd4" else 2


class Tiling:
    """The tile grid of one convolution: input (n, c, h, w) padded (t, b, l, r), output p x q."""

    def __init__(self, x_shape, padding, m: int):
        self.n, self.c, self.h, self.w = x_shape
        self.pads = tuple(padding)
        t, b, l, r = self.pads
        self.m, self.a = m, m + 2
        self.p, self.q = self.h + t + b - 2, self.w + l + r - 2
        self.tp, self.tq = -(-self.p // m), -(-self.q // m)
        # the canvas holds every tile's input; it is at least the padded input
        self.hc, self.wc = self.tp * m + 2, self.tq * m + 2

    def tiles(self, n: int) -> int:
        return n * self.tp * self.tq


def _strided(xp, a, shape, strides):
    return xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


def weight_transform(w, m: int):
    """U[v, u, c, k] = (G w[k, c] G^T)[u, v], as (a*a, C, K)."""
    xp = array_module(w)
    g = _mats(xp, m, w.dtype)[1]
    k, c = w.shape[:2]
    u = xp.matmul(xp.matmul(g, w.reshape(k * c, 3, 3)), g.T)   # [kc, u, v]
    return xp.ascontiguousarray(u.reshape(k, c, m + 2, m + 2).transpose(3, 2, 1, 0)) \
        .reshape((m + 2) ** 2, c, k)


def weight_untransform(du, k: int, c: int, m: int):
    """The adjoint of weight_transform: dw[k, c] = G^T dU[:, :, c, k]^T G, as (K, C, 3, 3)."""
    xp = array_module(du)
    g = _mats(xp, m, du.dtype)[1]
    a = m + 2
    d = du.reshape(a, a, c, k).transpose(3, 2, 1, 0).reshape(k * c, a, a)   # [kc, u, v]
    return xp.matmul(xp.matmul(g.T, d), g).reshape(k, c, 3, 3)


def input_transform(x, grid: Tiling):
    """V[v, u, t, c] = (B^T d_t B)[u, v] for every tile t of x (NCHW-shaped, any strides)."""
    xp = array_module(x)
    bt = _mats(xp, grid.m, x.dtype)[0]
    n, a, m = x.shape[0], grid.a, grid.m
    t, _, l, _ = grid.pads
    canvas = xp.zeros((n, grid.hc, grid.wc, grid.c), dtype=x.dtype)
    canvas[:, t:t + grid.h, l:l + grid.w] = x.transpose(0, 2, 3, 1)
    s0, s1, s2, s3 = canvas.strides
    # rows: strips[i, n, tile row, column, c] = canvas[n, tile row * m + i, column, c]
    strips = _strided(xp, canvas, (a, n, grid.tp, grid.wc, grid.c), (s1, s0, m * s1, s2, s3))
    rows = xp.matmul(bt, xp.ascontiguousarray(strips).reshape(a, -1))
    del canvas, strips
    rows = rows.reshape(a, n, grid.tp, grid.wc, grid.c)                # [u, n, tile row, column, c]
    r0, r1, r2, r3, r4 = rows.strides
    cols = _strided(xp, rows, (a, a, n, grid.tp, grid.tq, grid.c), (r3, r0, r1, r2, m * r3, r4))
    v = xp.matmul(bt, xp.ascontiguousarray(cols).reshape(a, -1))
    return v.reshape(a * a, n * grid.tp * grid.tq, grid.c)


def output_transform(mm, grid: Tiling, out, bias=None):
    """out[n, p, q, k] = (A^T M A per tile, cropped to p x q) + bias; out channels-last."""
    xp = array_module(mm)
    at = _mats(xp, grid.m, mm.dtype)[2]
    a, m, k, n = grid.a, grid.m, mm.shape[-1], out.shape[0]
    z = xp.matmul(at, mm.reshape(a, -1))                         # [j, u, t, k]
    y = xp.matmul(at, z.reshape(m, a, -1))                       # [j, i, t, k]
    y = y.reshape(m, m, n, grid.tp, grid.tq, k).transpose(2, 3, 1, 4, 0, 5)
    whole = (grid.p, grid.q) == (grid.tp * m, grid.tq * m)
    dst = out if whole else xp.empty((n, grid.tp * m, grid.tq * m, k), dtype=mm.dtype)
    d6 = dst.reshape(n, grid.tp, m, grid.tq, m, k)
    if bias is None:
        d6[...] = y
    else:
        xp.add(y, bias, out=d6)
    if not whole:
        out[...] = dst[:, :grid.p, :grid.q]


def grad_transform(dy, grid: Tiling):
    """dM[v, u, t, k] = (A dY_t A^T)[u, v] for every output tile of dy (NCHW-shaped)."""
    xp = array_module(dy)
    a_mat = _mats(xp, grid.m, dy.dtype)[4]
    n, k = dy.shape[:2]
    a, m = grid.a, grid.m
    if (grid.p, grid.q) != (grid.tp * m, grid.tq * m):
        full = xp.zeros((n, k, grid.tp * m, grid.tq * m), dtype=dy.dtype)
        full[:, :, :grid.p, :grid.q] = dy
        dy = full
    # g[j, i, n, tile row, tile col, k] = dy[n, k, tile row * m + i, tile col * m + j]
    g = dy.reshape(n, k, grid.tp, m, grid.tq, m).transpose(5, 3, 0, 2, 4, 1)
    z = xp.matmul(a_mat, xp.ascontiguousarray(g).reshape(m, -1))  # [v, i, t, k]
    dm = xp.matmul(a_mat, z.reshape(a, m, -1))                    # [v, u, t, k]
    return dm.reshape(a * a, -1, k)


def input_untransform(dv, grid: Tiling, out):
    """The adjoint of input_transform: out[n, h, w, c] = dx from dV[v, u, t, c]."""
    xp = array_module(dv)
    b = _mats(xp, grid.m, dv.dtype)[3]
    a, m, c, n = grid.a, grid.m, dv.shape[-1], out.shape[0]
    z = xp.matmul(b, dv.reshape(a, -1))                           # [j, u, t, c]
    dd = xp.matmul(b, z.reshape(a, a, -1))                        # [j, i, t, c]
    del z
    dd = dd.reshape(a, a, n, grid.tp, grid.tq, c)
    canvas = xp.zeros((n, grid.hc, grid.wc, c), dtype=dv.dtype)
    hs, ws = grid.tp * m, grid.tq * m
    # tiles overlap by two rows and columns: each tile position adds onto a non-overlapping grid
    for i in range(a):
        for j in range(a):
            canvas[:, i:i + hs:m, j:j + ws:m] += dd[j, i]
    t, _, l, _ = grid.pads
    out[...] = canvas[:, t:t + grid.h, l:l + grid.w]


# -- the passes a Conv2d needs, a chunk of the batch at a time --------------------------------
# Images per chunk: about this many bytes of V, so one chunk's transforms and GEMM outputs stay
# in the caches between the passes that write and read them
CHUNK_BYTES = 1 << 20


# ... but at least this many tiles, so each of the (m+2)^2 GEMMs keeps enough rows for BLAS
# (at 256 channels and 8x8 images a 1 MB chunk is 6 images, 24 rows)
MIN_TILES = 64


def _chunk(grid: Tiling) -> int:
    per_image = grid.a * grid.a * grid.tp * grid.tq * grid.c * 4
    least = -(-MIN_TILES // (grid.tp * grid.tq))
    return max(1, min(grid.n, max(CHUNK_BYTES // per_image, least)))


def _split(grid: Tiling):
    """(chunk starts, images per chunk, parts): the chunks in `parts` contiguous runs, one per
    thread of the intra-op pool; the same for a forward and its backward."""
    nb = _chunk(grid)
    starts = list(range(0, grid.n, nb))
    return starts, nb, min(intraop.threads(), len(starts))


def _run_of(part: int, parts: int, count: int) -> range:
    return range(part * count // parts, (part + 1) * count // parts)


def conv_forward(x, w, bias, padding, m: int, keep_v: bool):
    """(y, V chunks): y NCHW-shaped (channels-last in memory); V kept for the weight gradient."""
    xp = array_module(x)
    grid = Tiling(x.shape, padding, m)
    u = weight_transform(w, m)
    out = xp.empty((grid.n, grid.p, grid.q, w.shape[0]), dtype=x.dtype)
    starts, nb, parts = _split(grid)

    def run(part):
        vs = []
        for c in _run_of(part, parts, len(starts)):
            s = starts[c]
            v = input_transform(x[s:s + nb], grid)
            output_transform(xp.matmul(v, u), grid, out[s:s + nb], bias)
            if keep_v:
                vs.append(v)
            del v
        return vs

    vs = [v for run_vs in intraop.parallel_for(run, parts, pin=True) for v in run_vs]
    return out.transpose(0, 3, 1, 2), (vs if keep_v else None)


def conv_backward(dy, w, x, x_shape, padding, m: int, need_dx=True, need_dw=False, vs=None):
    """(dx, dw) of y = conv(x, w): dM per chunk feeds both; V from the forward when given."""
    xp = array_module(dy)
    grid = Tiling(x_shape, padding, m)
    dx = ut = None
    if need_dx:
        ut = weight_transform(w, m).transpose(0, 2, 1)
        dx = xp.empty((grid.n, grid.h, grid.w, grid.c), dtype=dy.dtype)
    starts, nb, parts = _split(grid)

    def run(part):
        du = None
        for c in _run_of(part, parts, len(starts)):
            s = starts[c]
            dm = grad_transform(dy[s:s + nb], grid)
            if need_dx:
                input_untransform(xp.matmul(dm, ut), grid, dx[s:s + nb])
            if need_dw:
                v = vs[c] if vs is not None else input_transform(x[s:s + nb], grid)
                g = xp.matmul(v.transpose(0, 2, 1), dm)
                du = g if du is None else xp.add(du, g, out=du)
                del v, g
            del dm
        return du

    dus = intraop.parallel_for(run, parts, pin=True)
    dw = None
    if need_dw:
        du = dus[0]
        for d in dus[1:]:
            du += d
        dw = weight_untransform(du, dy.shape[1], grid.c, m)
    return (dx.transpose(0, 3, 1, 2) if need_dx else None), dw
