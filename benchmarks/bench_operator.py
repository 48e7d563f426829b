"""N CodeModeRollouts at once, one operator process, a fresh local control plane.

    .venv/bin/python -m benchmarks.bench_operator [--rollouts 200] [--tick 5]

One namespace per rollout (v1/v2 Deployments of 1 kwok replica, two Services, an HTTPRoute),
steps 5% 20s, 25% 20s, 50% 20s, 100%, no analysis; the operator watches all namespaces.
Prints the operator's RSS, the API requests it makes per minute (the API server's own
`apiserver_request_total`, which has no user label: the rate while the operator runs minus the
rate of the same cluster, same objects, without it), the lag from each step's `stepEndsAt` to
the HTTPRoute weight change (seen by a watch from here) and the time until all are Succeeded.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import kubernetes
import yaml
from codemode_operator.adapters.routers.gateway_api import route_weight

from devcluster import cluster, gateway_api
from devcluster.cluster import ControlPlane
from devcluster.operator_process import Operator, install_crds
from devcluster.processes import wait_for
from devcluster.workload import deployment, http_route, rollout, service, timed_steps

WEIGHTS = (5, 25, 50, 100)
DWELL = "20s"
PODS_PER_NODE = 100  # kwok's fake nodes allow 110
CHUNK = 40  # namespaces per `kubectl create`, well inside its 60 s timeout
REQUEST_LINE = re.compile(r"^apiserver_request_total\{(.*)\} (\S+)$", re.M)
DURATION_LINE = re.compile(r"^apiserver_request_duration_seconds_(sum|count)\{(.*)\} (\S+)$", re.M)
LABEL = re.compile(r'(\w+)="([^"]*)"')
VERBS = ("GET", "LIST", "WATCH", "PATCH", "PUT", "POST", "DELETE")


Key = tuple[str, str, str]  # verb, resource[/subresource], HTTP code


def _resource(labels: dict[str, str]) -> str:
    sub = labels.get("subresource")
    return labels.get("resource", "") + (f"/{sub}" if sub else "")


def requests(text: str) -> Counter[Key]:
    """The API server's request counters, summed per (verb, resource, code)."""
    counts: Counter[Key] = Counter()
    for labels, value in REQUEST_LINE.findall(text):
        found = dict(LABEL.findall(labels))
        # Whole requests, though the text format may print a large count as 1.234567e+06.
        counts[found.get("verb", "?"), _resource(found), found.get("code", "")] += round(
            float(value)
        )
    return counts


def durations(text: str) -> dict[Key, float]:
    """The API server's time serving requests: (verb, resource, "sum" | "count")."""
    totals: dict[Key, float] = {}
    for kind, labels, value in DURATION_LINE.findall(text):
        found = dict(LABEL.findall(labels))
        key = (found.get("verb", "?"), _resource(found), kind)
        totals[key] = totals.get(key, 0.0) + float(value)
    return totals


@dataclass
class Window:
    start: float
    before: Counter[Key]
    served_before: dict[Key, float]
    seconds: float = 0.0
    delta: Counter[Key] = field(default_factory=Counter)
    served: dict[Key, float] = field(default_factory=dict)

    @classmethod
    def open(cls, cp: ControlPlane) -> Window:
        text = cp.get("/metrics").text
        return cls(time.monotonic(), requests(text), durations(text))

    def close(self, cp: ControlPlane) -> Window:
        self.seconds = time.monotonic() - self.start
        text = cp.get("/metrics").text
        self.delta = requests(text) - self.before
        after = durations(text)
        self.served = {k: v - self.served_before.get(k, 0.0) for k, v in after.items()}
        return self

    def mean_served(self, verb: str, resource: str) -> tuple[float, float]:
        """(requests, mean seconds the API server took) for one verb and resource."""
        count = self.served.get((verb, resource, "count"), 0.0)
        return count, self.served.get((verb, resource, "sum"), 0.0) / count if count else 0.0

    def per_minute(self, verb: str) -> float:
        return 60 * sum(n for (v, _, _), n in self.delta.items() if v == verb) / self.seconds


def namespaced(name: str, *objects: dict[str, Any]) -> list[dict[str, Any]]:
    for body in objects:
        body["metadata"]["namespace"] = name
    return list(objects)


def headless(body: dict[str, Any]) -> dict[str, Any]:
    body["spec"]["clusterIP"] = "None"  # the devcluster's service range holds only 254 IPs
    return body


def setup_objects(ns: str) -> list[dict[str, Any]]:
    return namespaced(
        ns,
        deployment("mcp-v1", "v1", replicas=1),
        deployment("mcp-v2", "v2", replicas=1),
        headless(service("mcp-v1", "v1")),
        headless(service("mcp-v2", "v2")),
        http_route(),
    )


