"""The trained attack's classifier: scikit-learn's `make_pipeline(StandardScaler(), LogisticRegression())`
(L2, C = 1, intercept not penalized), fitted by Newton's method in NumPy.

Why not scikit-learn itself: on the attack's few features (5) and few thousand examples, its pipeline
spent about 8 ms a fold in input checks and dispatch around a 1 ms fit, 42 ms a run over 5 folds, 11 s of
the Fig. 4.4 preset's 270 runs. This minimizes the same objective,

    C · Σᵢ log(1 + exp(−sᵢ (xᵢ·w + b))) + ½ ‖w‖²,   sᵢ = ±1,

on the same standardized features (mean 0 and population standard deviation 1 per column, a constant
column left at scale 1), to its optimum (Newton's decrement below 1e-14 of the objective), where lbfgs
stops at a gradient of 1e-4: tests/privacy check it against scikit-learn run to a tight tolerance.
"""
from __future__ import annotations

import numpy as np

C = 1.0
MAX_ITER = 100
# Stop when Newton's decrement is below this share of the objective: the coefficients are then within
# about 1e-7 of the optimum (the objective itself is a sum known to float64 rounding, ~1e-16 of it; a
# fixed 1e-20 was out of reach on some attack sets, and the line search then spun to its floor).
TOL = 1e-14


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # without overflow


class StandardLogistic:
    def fit(self, x: np.ndarray, y: np.ndarray) -> "StandardLogistic":
        x = np.asarray(x, np.float64)
        self.mean = x.mean(0)
        scale = x.std(0)
        self.scale = np.where(scale == 0, 1.0, scale)
        xa = np.column_stack([(x - self.mean) / self.scale, np.ones(len(x))])
        s = np.where(np.asarray(y) > 0, 1.0, -1.0)
        d = x.shape[1]
        ridge = np.r_[np.ones(d), 0.0]                       # the intercept is not penalized
        w = np.zeros(d + 1)

        xt = np.ascontiguousarray(xa.T)

        self.evaluations = 0  # of the objective: tests check Newton's few steps stay few

        def objective(v):
            self.evaluations += 1
            z = -s * (xa @ v)  # log(1 + e^z), stably (np.logaddexp took 4x as long)
            return C * (np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))).sum() + 0.5 * (ridge * v) @ v

        f = objective(w)
        for _ in range(MAX_ITER):
            p = _sigmoid(xa @ w)
            grad = C * xt @ (p - (s > 0)) + ridge * w
            hess = C * (xt * (p * (1.0 - p))) @ xa + np.diag(ridge)
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                step = np.linalg.lstsq(hess, grad, rcond=None)[0]
            decrement = grad @ step                          # ≈ 2 (f − f*): how far from the optimum
            if decrement < TOL * max(1.0, f):
                break
            t = 1.0
            for _ in range(10):                              # backtracking, t = 1, ½, …, 2⁻⁹
                # the objective must fall
                new = objective(w - t * step)
                if new <= f - 1e-4 * t * decrement:
                    break
                t *= 0.5
            else:                                            # no descent left above float64 rounding
                break
            w, f = w - t * step, new
        self.coef, self.intercept = w[:d], w[d]
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float64) - self.mean) / self.scale) @ self.coef + self.intercept

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = _sigmoid(self.decision_function(x))
        return np.column_stack([1.0 - p, p])
