"""Simulated rollouts: this project's sequential test against Flagger- and Argo-style rules.

    .venv/bin/python benchmarks/bench_analysis.py [--rollouts 1000] [--seed 2026]

Pure simulation (no cluster): the seed's plan (5% 30m, 25% 1h, 50% 2h, then 100%), a check
every minute, Poisson traffic, binomial errors. Rule (a) runs the operator's own code
(`codemode_operator.rollout.verdict`), so what is measured is what is deployed.
"""

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from codemode_operator.rollout import verdict

PLAN = ((0.05, 30), (0.25, 60), (0.50, 120))  # v2 share and minutes, up to the 100% step
SHARES = np.concatenate([np.full(minutes, share) for share, minutes in PLAN])
HARD_INFRA_BASE = 0.001  # the harder extra row: v1's infra errors only 0.1% of requests
ALPHA = 0.01
INFRA_GOAL = 60  # v2 requests: the median for 10x infra regressions


@dataclass(frozen=True)
class Cell:
    rate: int  # requests per minute, both versions
    base: float  # v1's error rate (all kinds)


@dataclass(frozen=True)
class Scenario:
    name: str
    errors: float  # v2's error rate (all kinds) / v1's, with v2's infra errors at `infra` x
    infra: float  # v2's infra error rate / v1's; the extra infra errors add to `errors`
    infra_base: float | None = None  # v1's infra error rate; None: all of the cell's baseline


SCENARIOS = (Scenario("equal", 1, 1), Scenario("2x errors", 2, 1), Scenario("10x infra", 1, 10))
HARD_INFRA = Scenario("10x infra, 0.1% infra baseline", 1, 10, HARD_INFRA_BASE)


@dataclass(frozen=True)
class Traffic:
    """Per rollout (rows) and minute (columns): requests, errors, infra errors per version."""

    canary: np.ndarray  # shape (3, rollouts, minutes)
    stable: np.ndarray


def simulate(cell: Cell, scenario: Scenario, rollouts: int, rng) -> Traffic:
    infra_base = cell.base if scenario.infra_base is None else scenario.infra_base

    def version(share: np.ndarray, other: float, infra: float) -> np.ndarray:
        requests = rng.poisson(cell.rate * share, (rollouts, share.size))
        infra_errors = rng.binomial(requests, infra)
        other_errors = rng.binomial(requests - infra_errors, max(other, 0.0) / (1 - infra))
        return np.stack([requests, other_errors + infra_errors, infra_errors])

    return Traffic(
        canary=version(
            SHARES, cell.base * scenario.errors - infra_base, infra_base * scenario.infra
        ),
        stable=version(1 - SHARES, cell.base - infra_base, infra_base),
    )


NEVER = -1


def first(failed: np.ndarray) -> np.ndarray:
    """The minute index of the first True per row, or NEVER."""
    return np.where(failed.any(axis=1), failed.argmax(axis=1), NEVER)


def sequential_test(traffic: Traffic) -> np.ndarray:
    """(a) The operator's verdict.update, both tests, one check a minute."""
    tests = ((verdict.ERRORS, 1), (verdict.INFRA_ERRORS, 2))
    rollouts, minutes = traffic.canary.shape[1:]
    detected = np.full(rollouts, NEVER)
    canary, stable = traffic.canary.tolist(), traffic.stable.tolist()
    for r in range(rollouts):
        states = [verdict.start(test, ALPHA) for test, _ in tests]
        for m in range(minutes):
            states = [
                verdict.update(
                    state,
                    test,
                    canary=(canary[0][r][m], canary[row][r][m]),
                    stable=(stable[0][r][m], stable[row][r][m]),
                    null_ratio=1.0,
                    alpha=ALPHA,
                )
                for state, (test, row) in zip(states, tests, strict=True)
            ]
            if any(s.verdict == "Fail" for s in states):
                detected[r] = m
                break
    return detected


def _rate(errors: np.ndarray, requests: np.ndarray) -> np.ndarray:
    return np.divide(errors, requests, out=np.ones(errors.shape), where=requests > 0)


def flagger(max_error_rate: float, threshold: int = 5) -> Callable[[Traffic], np.ndarray]:
    """(b) request-success-rate per 1-minute check; rollback at `threshold` failed checks.

    Flagger's failed-check counter is not reset by passing checks; no v2 data is a failure."""

    def rule(traffic: Traffic) -> np.ndarray:
        failed = _rate(traffic.canary[1], traffic.canary[0]) > max_error_rate
        return first(np.cumsum(failed, axis=1) >= threshold)

    return rule


