"""The repository's own rules: `operator` stays the stdlib's, imports point inwards."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()


def test_operator_folder_is_not_a_package() -> None:
    assert not (REPO / "operator" / "__init__.py").exists()


def test_import_operator_from_repo_root_is_the_stdlib() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import operator, collections; print(operator.__file__)"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()).resolve().parent == STDLIB


def test_import_operator_inside_pytest_is_the_stdlib() -> None:
    import operator

    assert Path(operator.__file__).resolve().parent == STDLIB


def test_import_contracts_hold() -> None:
    # import-linter, as kopf does: the rollout core never imports adapters or I/O libraries.
    lint = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
