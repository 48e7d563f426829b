"""operationId gate: fail CI when a spec has operations the typed SDK cannot name."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mcp_server.openapi.loading import SpecError, find_problems, read_document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="codemode-openapi-gate",
        description="Check that every operation has a unique operationId usable as an identifier.",
    )
    parser.add_argument("spec", nargs="+", type=Path, help="OpenAPI document (JSON or YAML)")
    args = parser.parse_args(argv)
    failed = False
    for path in args.spec:
        try:
            problems = find_problems(read_document(path))
        except SpecError as exc:
            print(exc, file=sys.stderr)
            failed = True
            continue
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        failed = failed or bool(problems)
        if not problems:
            print(f"{path}: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
