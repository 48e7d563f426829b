"""Simulated rollouts: this project's sequential test against Flagger- and Argo-style rules.

    .venv/bin/python benchmarks/bench_analysis.py [--rollouts 1000] [--seed 2026]

Pure simulation (no cluster): the seed's plan (5% 30m, 25% 1h, 50% 2h, then 100%), a check
every minute, Poisson traffic, binomial errors. Rule (a) is the operator's own `decide`
(`codemode_operator.rollout`) on a simulated clock, fed each minute's counts as the handlers
feed Prometheus' answers, so what is measured is what is deployed: the state machine, its
analysis, the suspicion hold and the rollback, not a copy of their loop.
"""

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

import numpy as np
from codemode_operator.apis.conditions import PROGRESSING, get_condition
from codemode_operator.apis.spec import HoldOnSuspicion, Latency
from codemode_operator.rollout import (
    Counts,
    DeploymentState,
    Histogram,
    MetricsSample,
    Observations,
    RolloutSpec,
    RolloutStatus,
    SetWeight,
    WeightReading,
    decide,
    plan,
    verdict,
)
from codemode_operator.rollout.suspicion import SUSPECTED

from mcp_server.metrics import DURATION_BUCKETS

PLAN = ((0.05, 30), (0.25, 60), (0.50, 120))  # v2 share and minutes, up to the 100% step
HOLD = HoldOnSuspicion()  # the CRD's defaults
HOLD_MINUTES = int(HOLD.max_duration.total_seconds() // 60)
HARD_INFRA_BASE = 0.001  # the harder extra row: v1's infra errors only 0.1% of requests
ALPHA = 0.01
INFRA_GOAL = 60  # v2 requests: the median for 10x infra regressions


def holds(step: int) -> bool:
    return step + 1 >= HOLD.from_step


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
    """Per step of the plan: requests, errors, infra errors per version, rollout and minute.

    Each step has room for the longest suspicion hold after its dwell; the fixed-plan rules
    (b), (c) see only the dwells, rule (a) as many minutes as the operator would stay."""

    steps: tuple[np.ndarray, ...]  # per step, shape (2 versions, 3 counts, rollouts, minutes)

    def _fixed(self, version: int) -> np.ndarray:
        dwells = [
            s[version, :, :, :minutes] for s, (_, minutes) in zip(self.steps, PLAN, strict=True)
        ]
        return np.concatenate(dwells, axis=2)

    @cached_property
    def canary(self) -> np.ndarray:  # shape (3, rollouts, 210): the plan without holds
        return self._fixed(0)

    @cached_property
    def stable(self) -> np.ndarray:
        return self._fixed(1)


def simulate(cell: Cell, scenario: Scenario, rollouts: int, rng) -> Traffic:
    infra_base = cell.base if scenario.infra_base is None else scenario.infra_base

    def version(rate: float, minutes: int, other: float, infra: float) -> np.ndarray:
        requests = rng.poisson(rate, (rollouts, minutes))
        infra_errors = rng.binomial(requests, infra)
        other_errors = rng.binomial(requests - infra_errors, max(other, 0.0) / (1 - infra))
        return np.stack([requests, other_errors + infra_errors, infra_errors])

    def step(index: int, share: float, dwell: int) -> np.ndarray:
        minutes = dwell + (HOLD_MINUTES if holds(index) else 0)
        return np.stack(
            [
                version(
                    cell.rate * share,
                    minutes,
                    cell.base * scenario.errors - infra_base,
                    infra_base * scenario.infra,
                ),
                version(cell.rate * (1 - share), minutes, cell.base - infra_base, infra_base),
            ]
        )

    return Traffic(tuple(step(i, share, dwell) for i, (share, dwell) in enumerate(PLAN)))


NEVER = -1


@dataclass(frozen=True)
class Outcome:
    """Per rollout: v2 requests and minutes up to the rollback (NaN: never), minutes held."""

    requests: np.ndarray
    minutes: np.ndarray
    held: np.ndarray


def first(failed: np.ndarray) -> np.ndarray:
    """The minute index of the first True per row, or NEVER."""
    return np.where(failed.any(axis=1), failed.argmax(axis=1), NEVER)


def on_the_plan(detected: np.ndarray, traffic: Traffic) -> Outcome:
    """The outcome of a fixed-plan rule that rolls back at minute index `detected`."""
    hit = detected != NEVER
    index = np.where(hit, detected, 0)
    requests = np.cumsum(traffic.canary[0], axis=1)[np.arange(detected.size), index]
    return Outcome(
        requests=np.where(hit, requests, np.nan),
        minutes=np.where(hit, detected + 1, np.nan),
        held=np.zeros(detected.size),
    )


LATENCY = Latency()  # the CRD's defaults: edges near v1's p50/p95/p99
EDGES = (*(float(le) for le in DURATION_BUCKETS), math.inf)  # the server's own buckets
START = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
READY = DeploymentState(desired_replicas=1, updated_replicas=1, available_replicas=1)
NEVER_HOLD = len(PLAN) + 2  # a hold from this step on never happens (rule a')
# Every simulated minute, plus the ticks that enter a step or apply its weight.
MAX_TICKS = sum(dwell + HOLD_MINUTES for _, dwell in PLAN) + 4 * (len(PLAN) + 2)


def rollout_spec(hold: bool, with_latency: bool) -> RolloutSpec:
    """The CodeModeRollout the simulation runs: the seed's plan (the CRD's default steps), a
    check a minute and the CRD's defaults otherwise. `minRequests` is 1: the simulated rates
    give every step at least ~300 v2 requests, past the default 200, and the tables measure
    the tests, not the data gate."""
    analysis: dict[str, object] = {
        "prometheus": {"address": "http://prometheus.invalid"},  # never asked: counts are fed
        "interval": "1m",
        "alpha": ALPHA,
        "minRequests": 1,
        "holdOnSuspicion": HOLD.to_dict() if hold else {"fromStep": NEVER_HOLD},
    }
    if with_latency:
        analysis["latency"] = LATENCY.to_dict()
    return RolloutSpec.model_validate(
        {
            "stable": {"deployment": "mcp-v1", "service": "mcp-v1"},
            "canary": {"deployment": "mcp-v2", "service": "mcp-v2"},
            "router": {"type": "gatewayAPI", "gatewayAPI": {"httpRoute": "mcp"}},
            "analysis": analysis,
        }
    )


def _histograms(steps: tuple | None, r: int) -> list | None:
    """Rollout r's per step: cumulative bucket counts per minute (v2, v1) and v1's before."""
    if steps is None:
        return None
    return [(c[r].tolist(), s[r].tolist(), _histogram(b[r].tolist())) for c, s, b in steps]


def _histogram(counts: list[int]) -> Histogram:
    return Histogram.model_construct(le=EDGES, counts=tuple(counts))


def _counts(counts: list, r: int, m: int) -> Counts:
    # Whole numbers with infra <= errors <= requests already: no validation needed.
    requests, errors, infra = (int(row[r][m]) for row in counts)
    return Counts.model_construct(requests=requests, errors=errors, infra_errors=infra)


def _rollout(
    spec: RolloutSpec, steps: list[list], r: int, latency_steps: list | None = None
) -> tuple[float, float, int]:
    """One rollout of rule (a), run by the operator's own `decide` on a clock that moves a
    minute a check: v2 requests and minutes up to the rollback (NaN: none), minutes held.

    Each check's window is fed the simulated minute of the step it falls in (and, when the
    core asks for it, v1's histogram before the step); the router shows every weight written
    at once, so a step starts in the tick that enters it, as the dwells of rules (b), (c)."""
    status, now, router = RolloutStatus(), START, 0
    requests = minute = held = 0
    step_index, m = -1, 0  # the step whose minutes are being fed, and the next minute of it
    for _ in range(MAX_TICKS):
        if status.phase == "Succeeded":
            return math.nan, math.nan, held
        wanted = plan(spec, status, now)
        window = wanted.window
        sample = None
        if window is not None:
            if status.step_index != step_index:
                step_index, m = status.step_index, 0
            canary, stable = steps[step_index]
            sample = MetricsSample.model_construct(
                start=window.start,
                end=window.end,
                canary=_counts(canary, r, m),
                stable=_counts(stable, r, m),
            )
            if latency_steps is not None:
                canary_h, stable_h, baseline = latency_steps[step_index]
                sample = sample.model_copy(
                    update={
                        "canary_latency": _histogram(canary_h[m]),
                        "stable_latency": _histogram(stable_h[m]),
                        "stable_baseline": baseline if window.baseline_start else None,
                    }
                )
            requests, minute, m = requests + sample.canary.requests, minute + 1, m + 1
        observed = Observations(
            generation=1,
            canary=READY,
            stable=READY,
            router_weight=WeightReading(
                desired=wanted.weight, verified=router == wanted.weight, shown=router
            ),
            router_pins=(),
            metrics=sample,
        )
        decision = decide(spec, status, observed, now)
        status = decision.status
        status.events.outbox = []  # posted, as the operator does after its status write
        for action in decision.actions:
            if isinstance(action, SetWeight):
                router = action.weight
        if status.phase == "RolledBack":
            return requests, minute, held
        progressing = get_condition(status, PROGRESSING)
        if progressing is not None and progressing.reason == SUSPECTED:
            held += 1
        if not any(isinstance(a, SetWeight) for a in decision.actions):
            now += MINUTE  # nothing left to apply: the next check is a minute on
    raise RuntimeError(f"rollout {r} neither succeeded nor rolled back in {MAX_TICKS} ticks")


def sequential_test(
    traffic: Traffic, hold: bool = True, histograms: "LatencyTraffic | None" = None
) -> Outcome:
    """(a) The operator: verdict.update for both tests each minute, and its suspicion hold;
    with `histograms`, the latency test as well."""
    steps = [s.tolist() for s in traffic.steps]
    latency_steps = histograms.steps if histograms is not None else None
    spec = rollout_spec(hold, with_latency=histograms is not None)
    runs = [
        _rollout(spec, steps, r, _histograms(latency_steps, r))
        for r in range(traffic.steps[0].shape[2])
    ]
    requests, minutes, held = (np.array(column, dtype=float) for column in zip(*runs, strict=True))
    return Outcome(requests, minutes, held)


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


Rule = Callable[[Traffic], Outcome]


def on_plan(rule: Callable[[Traffic], np.ndarray]) -> Rule:
    return lambda traffic: on_the_plan(rule(traffic), traffic)


def rules(cell: Cell) -> dict[str, Rule]:
    return {
        "(a) this project (mSPRT + suspicion hold)": sequential_test,
        "(a') the same test without the hold": lambda t: sequential_test(t, hold=False),
        "(b) Flagger: success >= 99%, 5 fails": on_plan(flagger(0.01)),
        f"(b) Flagger: errors <= {2 * cell.base:.0%}, 5 fails": on_plan(flagger(2 * cell.base)),
        "(c) Argo: success >= 95%/5m, limit 3": on_plan(argo_success_rate),
        "(c) Argo: v2 <= v1 each 1m, limit 0": on_plan(argo_compare),
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


def measure(outcome: Outcome) -> Detection:
    hit = ~np.isnan(outcome.requests)
    if not hit.any():
        return Detection(0.0, (0, 0), (0, 0))
    requests, minutes = outcome.requests[hit], outcome.minutes[hit]
    return Detection(
        float(hit.mean()),
        (float(np.median(requests)), float(np.percentile(requests, 95))),
        (float(np.median(minutes)), float(np.percentile(minutes, 95))),
    )


def delay(outcome: Outcome) -> str:
    """What the hold costs good rollouts: how many are held, and for how long."""
    held = outcome.held[outcome.held > 0]
    if not held.size:
        return "none held"
    return (
        f"{held.size} of {outcome.held.size} held ({held.size / outcome.held.size:.1%}), "
        f"median/p95 {np.median(held):.0f}/{np.percentile(held, 95):.0f} min"
    )


CELLS = tuple(Cell(rate, base) for rate in (200, 1000) for base in (0.005, 0.02))


def main_table(rollouts: int, seed: int) -> tuple[list[str], list[str]]:
    """The comparison table, and what the suspicion hold cost good rollouts per cell."""
    lines = [
        "| traffic | baseline | rule | false rollbacks | 2x errors: detected, median/p95 v2 "
        "requests (minutes) | 10x infra: detected, median/p95 v2 requests (minutes) |",
        "|---|---|---|---|---|---|",
    ]
    delays = ["| traffic | baseline | good v2 held by the suspicion hold |", "|---|---|---|"]
    seeds = np.random.SeedSequence(seed).spawn(len(CELLS))
    for cell, cell_seed in zip(CELLS, seeds, strict=True):
        rng = np.random.default_rng(cell_seed)
        traffic = {s.name: simulate(cell, s, rollouts, rng) for s in SCENARIOS}
        for index, (name, rule) in enumerate(rules(cell).items()):
            outcomes = {s: rule(t) for s, t in traffic.items()}
            found = {s: measure(o) for s, o in outcomes.items()}
            lines.append(
                f"| {cell.rate}/min | {cell.base:.1%} | {name} | {found['equal'].share:.1%} "
                f"| {found['2x errors']} | {found['10x infra']} |"
            )
            if index == 0:
                delays.append(f"| {cell.rate}/min | {cell.base:.1%} | {delay(outcomes['equal'])} |")
    return lines, delays


def poisson_log_pmf(k: np.ndarray, mean: float) -> np.ndarray:
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, int(k.max()) + 1)))])
    return k * math.log(mean) - mean - log_factorial[k]


