"""The operator, dying the way a `kill -9` at the worst moment would leave it.

`python -m tests.integration.operator.crashing_operator <operator flags>` runs the real operator,
except that right after the first status write that sets the field named by `CRASH_AFTER` (e.g.
`applying`: a new step decided on) the process exits at once, before any of that tick's actions
(route write, events). A SIGKILL from the test could not hit that window deterministically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from codemode_operator.__main__ import main
from codemode_operator.adapters.resource import ApiResource

CRASH_AFTER = "CODEMODE_TEST_CRASH_AFTER"
EXIT_CODE = 137  # what a SIGKILL'd process reports


def _crash_after_commit(field: str) -> None:
    commit = ApiResource.commit

    async def commit_then_die(
        self: ApiResource, patch: Mapping[str, Any], guarded: bool = True
    ) -> str | None:
        stored = await commit(self, patch, guarded)
        if stored is not None and patch.get(field):
            os._exit(EXIT_CODE)  # no cleanup, no flush: as abrupt as SIGKILL
        return stored

    ApiResource.commit = commit_then_die


if __name__ == "__main__":
    _crash_after_commit(os.environ[CRASH_AFTER])
    main()