def create(cp: ControlPlane, objects: list[dict[str, Any]]) -> None:
    for i in range(0, len(objects), CHUNK * 5):
        cp.kubectl("create", "-f", "-", input=yaml.safe_dump_all(objects[i : i + CHUNK * 5]))


class Watcher:
    """A cluster-wide watch in a thread: each route's weight changes, each rollout's status."""

    def __init__(self, api: kubernetes.client.CustomObjectsApi) -> None:
        self.api = api
        self.weights: dict[str, list[tuple[float, int | None]]] = {}
        self.step_ends: dict[str, dict[int, datetime]] = {}
        self.succeeded: dict[str, float] = {}
        self.watches: list[kubernetes.watch.Watch] = []
        self.threads = [
            threading.Thread(target=self._run, args=(args, on), daemon=True)
            for args, on in (
                (("gateway.networking.k8s.io", "v1", "httproutes"), self._route),
                (("codemode.io", "v1alpha1", "codemoderollouts"), self._rollout),
            )
        ]
        for thread in self.threads:
            thread.start()

    def _run(self, args: tuple[str, str, str], on: Callable[[dict[str, Any]], None]) -> None:
        watch = kubernetes.watch.Watch()
        self.watches.append(watch)
        try:
            for event in watch.stream(self.api.list_cluster_custom_object, *args):
                on(event["object"])
        except Exception:  # the control plane stopped under the watch: the end
            return

    def _route(self, route: dict[str, Any]) -> None:
        seen = self.weights.setdefault(route["metadata"]["namespace"], [])
        weight = route_weight(route, "mcp-v1", "mcp-v2")
        if not seen or seen[-1][1] != weight:
            seen.append((time.time(), weight))

    def _rollout(self, body: dict[str, Any]) -> None:
        ns, status = body["metadata"]["namespace"], body.get("status") or {}
        if status.get("stepEndsAt"):
            ends = datetime.fromisoformat(status["stepEndsAt"])
            self.step_ends.setdefault(ns, {})[status["stepIndex"]] = ends
        if status.get("phase") == "Succeeded":
            self.succeeded.setdefault(ns, time.time())

    def at_100(self) -> int:
        return sum(1 for seen in self.weights.values() if seen[-1][1] == 100)

    def lags(self) -> list[float]:
        """Seconds from a step's stepEndsAt to the route showing the next step's weight."""
        out = []
        for ns, seen in self.weights.items():
            for t, weight in seen:
                if weight in WEIGHTS[1:]:
                    ended = self.step_ends.get(ns, {}).get(WEIGHTS.index(weight) - 1)
                    if ended is not None:
                        out.append(t - ended.timestamp())
        return out

    def first_weights(self, since: float) -> list[float]:
        return [t - since for seen in self.weights.values() for t, w in seen if w == WEIGHTS[0]]

    def stop(self) -> None:
        for watch in self.watches:
            watch.stop()


class Sampler:
    """VmRSS and VmHWM of one process, and the machine's load average, once a second, in a
    thread (the machine is shared: the load says how much the figures owe to others' work)."""

    def __init__(self, pid: int) -> None:
        self.status = Path(f"/proc/{pid}/status")
        self.stat = Path(f"/proc/{pid}/stat")
        self.samples: list[tuple[float, int, int, float]] = []  # time, RSS kB, HWM kB, CPU s
        self.loads: list[tuple[float, float]] = []  # time, 1-minute load average
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.wait(1.0):
            try:
                fields = dict(line.split(":", 1) for line in self.status.read_text().splitlines())
                ticks = self.stat.read_text().rsplit(")", 1)[1].split()[11:13]  # utime, stime
            except OSError:
                return
            kb = [int(fields[k].split()[0]) for k in ("VmRSS", "VmHWM")]
            cpu = sum(int(t) for t in ticks) / os.sysconf("SC_CLK_TCK")
            self.samples.append((time.monotonic(), kb[0], kb[1], cpu))
            load = float(Path("/proc/loadavg").read_text().split()[0])
            self.loads.append((time.monotonic(), load))

    def rss_mib(self, since: float, until: float) -> list[float]:
        return [rss / 1024 for t, rss, _, _ in self.samples if since <= t <= until]

    def load_range(self, since: float, until: float) -> str:
        inside = [load for t, load in self.loads if since <= t <= until]
        return f"{min(inside):.1f}-{max(inside):.1f}" if inside else "-"

    def peak_at(self, since: float) -> float:
        """Seconds after `since` at which VmHWM first reached its final value."""
        peak = max((hwm for _, _, hwm, _ in self.samples), default=0)
        return next((t - since for t, _, hwm, _ in self.samples if hwm == peak), 0.0)

    def cpu_share(self, since: float, until: float) -> float:
        """CPU seconds per second (1.0 = one core busy) between two times."""
        inside = [(t, cpu) for t, _, _, cpu in self.samples if since <= t <= until]
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=5)

    def save(self, path: Path, since: float) -> None:
        """The samples as seconds after `since`, RSS and HWM in MiB, CPU seconds (a TSV)."""
        rows = [
            f"{t - since:.1f}\t{rss / 1024:.1f}\t{hwm / 1024:.1f}\t{cpu:.2f}"
            for t, rss, hwm, cpu in self.samples
        ]
        path.write_text("seconds\trss_mib\thwm_mib\tcpu_s\n" + "\n".join(rows) + "\n")