def last_check_requests(per_check: float, goal: int) -> np.ndarray:
    """P(v2 has n requests at the last check with at most `goal` of them), n = 0..goal.

    v2's requests per check are Poisson(per_check); n = 0 also covers "no such check"."""
    step = np.exp(poisson_log_pmf(np.arange(goal + 1), per_check))
    cumulative = np.zeros(goal + 1)
    cumulative[0] = 1.0  # before the first check
    last = np.zeros(goal + 1)
    while cumulative.sum() > 1e-12:
        # The last check at or under the goal is this one when the next one goes past it.
        over = 1 - np.cumsum(step)[::-1]  # P(next > goal - n) for n = 0..goal
        last += cumulative * over
        cumulative = np.convolve(cumulative, step)[: goal + 1]
    return last


def power_bound(cell: Cell, base: float, ratio: float, alpha: float, live: bool) -> float:
    """At most this share of 10x infra regressions is caught by the `INFRA_GOAL`th v2 request.

    Whatever is caught by then is caught on the data of the last check with at most that many
    v2 requests (a check a minute, v2 at 5%). By Neyman-Pearson on those counts, no level-alpha
    test does better than the likelihood-ratio test of "v2 as good as v1" against the regression
    (Poisson counts, randomised at the boundary). `live=False`: the test knows v1's rate exactly
    (an oracle). `live=True`: it must hold alpha whatever the shared rate q of v1 and v2 is, as a
    test comparing with the live v1 does; each q gives a bound, the smallest is reported."""
    share = PLAN[0][0]
    weights = last_check_requests(cell.rate * share, INFRA_GOAL)
    n = np.arange(INFRA_GOAL + 1)
    keep = (n > 0) & (weights > 1e-9)  # 0 requests: nothing to catch
    n, log_w = n[keep], np.log(weights[keep])[:, None, None]
    stable_n = n * (1 - share) / share
    canary_k = np.arange(60)
    stable_k = np.arange(int(stable_n.max() * base * 3) + 40)

    def log_pmf(k: np.ndarray, means: np.ndarray) -> np.ndarray:
        return np.stack([poisson_log_pmf(k, m) for m in means])

    def log_likelihood(canary_rate: float, stable_rate: float) -> np.ndarray:
        """Per (v2 requests, v2 errors, v1 errors); v1's errors only matter to a live test."""
        canary = log_pmf(canary_k, n * canary_rate)[:, :, None]
        return canary + log_pmf(stable_k, stable_n * stable_rate)[:, None, :] if live else canary

    worse = log_likelihood(base * ratio, base)
    nulls = np.linspace(1.0, 3.0, 81) * base if live else np.array([base])
    return min(_neyman_pearson(log_likelihood(q, q), worse, log_w, alpha) for q in nulls)


