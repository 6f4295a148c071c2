"""L-BFGS over all parameters as one flat vector, with an optional strong-Wolfe line search.

The iteration, its stopping tests and the line search follow torch.optim.LBFGS (itself after
minFunc), so with the same closure the two produce the same iterates.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Optional

from .. import backend
from ..autograd import enable_grad
from .._checks import is_finite_at_least
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, _check, _state_tensor


def _cubic_min(x1, f1, g1, x2, f2, g2, bounds: Optional[tuple] = None) -> float:
    """Minimiser of the cubic through (x1, f1, f1') and (x2, f2, f2'), clamped to `bounds`
    (default: the interval between x1 and x2); the midpoint when the cubic has no minimum."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 ** 2 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = math.sqrt(disc)
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def _strong_wolfe(evaluate: Callable, t: float, d, f: float, g, gtd: float,
                  c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                  max_ls: int = 25) -> tuple:
    """Step length t along d meeting the strong Wolfe conditions (Nocedal & Wright, Alg. 3.5/3.6).

    `evaluate(t)` gives (loss, flat grad) at x + t d. Returns (f, g, t, evaluations).
    """
    d_norm = float(abs(d).max())
    g = g.copy()
    f_new, g_new = evaluate(t)
    evals, ls_iter = 1, 0
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    # Phase 1: step out until the interval [t_prev, t] brackets a point we want.
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new.copy(), gtd_new]]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, done = [[t, f_new, g_new, gtd_new]], True
            break
        if gtd_new >= 0:
            bracket = [[t_prev, f_prev, g_prev, gtd_prev], [t, f_new, g_new.copy(), gtd_new]]
            break
        t_next = _cubic_min(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                            bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new.copy(), gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket = [[0.0, f, g, None], [t, f_new, g_new, None]]
    # Phase 2 (zoom): shrink the bracket by cubic interpolation; `low` holds the lower loss.
    insufficient = False
    low, high = (0, 1) if bracket[0][1] <= bracket[-1][1] else (1, 0)
    while not done and ls_iter < max_ls:
        (ta, fa, _, ga), (tb, fb, _, gb) = bracket
        if abs(tb - ta) * d_norm < tolerance_change:
            break
        t = _cubic_min(ta, fa, ga, tb, fb, gb)
        # Keep away from the ends: a point too close to one makes little progress.
        top, bottom = max(ta, tb), min(ta, tb)
        margin = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < margin:
            if insufficient or t >= top or t <= bottom:
                t = top - margin if abs(t - top) < abs(t - bottom) else bottom + margin
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket[low][1]:
            bracket[high] = [t, f_new, g_new.copy(), gtd_new]
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = [t, f_new, g_new.copy(), gtd_new]
    t, f_new, g_new, _ = bracket[low]
    return f_new, g_new, t, evals


class LBFGS(Optimizer):
    """Limited-memory BFGS, torch's variant; `step(closure)` runs up to max_iter iterations.

    The direction comes from the two-loop recursion over the last `history_size` pairs
    (s = x_{k+1} - x_k, y = g_{k+1} - g_k), scaled by H = s.y / y.y. Without a line search the
    step is lr (the first one lr * min(1, 1 / |g|_1)); with "strong_wolfe" that is the trial step.
    One param group only, as in torch.
    """

    def __init__(self, params: ParamsT, lr: float = 1.0, max_iter: int = 20,
                 max_eval: Optional[int] = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: Optional[str] = None):
        _check("LBFGS", "learning rate", lr, is_finite_at_least(lr))
        for what, value in (("max_iter", max_iter), ("history_size", history_size)):
            _check("LBFGS", what, value, isinstance(value, numbers.Integral) and value >= 1)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        _check("LBFGS", "max_eval", max_eval,
               isinstance(max_eval, numbers.Integral) and max_eval >= 1)
        _check("LBFGS", "tolerance_grad", tolerance_grad, is_finite_at_least(tolerance_grad))
        _check("LBFGS", "tolerance_change", tolerance_change,
               is_finite_at_least(tolerance_change))
        _check("LBFGS", "line_search_fn (None or 'strong_wolfe')", line_search_fn,
               line_search_fn in (None, "strong_wolfe"))
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS: doesn't support per-parameter options (parameter groups); "
                             f"got {len(self.param_groups)} groups")
        self._params = self.param_groups[0]["params"]

    # -- the parameters as one flat vector ---------------------------------------------------
    def _flat_grad(self):
        xp = backend.array_module(self._params[0]._data)
        parts = []
        for p in self._params:
            if p.grad is None:
                parts.append(xp.zeros(p._data.size, dtype=p._data.dtype))
            else:
                parts.append(p.grad._data.astype(p._data.dtype, copy=False).reshape(-1))
        return xp.concatenate(parts)

    def _add_to_params(self, t: float, d) -> None:
        """x += t * d, d a flat vector."""
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += t * d[offset:offset + n].reshape(p._data.shape)
            p._version.v += 1
            offset += n

    def _set_params(self, values: list) -> None:
        for p, v in zip(self._params, values):
            p._data[...] = v
            p._version.v += 1

    def step(self, closure: Callable[[], Any]):  # type: ignore[override]
        """Run up to max_iter L-BFGS iterations; `closure` zeroes grads, recomputes the loss,
        calls backward and returns the loss. Returns the loss at the starting point."""
        if closure is None:
            raise RuntimeError("LBFGS: step needs a closure that recomputes the loss")
        if len(self.param_groups) != 1:
            raise ValueError(f"LBFGS: expects one parameter group, got {len(self.param_groups)}")

        def evaluate() -> tuple:
            with enable_grad():
                loss = closure()
            return loss, float(loss)

        group = self.param_groups[0]
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss, loss = evaluate()
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if float(abs(g).max()) <= tol_grad:
            return orig_loss

        d = _unwrap(state.get("d"))
        t = state.get("t")
        old_dirs = [_unwrap(v) for v in state.get("old_dirs", [])]
        old_stps = [_unwrap(v) for v in state.get("old_stps", [])]
        ro = list(state.get("ro", []))
        h_diag = state.get("H_diag", 1.0)
        prev_g = _unwrap(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")
        al = state.get("al")        # the two-loop's coefficients, made on the second iteration

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -g
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                y = g - prev_g
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:      # keep the pair only where the curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                # two-loop recursion: d = -H g
                if al is None:
                    al = [None] * history_size
                q = -g
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = float(old_stps[i] @ q) * ro[i]
                    q -= al[i] * old_dirs[i]
                d = q * h_diag
                for i in range(len(old_dirs)):
                    beta = float(old_dirs[i] @ d) * ro[i]
                    d += (al[i] - beta) * old_stps[i]
            prev_g = g.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / float(abs(g).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(g @ d)
            if gtd > -tol_change:       # not a descent direction any more
                break

            ls_evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                x0 = [p._data.copy() for p in self._params]

                def along(step_len: float, x0=x0, d=d) -> tuple:
                    self._add_to_params(step_len, d)
                    f_t = evaluate()[1]
                    g_t = self._flat_grad()
                    self._set_params(x0)
                    return f_t, g_t

                loss, g, t, ls_evals = _strong_wolfe(along, t, d, loss, g, gtd,
                                                     max_ls=max_eval - evals)
                self._add_to_params(t, d)
                converged = float(abs(g).max()) <= tol_grad
            else:
                self._add_to_params(t, d)
                converged = False
                if n_iter != max_iter:  # the last iteration's loss is the next step's first
                    loss = evaluate()[1]
                    g = self._flat_grad()
                    converged = float(abs(g).max()) <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval or converged:
                break
            if float(abs(d * t).max()) <= tol_change or abs(loss - prev_loss) < tol_change:
                break

        state.update(d=_state_tensor(d), t=t, old_dirs=[_state_tensor(v) for v in old_dirs],
                     old_stps=[_state_tensor(v) for v in old_stps], ro=ro, H_diag=h_diag,
                     prev_flat_grad=_state_tensor(prev_g), prev_loss=prev_loss)
        if al is not None:
            state["al"] = al
        return orig_loss


def _unwrap(value):
    """A saved state Tensor's array (None stays None)."""
    return value._data if isinstance(value, Tensor) else value
