"""`codemode-smoke`: a short mixed run; passes only if every call succeeds, fast enough."""

from __future__ import annotations

import sys

from codemode_cli import check


def main(argv: list[str] | None = None) -> int:
    cli = check.parser("codemode-smoke", __doc__ or "")
    cli.add_argument("--calls", type=int, default=50, help="tool calls to make")
    cli.add_argument("--p50-ms", type=float, default=500.0, help="p50 must be under this")
    cli.add_argument("--p95-ms", type=float, default=2000.0, help="p95 must be under this")
    args = cli.parse_args(argv)
    tally = check.run(args, args.calls, concurrency=1, label="smoke")
    if isinstance(tally, int):
        return tally
    problems = []
    if tally.failed:
        problems.append(f"{tally.failed} of {tally.total} calls failed ({tally.error_summary()})")
    if tally.p50_ms >= args.p50_ms:
        problems.append(f"p50 {tally.p50_ms:.0f}ms is not under {args.p50_ms:.0f}ms")
    if tally.p95_ms >= args.p95_ms:
        problems.append(f"p95 {tally.p95_ms:.0f}ms is not under {args.p95_ms:.0f}ms")
    line = f"ok={tally.ok}/{tally.total} p50={tally.p50_ms:.0f}ms p95={tally.p95_ms:.0f}ms"
    return check.verdict("smoke", tally, line, problems, args.json)


if __name__ == "__main__":
    sys.exit(main())