def _neyman_pearson(null: np.ndarray, worse: np.ndarray, log_w: np.ndarray, alpha: float) -> float:
    """Power of the most powerful level-alpha test between two discrete distributions."""
    p0 = np.exp(null + log_w).ravel()
    p1 = np.exp(worse + log_w).ravel()
    order = np.argsort(-(worse - null).ravel(), kind="stable")
    spent = np.cumsum(p0[order])
    full = int(np.searchsorted(spent, alpha, side="right"))  # cells rejected outright
    power = p1[order][:full].sum()
    if full < order.size:  # the boundary cell, rejected with the probability left
        left = alpha - (spent[full - 1] if full else 0.0)
        power += p1[order][full] * left / p0[order][full]
    return float(power)


def infra_table(rollouts: int, seed: int) -> list[str]:
    """(a) on 10x infra regressions: the issue's scenario and the harder 0.1% infra baseline.

    The bounds: the best any test could do by the goal's 60th v2 request, knowing v1's rate
    (oracle) or comparing with the live v1, with the whole alpha and with the infra test's
    share; a median <= 60 needs more than 50%."""
    share = verdict.INFRA_ERRORS.alpha_share
    lines = [
        "| traffic | baseline | infra baseline | 10x infra: detected, median/p95 v2 requests "
        f"(minutes) | bound by {INFRA_GOAL} v2 requests, oracle / live v1: at alpha "
        f"| at {share:g} alpha |",
        "|---|---|---|---|---|---|",
    ]
    seeds = np.random.SeedSequence(seed + 1).spawn(len(CELLS))
    for cell, cell_seed in zip(CELLS, seeds, strict=True):
        rng = np.random.default_rng(cell_seed)
        for scenario in (SCENARIOS[2], HARD_INFRA):
            base = cell.base if scenario.infra_base is None else scenario.infra_base
            worse = simulate(cell, scenario, rollouts, rng)
            bounds = [
                " / ".join(f"{power_bound(cell, base, 10, a, live):.1%}" for live in (False, True))
                for a in (ALPHA, ALPHA * share)
            ]
            lines.append(
                f"| {cell.rate}/min | {cell.base:.1%} | {base:.1%} "
                f"| {measure(sequential_test(worse))} | {bounds[0]} | {bounds[1]} |"
            )
    return lines


