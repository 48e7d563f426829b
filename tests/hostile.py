"""The hostile-program corpus (tests/data/hostile/programs.yaml), shared by the test tiers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).parent / "data" / "hostile" / "programs.yaml"


@dataclass(frozen=True)
class Program:
    name: str
    code: str
    kind: str  # the error kind it ends with, or "ok"
    result: Any = None  # what it returns when `kind` is "ok"

    def with_ports(self, **ports: int) -> str:
        """The code with MCP_PORT, PROXY_PORT, BACKEND_PORT... replaced by `mcp=`, `proxy=`..."""
        code = self.code
        for name, port in ports.items():
            code = code.replace(f"{name.upper()}_PORT", str(port))
        return code


def programs() -> list[Program]:
    return [Program(**entry) for entry in yaml.safe_load(CORPUS.read_text(encoding="utf-8"))]


def program(name: str) -> Program:
    return next(found for found in programs() if found.name == name)
