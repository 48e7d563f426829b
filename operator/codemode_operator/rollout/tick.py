"""One call of decide: the inputs, the status being rewritten and the actions so far."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from codemode_operator.apis.spec import RolloutSpec, Step, Transition
from codemode_operator.apis.status import ACTIVE_PHASES, RolloutStatus

from . import events, history, notification, weight
from .actions import ORDER, Action, Emit
from .observations import Observations


@dataclass
class Tick:
    spec: RolloutSpec
    status: RolloutStatus
    observations: Observations
    now: datetime
    actions: list[Action] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status.phase in ACTIVE_PHASES

    @property
    def step(self) -> Step:
        return self.spec.steps[self.status.step_index]

    def label(self) -> str:
        return history.label(self.status, weight.desired(self.spec, self.status))

    def emit(
        self, reason: str, message: str, type_: Literal["Normal", "Warning"] = "Normal"
    ) -> None:
        self.actions.append(Emit(type_, reason, message))
        events.queue(self.status, self.now, type_, reason, message)

    def record(
        self,
        before: str,
        reason: str,
        message: str,
        type_: Literal["Normal", "Warning"] = "Normal",
    ) -> None:
        """A transition: one history entry and one event (and a notification, if asked)."""
        label = self.label()
        history.append(self.status, self.now, before, label, reason)
        self.emit(reason, message, type_)
        kind = notification.transition(self.status, reason)
        if kind is not None:
            self.notify(kind, reason, message)

    def notify(self, kind: Transition, reason: str, message: str) -> None:
        notification.queue(self.spec, self.status, self.now, kind, reason, message, self.label())

    def ordered_actions(self) -> tuple[Action, ...]:
        return tuple(sorted(self.actions, key=lambda a: ORDER.index(type(a))))