# Latency: v1 lognormal (median 200 ms, sigma 0.6) against four v2s, errors tested together
# (both versions at the 0.5% baseline, every error infra-capable as in the tables above).
V1_MEDIAN, SIGMA = 0.2, 0.6
LATENCY_BASE = 0.005
FLAGGER_P99, ARGO_P95 = 0.5, 1.0  # seconds: Flagger's documented request-duration; an SLO


@dataclass(frozen=True)
class LatencyScenario:
    name: str
    slowdown: float = 1.0  # every v2 request takes this many times as long
    tail: float = 0.0  # share of v2 requests that take `tail_seconds` more
    tail_seconds: float = 2.0

    def cdf(self, seconds: np.ndarray, version: int) -> np.ndarray:
        """P(duration <= seconds) for v2 (version 0) or v1 (1)."""

        def lognormal(x: np.ndarray, median: float) -> np.ndarray:
            z = np.log(np.maximum(x, 1e-300) / median) / (SIGMA * math.sqrt(2))
            return np.where(x > 0, 0.5 * (1 + np.vectorize(math.erf)(z)), 0.0)

        if version == 1:
            return lognormal(seconds, V1_MEDIAN)
        body = lognormal(seconds, V1_MEDIAN * self.slowdown)
        return (1 - self.tail) * body + self.tail * lognormal(
            seconds - self.tail_seconds, V1_MEDIAN * self.slowdown
        )

    def buckets(self, version: int) -> np.ndarray:
        """Probability of each bucket (the last one: above the highest edge)."""
        cdf = self.cdf(np.array(EDGES[:-1]), version)
        return np.diff(np.concatenate([[0.0], cdf, [1.0]]))


