"""The Python side of `cargo xtask bench analytics`: one task per process, the same column files as the Rust
side, the computation timed alone, one JSON line printed. Run by the xtask inside its own virtualenv."""

import json
import sys
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def col(data, name, dtype):
    return np.fromfile(f"{data}/{name}", dtype=dtype)


def summaries(data):
    return (col(data, "summary.frequency.f64", "<f8"), col(data, "summary.recency.f64", "<f8"),
            col(data, "summary.age.f64", "<f8"), col(data, "summary.monetary.f64", "<f8"))


def rfm(data, as_of_day):
    df = pd.DataFrame({"customer": col(data, "orders.customer.u32", "<u4"),
                       "day": col(data, "orders.day.i32", "<i4"),
                       "amount": col(data, "orders.amount.i64", "<i8")})
    start = time.perf_counter()
    # Same-day orders are one purchase, as on the Rust side.
    daily = df.groupby(["customer", "day"], sort=False)["amount"].sum().reset_index()
    g = daily.groupby("customer").agg(last=("day", "max"), frequency=("day", "size"), monetary=("amount", "sum"))
    g["recency"] = as_of_day - g["last"]
    g["r"] = pd.qcut(g["recency"].rank(method="first"), 5, labels=[5, 4, 3, 2, 1]).astype(int)
    g["f"] = pd.qcut(g["frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
    g["m"] = pd.qcut(g["monetary"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype(int)
    seconds = time.perf_counter() - start
    return seconds, {"customers": len(g), "purchase_days": len(daily), "score_sum": int((g.r + g.f + g.m).sum())}


def bgnbd(data):
    from lifetimes import BetaGeoFitter
    f, r, t, _ = summaries(data)
    start = time.perf_counter()
    m = BetaGeoFitter(penalizer_coef=0.0).fit(f, r, t)
    seconds = time.perf_counter() - start
    p = m.params_
    return seconds, {"r": p["r"], "alpha": p["alpha"], "a": p["a"], "b": p["b"]}


def gamma_gamma(data):
    from lifetimes import GammaGammaFitter
    f, _, _, m = summaries(data)
    keep = (f > 0) & (m > 0)
    start = time.perf_counter()
    g = GammaGammaFitter(penalizer_coef=0.0).fit(f[keep], m[keep])
    seconds = time.perf_counter() - start
    p = g.params_
    return seconds, {"p": p["p"], "q": p["q"], "gamma": p["v"], "customers": int(keep.sum())}


def kmeans(data):
    from sklearn.cluster import KMeans
    x = col(data, "kmeans.f64", "<f8").reshape(-1, 3)
    start = time.perf_counter()
    m = KMeans(n_clusters=8, init="k-means++", n_init=1, max_iter=300, random_state=0).fit(x)
    seconds = time.perf_counter() - start
    return seconds, {"inertia": float(m.inertia_), "iterations": int(m.n_iter_)}


def logistic(data):
    from sklearn.linear_model import LogisticRegression
    x = col(data, "logistic.x.f64", "<f8").reshape(-1, 10)
    y = col(data, "logistic.y.u8", "u1")
    start = time.perf_counter()
    # The Rust side minimises the log-loss plus 1/2 * 1.0 * |beta|^2: that is C = 1.
    m = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    seconds = time.perf_counter() - start
    return seconds, {"coefficients": [float(v) for v in m.coef_[0]]}


def fpgrowth(data, support):
    from mlxtend.frequent_patterns import fpgrowth as mine
    offsets = col(data, "baskets.offsets.u32", "<u4").astype(np.int64)
    items = col(data, "baskets.items.u32", "<u4").astype(np.int64)
    rows = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    onehot = np.zeros((len(offsets) - 1, int(items.max()) + 1), dtype=bool)
    onehot[rows, items] = True
    df = pd.DataFrame(onehot)
    start = time.perf_counter()
    sets = mine(df, min_support=support)
    seconds = time.perf_counter() - start
    return seconds, {"itemsets": len(sets)}


def main():
    task, data, as_of_day = sys.argv[1], sys.argv[2], int(sys.argv[3])
    runs = {
        "rfm": lambda: rfm(data, as_of_day),
        "bgnbd": lambda: bgnbd(data),
        "gamma-gamma": lambda: gamma_gamma(data),
        "kmeans": lambda: kmeans(data),
        "logistic": lambda: logistic(data),
        "fpgrowth-0.01": lambda: fpgrowth(data, 0.01),
        "fpgrowth-0.001": lambda: fpgrowth(data, 0.001),
    }
    seconds, check = runs[task]()
    print(json.dumps({"seconds": seconds, "check": check}, default=float))


if __name__ == "__main__":
    main()
