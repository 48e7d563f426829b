"""Optional type check of the model's code against the generated declarations, before it runs.

`tsc --noEmit` (TypeScript from npm) checks the code as the body of `async function (api: Api)`
with `ApiError` and `sleep` in scope; its diagnostics become a `user` error at the line and
column of the model's code. Off by default: one tsc process per execution costs far more than
the 100 ms the check may add (docs/benchmarks.md); `typeCheck: true` turns it on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

# The check file: three lines, then the model's code (diagnostics are shifted back by three).
_PREFIX = (
    'import type { Api, ApiError as ApiErrorClass } from "./sdk";\n'
    "declare global { const ApiError: typeof ApiErrorClass; "
    "function sleep(ms: number): Promise<void>; }\n"
    "export default async function (api: Api): Promise<unknown> {\n"
)
_PREFIX_LINES = _PREFIX.count("\n")
_DIAGNOSTIC = re.compile(
    r"^(?P<file>[^(\n]+)\((?P<line>\d+),(?P<column>\d+)\): error (?P<code>TS\d+): (?P<text>.*)$"
)
_FLAGS = (
    "--noEmit",
    "--pretty",
    "false",
    "--skipLibCheck",
    "--target",
    "es2022",
    "--module",
    "esnext",
    "--moduleResolution",
    "bundler",
    "--lib",
    "es2022,dom",
    "--types",
    "",
)
_SHOWN = 5
_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Diagnostic:
    line: int
    column: int
    code: str
    text: str


def default_tsc() -> str | None:
    """`tsc` on PATH, else the repository's node_modules (a developer's checkout)."""
    found = shutil.which("tsc")
    local = Path(__file__).resolve().parents[1] / "node_modules" / ".bin" / "tsc"
    return found or (str(local) if local.exists() else None)


class TypeChecker:
    def __init__(self, declarations: str, tsc: str) -> None:
        self._tsc = tsc
        self._folder = Path(tempfile.mkdtemp(prefix="codemode-typecheck-"))
        (self._folder / "sdk.d.ts").write_text(declarations, encoding="utf-8")
        self._serial = 0

    def close(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)

    async def check(self, code: str) -> list[Diagnostic] | None:
        """Diagnostics in the model's lines; None when the check could not run (never blocks)."""
        self._serial += 1
        source = self._folder / f"code{self._serial}.ts"
        source.write_text(_PREFIX + code + "\n}\n", encoding="utf-8")
        try:
            process = await asyncio.create_subprocess_exec(
                self._tsc,
                *_FLAGS,
                source.name,
                cwd=self._folder,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            try:
                output, _ = await asyncio.wait_for(process.communicate(), _TIMEOUT_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
                logger.warning(
                    "type check timed out after %ss; running unchecked", _TIMEOUT_SECONDS
                )
                return None
        except OSError as exc:
            logger.warning("type check could not run (%s); running unchecked", exc)
            return None
        finally:
            source.unlink(missing_ok=True)
        return _diagnostics(output.decode("utf-8", "replace"), source.name)


def _diagnostics(output: str, file_name: str) -> list[Diagnostic]:
    found = []
    for line in output.splitlines():
        match = _DIAGNOSTIC.match(line.strip())
        if match and match["file"].endswith(file_name):
            found.append(
                Diagnostic(
                    line=max(1, int(match["line"]) - _PREFIX_LINES),
                    column=int(match["column"]),
                    code=match["code"],
                    text=match["text"],
                )
            )
    return found


def describe(diagnostics: list[Diagnostic], code: str) -> str:
    """The message for the model: each problem at its line and column, with that line."""
    lines = code.split("\n")
    parts = []
    for diagnostic in diagnostics[:_SHOWN]:
        source = lines[diagnostic.line - 1].strip() if diagnostic.line <= len(lines) else ""
        parts.append(
            f"line {diagnostic.line}, column {diagnostic.column}: {diagnostic.text} "
            f"({diagnostic.code})\n  {diagnostic.line} | {source}"
        )
    more = len(diagnostics) - _SHOWN
    suffix = f"\n…and {more} more" if more > 0 else ""
    return (
        "the code does not type-check against the API, nothing ran:\n" + "\n".join(parts) + suffix
    )