LATENCY_SCENARIOS = (
    LatencyScenario("equal"),
    LatencyScenario("1.2x slower", slowdown=1.2),
    LatencyScenario("1.5x slower", slowdown=1.5),
    LatencyScenario("tail: 5% +2s", tail=0.05),
)


@dataclass(frozen=True)
class LatencyTraffic:
    """Per step of the plan: cumulative bucket counts, shape (rollouts, minutes, edges), for
    v2 and v1, drawn for the very requests of `counts` (so errors and latency go together),
    and v1's histogram of the hour before the step, shape (rollouts, edges)."""

    counts: Traffic
    steps: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]

    @cached_property
    def canary(self) -> np.ndarray:  # (rollouts, 210, edges): the plan without holds
        dwells = [s[0][:, :minutes] for s, (_, minutes) in zip(self.steps, PLAN, strict=True)]
        return np.concatenate(dwells, axis=1)


def simulate_latency(rate: int, scenario: LatencyScenario, rollouts: int, rng) -> LatencyTraffic:
    counts = simulate(Cell(rate, LATENCY_BASE), SCENARIOS[0], rollouts, rng)

    def draw(requests: np.ndarray, version: int) -> np.ndarray:
        spread = rng.multinomial(requests, scenario.buckets(version))
        return np.cumsum(spread, axis=-1, dtype=np.int32)

    shares = [0.0] + [share for share, _ in PLAN[:-1]]  # v2's share in the hour before a step
    steps = tuple(
        (
            draw(s[0, 0], 0),
            draw(s[1, 0], 1),
            draw(rng.poisson(rate * 60 * (1 - share), rollouts), 1),
        )
        for s, share in zip(counts.steps, shares, strict=True)
    )
    return LatencyTraffic(counts, steps)


