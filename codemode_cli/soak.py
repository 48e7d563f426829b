"""`codemode-soak`: many calls on several sessions at once; passes only if none fails."""

from __future__ import annotations

import sys

from codemode_cli import check


def main(argv: list[str] | None = None) -> int:
    cli = check.parser("codemode-soak", __doc__ or "")
    cli.add_argument("--requests", type=int, default=1000, help="tool calls to make")
    cli.add_argument("--concurrency", type=int, default=8, help="sessions calling at once")
    args = cli.parse_args(argv)
    tally = check.run(args, args.requests, args.concurrency, label="soak")
    if isinstance(tally, int):
        return tally
    problems = []
    if tally.failed:
        problems.append(
            f"{tally.failed} of {tally.total} requests failed ({tally.error_summary()})"
        )
    line = (
        f"requests={tally.total} failed={tally.failed} "
        f"p50={tally.p50_ms:.0f}ms p95={tally.p95_ms:.0f}ms"
    )
    return check.verdict("soak", tally, line, problems, args.json)


if __name__ == "__main__":
    sys.exit(main())
