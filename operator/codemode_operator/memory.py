"""What this process remembers of each rollout between its ticks, keyed by the rollout's uid.

No progress lives here (that is all in the status, so a restarted operator resumes exactly):
only what spares a write or a repeat while kopf's watch lags behind our own writes. A rollout's
entry goes when the rollout is deleted (`handlers.forget`), so churn does not grow it; a new
rollout of the same name has a new uid and starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from codemode_operator.apis.status import NotificationsStatus


@dataclass
class Recall:
    """One rollout's entry."""

    # The highest Event seq this process posted. Those records leave the outbox with the
    # rollout's next status write rather than with a write of their own: one PATCH fewer per
    # transition (at 500 rollouts, 2500 of 7100 status writes). A stale copy never drops a newer
    # record (higher seq); after a restart they are posted again, which creates nothing.
    posted: int = 0
    # The delivery fields this process last wrote: a lagging watch copy of the status may not
    # show them yet, and a notification must not go out twice for it.
    delivery: NotificationsStatus | None = None


class Memory:
    def __init__(self) -> None:
        self._rollouts: dict[str, Recall] = {}

    def of(self, uid: str) -> Recall:
        """The rollout's entry, a new one on its first tick in this process."""
        return self._rollouts.setdefault(uid, Recall())

    def forget(self, uid: str) -> None:
        """The rollout is gone: its entry goes too (nothing if it never ticked here)."""
        self._rollouts.pop(uid, None)

    def __len__(self) -> int:
        return len(self._rollouts)