def histogram_quantile(q: float, cumulative: np.ndarray) -> np.ndarray:
    """Prometheus' histogram_quantile over the last axis (NaN without requests): linear within
    the bucket holding the rank, the highest finite edge when that is the +Inf bucket."""
    total = cumulative[..., -1]
    rank = q * total
    index = np.minimum((cumulative < rank[..., None]).sum(axis=-1), len(EDGES) - 1)
    upper_edges = np.array(EDGES)
    lower_edges = np.concatenate([[0.0], upper_edges[:-1]])
    below = np.take_along_axis(
        np.concatenate([np.zeros((*cumulative.shape[:-1], 1)), cumulative[..., :-1]], axis=-1),
        index[..., None],
        axis=-1,
    )[..., 0]
    inside = np.take_along_axis(cumulative, index[..., None], axis=-1)[..., 0] - below
    fraction = np.divide(rank - below, inside, out=np.ones(rank.shape), where=inside > 0)
    top = index == len(EDGES) - 1
    value = np.where(
        top,
        upper_edges[-2],
        lower_edges[index]
        + (upper_edges[np.minimum(index, len(EDGES) - 2)] - lower_edges[index]) * fraction,
    )
    return np.where(total > 0, value, np.nan)


def flagger_duration(traffic: LatencyTraffic, threshold: int = 5) -> np.ndarray:
    """(b) request-duration: v2's P99 <= 500 ms per 1-minute check, rollback at 5 failed checks
    (not reset by passing ones; no v2 data fails, as Flagger's "no values found")."""
    p99 = histogram_quantile(0.99, traffic.canary)
    failed = ~(p99 <= FLAGGER_P99)
    return first(np.cumsum(failed, axis=1) >= threshold)


def argo_duration(traffic: LatencyTraffic, limit: int = 3) -> np.ndarray:
    """(c) `result[0] <= 1.0` on v2's p95 every 1-minute measurement, failureLimit 3: the
    analysis fails at the 4th failed measurement (NaN, no data, fails the condition)."""
    p95 = histogram_quantile(0.95, traffic.canary)
    failed = ~(p95 <= ARGO_P95)
    return first(np.cumsum(failed, axis=1) > limit)


LatencyRule = Callable[[LatencyTraffic], Outcome]
LATENCY_RULES: dict[str, LatencyRule] = {
    "(a) this project (errors + latency mSPRT, hold)": lambda t: sequential_test(
        t.counts, histograms=t
    ),
    f"(b) Flagger: P99 <= {FLAGGER_P99 * 1000:g}ms per 1m, 5 fails": lambda t: on_the_plan(
        flagger_duration(t), t.counts
    ),
    f"(c) Argo: p95 <= {ARGO_P95:g}s each 1m, limit 3": lambda t: on_the_plan(
        argo_duration(t), t.counts
    ),
}


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def false_rollbacks(outcome: Outcome) -> str:
    hits, n = int((~np.isnan(outcome.requests)).sum()), outcome.requests.size
    low, high = wilson(hits, n)
    return f"{hits / n:.2%} [{low:.2%}, {high:.2%}]"


LATENCY_RATES = (200, 1000)


