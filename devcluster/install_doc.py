"""The README's install section as commands: what the chart tests, the staging tier and the
demo run, so the documented commands are the ones that are proven to work."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INSTALL_DOC = REPO / "README.md"  # its install section is the first ```sh block
TIMEOUT = 300


def doc_commands(doc: Path = INSTALL_DOC) -> list[list[str]]:
    """The commands of the first ```sh block of `doc`, each split as the shell would."""
    block = doc.read_text().split("```sh\n", 1)[1].split("```", 1)[0]
    lines = block.replace("\\\n", " ").splitlines()
    return [shlex.split(line) for line in lines if line.strip() and not line.startswith("#")]


def with_values(command: list[str], values: Mapping[str, Sequence[Path]]) -> list[str]:
    """`helm install RELEASE ...` gets `--values FILE` for each of `values[RELEASE]`, after the
    README's own (a later values file wins, as in a team's layered values)."""
    if command[:2] != ["helm", "install"]:
        return command
    return [
        *command,
        *(arg for path in values.get(command[2], ()) for arg in ("--values", str(path))),
    ]


def run_doc_commands(
    env: Mapping[str, str], values: Mapping[str, Sequence[Path]] | None = None
) -> list[str]:
    """The install doc's commands with `env`'s PATH and kubeconfig, verbatim unless `values`
    names extra values files for a release; their outputs."""
    outputs = []
    for command in doc_commands():
        binary = shutil.which(command[0], path=env["PATH"])
        if binary is None:
            raise FileNotFoundError(f"{command[0]} is not on {env['PATH']}")
        argv = with_values(command, values or {})
        out = subprocess.run(
            [binary, *argv[1:]], env=env, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT
        )
        if out.returncode != 0:
            raise RuntimeError(f"{shlex.join(argv)} failed: {out.stdout}{out.stderr}")
        outputs.append(out.stdout)
    return outputs
