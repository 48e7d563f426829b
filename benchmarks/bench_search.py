"""Search benchmark (not a test): relevance on the task set, and latency over 1000 operations.

    .venv/bin/python -m benchmarks.bench_search [--show-unseen] [--rounds 5000]

- relevance: benchmarks/search_relevance.yaml, tasks phrased as users phrase them over the three
  real specs; top-1/top-3/top-5 per spec and per split (`dev` was used while tuning, `held-out`
  and `fresh` were not). Misses are printed for the dev split only, unless --show-unseen.
- browse: a scripted agent that, when the answer is not among search's 5 matches, lists the
  tags and browses those of the top 3 matches (one call each): how many tasks it then finds,
  in how many calls and how many bytes read, against search alone.
- start-up: loading each real spec (libyaml's C loader) and building its search tool, median of 3.
- latency: `OperationIndex.search` in process over 1000 operations (three real specs plus
  renamed copies), p50/p95.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from devcluster.specs import REAL_SPECS, thousand_operations
from mcp_server.openapi.index import OperationIndex
from mcp_server.openapi.loading import load_spec
from mcp_server.tools.search import UNTAGGED, Search

RELEVANCE_SET = Path(__file__).with_name("search_relevance.yaml")
CUTS = (1, 3, 5)


@dataclass(frozen=True)
class Task:
    spec: str
    task: str
    accept: tuple[str, ...]
    split: str


def load_tasks(path: Path = RELEVANCE_SET) -> list[Task]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Task(spec, item["task"], tuple(item["accept"]), item.get("split", "dev"))
        for spec, items in document.items()
        for item in items
    ]


def rank_of(index: OperationIndex, task: Task) -> int | None:
    """1-based rank of the first acceptable operation in the top 5, None if absent."""
    found = [hit.operation.name for hit in index.search(task.task, max(CUTS))]
    return next((n for n, name in enumerate(found, 1) if name in task.accept), None)


def relevance(show_unseen: bool) -> list[str]:
    tasks = load_tasks()
    indexes: dict[str, OperationIndex] = {}
    ranks: dict[tuple[str, str], list[int | None]] = defaultdict(list)
    lines = []
    for task in tasks:
        if task.spec not in indexes:
            spec = load_spec(REAL_SPECS / task.spec)
            unknown = {name for t in tasks if t.spec == task.spec for name in t.accept} - {
                op.name for op in spec.operations
            }
            if unknown:
                raise SystemExit(f"{task.spec}: unknown operations in the set: {sorted(unknown)}")
            indexes[task.spec] = OperationIndex(spec.operations, spec.document)
        index = indexes[task.spec]
        rank = rank_of(index, task)
        for key in (
            (task.spec, task.split),
            ("all", task.split),
            (task.spec, "all"),
            ("all", "all"),
        ):
            ranks[key].append(rank)
        if (rank is None or rank > 1) and (task.split == "dev" or show_unseen):
            top = [hit.operation.name for hit in index.search(task.task, 3)]
            lines.append(f"  miss@1 [{task.split}] {task.task!r}: want {task.accept}, got {top}")
    table = ["| spec | split | tasks | top-1 | top-3 | top-5 |", "|---|---|---|---|---|---|"]
    for (spec_name, split), found in sorted(ranks.items()):
        shares = [sum(1 for r in found if r is not None and r <= cut) / len(found) for cut in CUTS]
        table.append(
            f"| {spec_name} | {split} | {len(found)} | "
            + " | ".join(f"{share:.1%}" for share in shares)
            + " |"
        )
    return table + lines


def browse_lift() -> list[str]:
    """Search alone against search-then-browse, for a scripted agent that knows the answer
    when it reads it (as a model reading one-line summaries would)."""
    searches: dict[str, Search] = {}
    alone = with_browse = 0
    calls: list[int] = []
    read: list[int] = []
    tasks = load_tasks()
    for task in tasks:
        if task.spec not in searches:
            searches[task.spec] = Search(load_spec(REAL_SPECS / task.spec), 5)
        search = searches[task.spec]
        result = search.find(task.task, 5)
        spent, size = 1, len(result.model_dump_json())
        names = [match.operationId for match in result.results]
        if set(names) & set(task.accept):
            alone += 1
            with_browse += 1
            continue
        spent, size = spent + 1, size + len(search.tags().model_dump_json())
        # Every name came from this spec's own search: a name it lacks fails loudly (KeyError).
        operations = {op.name: op for op in load_spec(REAL_SPECS / task.spec).operations}
        tags = dict.fromkeys(
            tag for name in names[:3] for tag in (operations[name].tags or (UNTAGGED,))
        )
        for tag in tags:
            listing = search.browse(tag)
            spent, size = spent + 1, size + len(listing.model_dump_json())
            if any(line.split(":")[0] in task.accept for line in listing.operations):
                with_browse += 1
                calls.append(spent)
                read.append(size)
                break
    lines = [
        f"search alone: {alone}/{len(tasks)} tasks ({alone / len(tasks):.1%}) in 1 call",
        f"search, then browse the top matches' tags: {with_browse}/{len(tasks)} "
        f"({with_browse / len(tasks):.1%})",
    ]
    if calls:
        lines.append(
            f"  the {len(calls)} found by browsing: median {statistics.median(calls):g} calls, "
            f"median {statistics.median(read) / 1000:.1f} kB read"
        )
    return lines


def start_up() -> list[str]:
    lines = []
    for name in sorted({task.spec for task in load_tasks()}):
        loads, cpu, builds = [], [], []
        for _ in range(3):
            started, started_cpu = time.perf_counter(), time.process_time()
            spec = load_spec(REAL_SPECS / name)
            loaded = time.perf_counter()
            cpu.append(time.process_time() - started_cpu)
            Search(spec, 5)
            loads.append(loaded - started)
            builds.append(time.perf_counter() - loaded)
        lines.append(
            f"{name}: {len(spec.operations)} operations, load {statistics.median(loads):.2f} s "
            f"(CPU {statistics.median(cpu):.2f} s), search tool built in "
            f"{statistics.median(builds):.2f} s"
        )
    return lines


def latency(rounds: int) -> str:
    tasks = load_tasks()
    index = OperationIndex(thousand_operations())
    wall, cpu = [], []
    for n in range(rounds):
        started, started_cpu = time.perf_counter(), time.thread_time()
        index.search(tasks[n % len(tasks)].task, 5)
        wall.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
    # CPU time too: on a shared box the wall-clock tail is other processes' time slices.
    return "\n".join(
        f"search in process, 1000 operations, {kind}: n={rounds} "
        f"p50={statistics.median(times) * 1000:.3f} ms "
        f"p95={statistics.quantiles(times, n=20)[18] * 1000:.3f} ms"
        for kind, times in (("wall", wall), ("thread CPU", cpu))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--show-unseen", action="store_true", help="print the held-out and fresh misses too"
    )
    parser.add_argument("--rounds", type=int, default=5000)
    args = parser.parse_args()
    for line in relevance(args.show_unseen) + browse_lift() + start_up():
        print(line)
    print(latency(args.rounds))


if __name__ == "__main__":
    main()
