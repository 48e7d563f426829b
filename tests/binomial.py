"""Exact binomial acceptance intervals, for asserting a traffic share without flakiness."""

from __future__ import annotations

import math


def _pmf(n: int, p: float, k: int) -> float:
    if p in (0.0, 1.0):
        return float(k == round(n * p))
    log = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    return math.exp(log + k * math.log(p) + (n - k) * math.log1p(-p))


def interval(n: int, p: float, alpha: float) -> tuple[int, int]:
    """(lo, hi): a Binomial(n, p) count falls outside [lo, hi] with probability at most `alpha`
    (alpha/2 per tail)."""
    pmf = [_pmf(n, p, k) for k in range(n + 1)]
    lo, tail = 0, 0.0
    while lo < n and tail + pmf[lo] <= alpha / 2:
        tail += pmf[lo]
        lo += 1
    hi, tail = n, 0.0
    while hi > 0 and tail + pmf[hi] <= alpha / 2:
        tail += pmf[hi]
        hi -= 1
    return lo, hi