def latency_table(rollouts: int, seed: int) -> tuple[list[str], dict]:
    """Rule (a) with errors and latency together against Flagger's and Argo's latency rules;
    the false rollbacks from `rollouts` good v2s per cell, with their 95% interval."""
    names = [s.name for s in LATENCY_SCENARIOS[1:]]
    lines = [
        "| traffic | rule | false rollbacks [95% interval] | "
        + " | ".join(f"{n}: detected, median/p95 v2 requests (minutes)" for n in names)
        + " | good v2 held |",
        "|---|---|---|" + "---|" * len(names) + "---|",
    ]
    outcomes: dict = {}
    seeds = np.random.SeedSequence(seed + 2).spawn(len(LATENCY_RATES))
    for rate, rate_seed in zip(LATENCY_RATES, seeds, strict=True):
        rng = np.random.default_rng(rate_seed)
        traffic = {s.name: simulate_latency(rate, s, rollouts, rng) for s in LATENCY_SCENARIOS}
        for name, rule in LATENCY_RULES.items():
            found = {s: rule(t) for s, t in traffic.items()}
            outcomes[rate, name] = found
            detections = " | ".join(str(measure(found[n])) for n in names)
            held = delay(found["equal"]) if name.startswith("(a)") else "-"
            lines.append(
                f"| {rate}/min | {name} | {false_rollbacks(found['equal'])} | {detections} "
                f"| {held} |"
            )
    return lines, outcomes


def latency_figure(outcomes: dict, path: str) -> None:
    """Per rule: v2 requests and minutes to detection per regression, false rollbacks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rule_names = list(LATENCY_RULES)
    names = [s.name for s in LATENCY_SCENARIOS[1:]]
    figure, axes = plt.subplots(
        len(rule_names), 3, figsize=(15, 3.6 * len(rule_names)), squeeze=False
    )
    for row, rule in enumerate(rule_names):
        for column, (field, unit) in enumerate((("requests", "v2 requests"), ("minutes", "min"))):
            ax = axes[row][column]
            data, labels = [], []
            for rate in LATENCY_RATES:
                for n in names:
                    values = getattr(outcomes[rate, rule][n], field)
                    hit = values[~np.isnan(values)]
                    data.append(hit if hit.size else np.array([np.nan]))
                    labels.append(f"{n}\n{rate}/min\n{hit.size / values.size:.0%} caught")
            ax.boxplot(data, whis=(5, 95), showfliers=False)
            ax.set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
            ax.set_yscale("log")
            ax.set_ylabel(f"{unit} to rollback")
            title = f"{unit} to detection (box 25-75%, whiskers 5-95%)"
            ax.set_title(f"{rule}\n{title}" if column == 0 else title, fontsize=9, loc="left")
        ax = axes[row][2]
        for i, rate in enumerate(LATENCY_RATES):
            outcome = outcomes[rate, rule]["equal"]
            hits, n = int((~np.isnan(outcome.requests)).sum()), outcome.requests.size
            low, high = wilson(hits, n)
            rate_hat = hits / n
            below, above = max(0.0, rate_hat - low), max(0.0, high - rate_hat)
            ax.errorbar(
                [i],
                [rate_hat * 100],
                yerr=[[below * 100], [above * 100]],
                fmt="o",
                capsize=6,
            )
        ax.axhline(ALPHA * 100, color="red", linestyle="--", label=f"alpha = {ALPHA:.0%}")
        ax.set_xticks(range(len(LATENCY_RATES)), [f"{r}/min" for r in LATENCY_RATES])
        ax.set_xlim(-0.5, len(LATENCY_RATES) - 0.5)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("false rollbacks of a good v2 (%)")
        ax.set_title("false rollbacks of a good v2, 95% interval", fontsize=9)
        ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


TABLES = ("errors", "infra", "latency")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=1000, help="per cell and scenario")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--tables", default=",".join(TABLES), help=f"which of {','.join(TABLES)} (default all)"
    )
    parser.add_argument(
        "--figure",
        default="docs/analysis-latency.png",
        help="where the latency table's picture goes ('' for none)",
    )
    args = parser.parse_args()
    tables = set(args.tables.split(","))
    if tables - set(TABLES):
        parser.error(f"--tables: unknown {sorted(tables - set(TABLES))}; known: {TABLES}")
    started = time.perf_counter()
    if "errors" in tables:
        table, delays = main_table(args.rollouts, args.seed)
        print("\n".join(table))
        print()
        print("\n".join(delays))
        print()
    if "infra" in tables:
        print("\n".join(infra_table(args.rollouts, args.seed)))
    if "latency" in tables:
        lines, outcomes = latency_table(args.rollouts, args.seed)
        print()
        print("\n".join(lines))
        if args.figure:
            latency_figure(outcomes, args.figure)
            print(f"\nfigure: {args.figure}")
    print(
        f"\n{args.rollouts} rollouts per cell and scenario, seed {args.seed}, "
        f"alpha {ALPHA}, {time.perf_counter() - started:.0f}s"
    )


if __name__ == "__main__":
    main()
