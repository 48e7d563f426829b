"""What smoke and soak share: the target flags, the run with its progress bar, the verdict."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from codemode_cli.tally import Tally
from codemode_cli.traffic import Outcome, PlanError, drive, plan, session

EXIT_FAILED = 1
EXIT_UNREACHABLE = 2


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog=prog, description=description)
    cli.add_argument(
        "--url",
        default=os.environ.get("CODEMODE_MCP_URL"),
        required="CODEMODE_MCP_URL" not in os.environ,
        help="the MCP endpoint, e.g. http://mcp-v2/mcp (env CODEMODE_MCP_URL)",
    )
    cli.add_argument(
        "--token",
        default=os.environ.get("CODEMODE_TOKEN"),
        help="bearer token sent as the user's credentials (env CODEMODE_TOKEN)",
    )
    cli.add_argument("--query", default="list", help="the search query (v2)")
    cli.add_argument(
        "--operations",
        default="",
        help="comma-separated read operations to call instead of the discovered ones",
    )
    cli.add_argument("--json", action="store_true", help="print the summary as JSON")
    return cli


def _root_cause(exc: BaseException) -> BaseException:
    # The MCP client's task groups wrap the real error (connection refused, 404...).
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


async def _run(args: argparse.Namespace, total: int, concurrency: int, label: str) -> Tally:
    operations = [name for name in args.operations.split(",") if name]
    async with session(args.url, args.token) as client:
        calls = await plan(client, args.query, operations)
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed={task.fields[failed]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not Console(stderr=True).is_terminal,  # no bars in Job logs or pipes
    )
    with progress:
        task = progress.add_task(label, total=total, failed=0)
        failed = 0

        def done(outcome: Outcome) -> None:
            nonlocal failed
            failed += not outcome.ok
            progress.update(task, advance=1, failed=failed)

        outcomes = await drive(args.url, args.token, total, concurrency, calls, done)
    return Tally.of(outcomes)


def run(args: argparse.Namespace, total: int, concurrency: int, label: str) -> Tally | int:
    """The tally, or the exit code when the server cannot be checked at all."""
    try:
        return asyncio.run(_run(args, total, concurrency, label))
    except PlanError as exc:
        print(f"{label}: {args.url}: {exc}", file=sys.stderr)
    except Exception as exc:
        cause = _root_cause(exc)
        print(f"{label}: cannot reach {args.url}: {type(cause).__name__}: {cause}", file=sys.stderr)
    return EXIT_UNREACHABLE


def verdict(label: str, tally: Tally, line: str, problems: Sequence[str], as_json: bool) -> int:
    """Print the summary (a line or JSON on stdout, the reasons on stderr) and the exit code."""
    if as_json:
        print(json.dumps({**tally.as_dict(), "passed": not problems, "problems": list(problems)}))
    else:
        print(line)
    if problems:
        print(f"{label} failed: " + "; ".join(problems), file=sys.stderr)
        return EXIT_FAILED
    return 0