def argo_success_rate(traffic: Traffic, every: int = 5, limit: int = 3) -> np.ndarray:
    """(c) success rate >= 95% per 5-minute measurement; fails at failureLimit + 1 failures."""
    rollouts, minutes = traffic.canary.shape[1:]
    sums = traffic.canary[:2].reshape(2, rollouts, minutes // every, every).sum(axis=3)
    failed = _rate(sums[1], sums[0]) > 0.05
    hit = first(np.cumsum(failed, axis=1) > limit)
    return np.where(hit == NEVER, NEVER, (hit + 1) * every - 1)


def argo_compare(traffic: Traffic) -> np.ndarray:
    """(c) `v2_rate <= v1_rate` every minute, failureLimit 0: the first worse minute."""
    canary = _rate(traffic.canary[1], traffic.canary[0])
    stable = np.divide(
        traffic.stable[1],
        traffic.stable[0],
        out=np.zeros(canary.shape),
        where=traffic.stable[0] > 0,
    )
    return first(canary > stable)


def rules(cell: Cell) -> dict[str, Callable[[Traffic], np.ndarray]]:
    return {
        "(a) this project (mSPRT)": sequential_test,
        "(b) Flagger: success >= 99%, 5 fails": flagger(0.01),
        f"(b) Flagger: errors <= {2 * cell.base:.0%}, 5 fails": flagger(2 * cell.base),
        "(c) Argo: success >= 95%/5m, limit 3": argo_success_rate,
        "(c) Argo: v2 <= v1 each 1m, limit 0": argo_compare,
    }


@dataclass(frozen=True)
class Detection:
    share: float
    requests: tuple[float, float]  # median, p95 v2 requests until the rollback
    minutes: tuple[float, float]

    def __str__(self) -> str:
        if not self.share:
            return f"{self.share:6.1%} {'-':>22}"
        (r50, r95), (m50, m95) = self.requests, self.minutes
        return f"{self.share:6.1%} {r50:6.0f}/{r95:6.0f} ({m50:3.0f}/{m95:3.0f}m)"


def measure(detected: np.ndarray, traffic: Traffic) -> Detection:
    hit = detected != NEVER
    if not hit.any():
        return Detection(0.0, (0, 0), (0, 0))
    requests = np.cumsum(traffic.canary[0], axis=1)[hit, detected[hit]]
    minutes = detected[hit] + 1
    return Detection(
        float(hit.mean()),
        (float(np.median(requests)), float(np.percentile(requests, 95))),
        (float(np.median(minutes)), float(np.percentile(minutes, 95))),
    )


CELLS = tuple(Cell(rate, base) for rate in (200, 1000) for base in (0.005, 0.02))


def main_table(rollouts: int, seed: int) -> list[str]:
    lines = [
        "| traffic | baseline | rule | false rollbacks | 2x errors: detected, median/p95 v2 "
        "requests (minutes) | 10x infra: detected, median/p95 v2 requests (minutes) |",
        "|---|---|---|---|---|---|",
    ]
    seeds = np.random.SeedSequence(seed).spawn(len(CELLS))
    for cell, cell_seed in zip(CELLS, seeds, strict=True):
        rng = np.random.default_rng(cell_seed)
        traffic = {s.name: simulate(cell, s, rollouts, rng) for s in SCENARIOS}
        for name, rule in rules(cell).items():
            found = {s: measure(rule(t), t) for s, t in traffic.items()}
            lines.append(
                f"| {cell.rate}/min | {cell.base:.1%} | {name} | {found['equal'].share:.1%} "
                f"| {found['2x errors']} | {found['10x infra']} |"
            )
    return lines


def poisson_tail(mean: float, k: int) -> float:
    """P(X >= k) for X ~ Poisson(mean)."""
    return 1 - sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(k))


def oracle_power(requests: int, base: float, ratio: float, alpha: float) -> float:
    """Power of the Neyman-Pearson test that knows v1's rate exactly and looks once.

    v2's errors are Poisson(requests * base) if v2 is as good as v1 and Poisson(requests * base
    * ratio) if worse; the test rejects on many errors, randomised at the boundary to spend
    exactly alpha. No test that compares v2 with v1, sequential or not, catches more often by
    `requests` v2 requests at that alpha: an upper bound on P(rolled back by then)."""
    null, worse = requests * base, requests * base * ratio
    k = 0
    while poisson_tail(null, k + 1) > alpha:
        k += 1
    # Reject on more than k errors, and on exactly k with the probability that spends alpha.
    at_k = poisson_tail(null, k) - poisson_tail(null, k + 1)
    spend = (alpha - poisson_tail(null, k + 1)) / at_k
    return poisson_tail(worse, k + 1) + spend * (
        poisson_tail(worse, k) - poisson_tail(worse, k + 1)
    )


def infra_table(rollouts: int, seed: int) -> list[str]:
    """(a) on 10x infra regressions: the issue's scenario and the harder 0.1% infra baseline.

    The bound: the best any test could do by the goal's 60th v2 request, with the whole alpha
    and with the infra test's share; a median <= 60 needs it above 50%."""
    share = verdict.INFRA_ERRORS.alpha_share
    lines = [
        "| traffic | baseline | infra baseline | 10x infra: detected, median/p95 v2 requests "
        f"(minutes) | bound: caught by {INFRA_GOAL} v2 requests at alpha, at {share:g} alpha |",
        "|---|---|---|---|---|",
    ]
    seeds = np.random.SeedSequence(seed + 1).spawn(len(CELLS))
    for cell, cell_seed in zip(CELLS, seeds, strict=True):
        rng = np.random.default_rng(cell_seed)
        for scenario in (SCENARIOS[2], HARD_INFRA):
            base = cell.base if scenario.infra_base is None else scenario.infra_base
            worse = simulate(cell, scenario, rollouts, rng)
            bound = " / ".join(
                f"{oracle_power(INFRA_GOAL, base, 10, a):.0%}" for a in (ALPHA, ALPHA * share)
            )
            lines.append(
                f"| {cell.rate}/min | {cell.base:.1%} | {base:.1%} "
                f"| {measure(sequential_test(worse), worse)} | {bound} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=1000, help="per cell and scenario")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    started = time.perf_counter()
    print("\n".join(main_table(args.rollouts, args.seed)))
    print()
    print("\n".join(infra_table(args.rollouts, args.seed)))
    print(
        f"\n{args.rollouts} rollouts per cell and scenario, seed {args.seed}, "
        f"alpha {ALPHA}, {time.perf_counter() - started:.0f}s"
    )


if __name__ == "__main__":
    main()