def quantiles(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return (
        f"p50 {statistics.median(ordered):.2f} s, p95 {p95:.2f} s, max {ordered[-1]:.2f} s "
        f"(n={len(ordered)})"
    )


def reconcile_seconds(metrics_url: str) -> tuple[float, float]:
    text = httpx.get(metrics_url, timeout=30).text  # the operator answers slowly under load
    value = {
        m[0]: float(m[1])
        for m in re.findall(r"^codemode_rollout_reconcile_seconds_(sum|count) (\S+)$", text, re.M)
    }
    return value.get("sum", 0.0), value.get("count", 0.0)


def tick_waits(metrics_url: str) -> dict[str, tuple[float, float]]:
    """The operator's wait for a worker slot: {tick kind: (sum, count)}."""
    text = httpx.get(metrics_url, timeout=30).text
    found: dict[str, dict[str, float]] = {}
    pattern = r'^codemode_rollout_tick_wait_seconds_(sum|count)\{tick="(\w+)"\} (\S+)$'
    for part, tick, value in re.findall(pattern, text, re.M):
        found.setdefault(tick, {})[part] = float(value)
    return {tick: (v.get("sum", 0.0), v.get("count", 0.0)) for tick, v in found.items()}


def report_requests(walk: Window, idle: Window, baseline: Window) -> None:
    print("API requests/min (operator window minus the same cluster without the operator):")
    print(f"  {'verb':6} {'walk':>8} {'idle':>8} {'baseline':>9}")
    for verb in VERBS:
        base = baseline.per_minute(verb)
        print(
            f"  {verb:6} {walk.per_minute(verb) - base:8.0f} "
            f"{idle.per_minute(verb) - base:8.0f} {base:9.0f}"
        )
    walk_total = sum(walk.delta.values()) * 60 / walk.seconds
    idle_total = sum(idle.delta.values()) * 60 / idle.seconds
    base_total = sum(baseline.delta.values()) * 60 / baseline.seconds
    print(
        f"  {'all':6} {walk_total - base_total:8.0f} {idle_total - base_total:8.0f} "
        f"{base_total:9.0f}"
    )
    print("  the API server's own time per request in the walk window (the operator's writes):")
    for verb, resource in (
        ("PATCH", "codemoderollouts/status"),
        ("PATCH", "httproutes"),
        ("GET", "httproutes"),
        ("PUT", "httproutes"),
        ("POST", "events"),
    ):
        count, mean = walk.mean_served(verb, resource)
        print(f"    {verb:6} {resource:32} {count:8.0f} mean {1000 * mean:7.1f} ms")
    refused = {k: n for k, n in walk.delta.items() if k[2] in ("409", "422")}
    print(f"  answered 409 / 422 in the walk window: {dict(sorted(refused.items())) or 'none'}")
    print("  top (verb, resource, code) in the walk window, raw counts:")
    for (verb, resource, code), n in walk.delta.most_common(12):
        print(f"    {verb:6} {resource or '(non-resource)':32} {code:4} {n:8.0f}")


def run(rollouts: int, tick: float, baseline_s: float, idle_s: float, timeout: float) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-operator-"))
    nodes = max(2, math.ceil(2 * rollouts / PODS_PER_NODE))
    t0 = time.monotonic()
    cp = cluster.start(workdir, nodes=nodes)
    try:
        _walk(cp, workdir, rollouts, tick, baseline_s, idle_s, timeout, t0, nodes)
    finally:
        cp.stop()
    print(f"logs: {workdir / 'logs'}")


def _walk(
    cp: ControlPlane,
    workdir: Path,
    rollouts: int,
    tick: float,
    baseline_s: float,
    idle_s: float,
    timeout: float,
    t0: float,
    nodes: int,
) -> None:
    gateway_api.install(cp)
    install_crds(cp)
    names = [f"bench-{i:04d}" for i in range(rollouts)]
    create(cp, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names])
    create(cp, [body for ns in names for body in setup_objects(ns)])
    client = kubernetes.config.new_client_from_config(str(cp.kubeconfig))
    apps = kubernetes.client.AppsV1Api(client)

    def all_available() -> bool:
        items = apps.list_deployment_for_all_namespaces().items
        ours = [
            d for d in items if d.metadata and (d.metadata.namespace or "").startswith("bench-")
        ]
        ready = [d for d in ours if d.status and (d.status.available_replicas or 0) >= 1]
        return len(ready) == 2 * rollouts

    wait_for("all Deployments Available", all_available, 300, 2)
    steps = timed_steps(DWELL, WEIGHTS[:-1])
    create(cp, [b for ns in names for b in namespaced(ns, rollout(steps=steps))])
    print(f"setup ({rollouts} rollouts, {nodes} kwok nodes): {time.monotonic() - t0:.0f} s")
    watcher = Watcher(kubernetes.client.CustomObjectsApi(client))
    wait_for("watches primed", lambda: len(watcher.weights) == rollouts, 60, 0.5)
    time.sleep(5)  # the last pods' status writes settle
    baseline = Window.open(cp)
    time.sleep(baseline_s)
    baseline.close(cp)

    operator = Operator(cp, None, workdir / "logs", tick=tick)
    walk = Window.open(cp)
    started = time.time()
    operator.start()
    assert operator.process is not None
    sampler = Sampler(operator.process.popen.pid)
    try:
        up = time.monotonic() - walk.start
        wait_for(
            "all routes at 100%",
            lambda: watcher.at_100() == rollouts and len(watcher.succeeded) == rollouts,
            timeout,
            0.5,
        )
        walk.close(cp)
        idle = Window.open(cp)
        time.sleep(idle_s)
        idle.close(cp)
        work_sum, work_count = reconcile_seconds(operator.metrics_url)
        waits = tick_waits(operator.metrics_url)
        rss_walk = sampler.rss_mib(walk.start, walk.start + walk.seconds)
        rss_idle = sampler.rss_mib(idle.start, idle.start + idle.seconds)
        hwm = max((h for _, _, h, _ in sampler.samples), default=0) / 1024
        peak_at = sampler.peak_at(walk.start)
        cpu = [sampler.cpu_share(w.start, w.start + w.seconds) for w in (walk, idle)]
        load = sampler.load_range(walk.start, walk.start + walk.seconds)
    finally:
        sampler.stop()
        sampler.save(workdir / "logs" / "operator-rss.tsv", walk.start)
        watcher.stop()
        operator.stop()
    done = [t - started for t in watcher.succeeded.values()]
    print(f"tick {tick} s, {rollouts} rollouts, steps {WEIGHTS} with {DWELL} dwells")
    print(f"operator up (liveness) after {up:.1f} s")
    print(
        f"first weight (5%) seen after operator start: {quantiles(watcher.first_weights(started))}"
    )
    print(f"lag stepEndsAt -> route weight changed: {quantiles(watcher.lags())}")
    print(
        f"all {rollouts} Succeeded {max(done):.1f} s after operator start (first {min(done):.1f} s)"
    )
    at_100 = max(seen[-1][0] for seen in watcher.weights.values()) - started
    print(f"all routes at 100% {at_100:.1f} s after operator start")
    print(
        f"operator RSS: peak (VmHWM) {hwm:.0f} MiB ({peak_at:.0f} s after start); during walk "
        f"median {statistics.median(rss_walk):.0f} MiB, max {max(rss_walk):.0f} MiB; "
        f"idle (all Succeeded) median {statistics.median(rss_idle):.0f} MiB"
    )
    print(
        f"reconcile ticks: {work_count:.0f}, mean {1000 * work_sum / max(work_count, 1):.1f} ms "
        f"(~{work_count / (walk.seconds + idle.seconds):.1f}/s)"
    )
    for kind, (total, count) in sorted(waits.items()):
        print(
            f"wait for a worker slot, {kind}: {count:.0f} ticks, mean {total / max(count, 1):.2f} s"
        )
    print(f"operator CPU (cores busy): walk {cpu[0]:.2f}, idle {cpu[1]:.2f}")
    print(f"load average (1 min) during the walk: {load}")
    report_requests(walk, idle, baseline)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=200)
    parser.add_argument("--tick", type=float, action="append", help="repeatable; default 5")
    parser.add_argument("--baseline", type=float, default=30, help="seconds without operator")
    parser.add_argument("--idle", type=float, default=30, help="seconds after all Succeeded")
    parser.add_argument("--timeout", type=float, default=420, help="bound on the walk")
    args = parser.parse_args(argv)
    for tick in args.tick or [5.0]:  # a fresh control plane for each
        run(args.rollouts, tick, args.baseline, args.idle, args.timeout)


if __name__ == "__main__":
    main()
