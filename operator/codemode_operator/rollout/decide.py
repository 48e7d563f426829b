"""The rollout state machine: one pure function from (spec, status, observations, now).

Pending --v2 Ready, gates of step 1 passed--> Progressing (step 1 weight)
Progressing --dwell over (or approved), v2 Ready, enough data, verdict not Fail,
              gates of the next step passed--> next step ... last step --> Succeeded
Progressing <--spec.paused--> Paused           (analysis and rollbacks go on when paused)
Pending/Progressing/Paused --analysis Fail, progress deadline, gate failed,
              metrics unavailable (Rollback policy)--> RolledBack (weight 0 first)
              --abort--> Aborted
RolledBack/Aborted --retry, new v2 revision--> Pending (new attempt)
Succeeded --scaleDownStable.after--> ScaleStable(0) once
"""

from dataclasses import dataclass
from datetime import datetime

from codemode_operator.apis.spec import RolloutSpec
from codemode_operator.apis.status import RolloutStatus

from . import (
    changes,
    notification,
    pause,
    phases,
    pins,
    readiness,
    scale_down,
    sre_requests,
    step,
    weight,
)
from .actions import Action
from .analysis import check as check_analysis
from .observations import Observations
from .tick import Tick


@dataclass(frozen=True)
class Decision:
    actions: tuple[Action, ...]
    status: RolloutStatus


def decide(
    spec: RolloutSpec, status: RolloutStatus, observations: Observations, now: datetime
) -> Decision:
    t = Tick(spec, status.model_copy(deep=True), observations, now)
    if t.status.phase is None:
        phases.start(t, "Created", "waiting for v2 to be Ready")
    changes.apply(t)
    sre_requests.handle(t)
    if t.active:
        pause.sync(t)
        ready = readiness.check(t)
        if t.active:
            check_analysis(t)
        if t.active:
            step.confirm(t)
        if t.status.phase in ("Pending", "Progressing"):
            step.advance(t, ready)
    if t.status.phase == "Succeeded":
        scale_down.check(t)
    if change := weight.sync(spec, t.status, observations):
        t.actions.append(change)
    if pinning := pins.sync(spec, t.status, observations):
        t.actions.append(pinning)
    pins.describe(t)
    notification.prune(t.status)
    t.status.observed_generation = observations.generation
    step.describe(spec, t.status, now)
    return Decision(t.ordered_actions(), t.status)
