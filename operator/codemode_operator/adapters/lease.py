"""Active/standby among operator replicas: a `coordination.k8s.io` Lease, as Argo Rollouts does.

The election itself is the official client's (`kubernetes.leaderelection`, client-go's
algorithm: a candidate takes the lease once its record has not changed for a lease duration).
It runs in a thread of its own; this adapter adds what a replica needs around it: a timeout on
every lease call, the reason the lease cannot be used (RBAC, transport) for the rollouts'
status and the log, a leadership that lapses by time if renewals stall, a wake-up for the
waiting reconciles, and a release on shutdown so a standby takes over at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from kubernetes.client import ApiClient, CoordinationV1Api
from kubernetes.client.exceptions import ApiException
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

LOG = logging.getLogger("codemode.lease")
# Contention, not trouble: no lease yet (it is created next), or another replica wrote first.
_EXPECTED = {"read_namespaced_lease": 404, "create_namespaced_lease": 409}
_EXPECTED_ANY = 409  # replace: the lease changed since it was read


@dataclass(frozen=True)
class LeaseTimings:
    """Seconds. A standby takes over at most duration + 2 x retry after the leader's last renewal;
    a leader that could not renew for `renew_deadline` stops acting (before anyone takes over)."""

    duration: int = 8  # whole seconds: the Lease's leaseDurationSeconds
    renew_deadline: float = 5.0
    retry: float = 1.5


@dataclass(frozen=True)
class Leadership:
    """What this replica knows of the election, at one moment."""

    identity: str
    lease: str  # namespace/name
    leading: bool
    holder: str | None  # the identity the lease names, as last read
    problem: str | None  # why this replica cannot use the lease (for longer than a lease duration)


class _Released(Exception):
    """The replica is shutting down: the election thread stops at its next lease call."""


def _reason(error: BaseException) -> str:
    if isinstance(error, ApiException):
        return f"{error.status} {error.reason}: {_api_message(error)}"
    return f"{type(error).__name__}: {error}"


def _api_message(error: ApiException) -> str:
    try:
        return str(json.loads(error.body or "{}").get("message") or error.body)
    except ValueError:
        return str(error.body)


class _LeaseCalls:
    """CoordinationV1Api with a timeout on every call, keeping the last failure and its start."""

    def __init__(self, api: CoordinationV1Api, timeout: float, released: threading.Event) -> None:
        self._api, self._timeout, self._released = api, timeout, released
        self.failure: str | None = None
        self.failing_since: float | None = None

    def failed(self, error: BaseException) -> None:
        reason = _reason(error)
        if reason != self.failure:
            LOG.warning("the lease cannot be used: %s", reason)
        self.failure = reason
        if self.failing_since is None:
            self.failing_since = time.monotonic()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._api, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._released.is_set():
                raise _Released()
            try:
                result = method(*args, _request_timeout=self._timeout, **kwargs)
            except ApiException as error:
                if error.status not in (_EXPECTED.get(name), _EXPECTED_ANY):
                    self.failed(error)
                raise
            except Exception as error:  # transport: refused, reset, timed out
                self.failed(error)
                raise
            if self.failure is not None:
                LOG.warning("the lease is usable again")
            self.failure = self.failing_since = None
            return result

        return call


class Elector:
    """One replica's candidacy for the Lease `namespace/name` under `identity`."""

    def __init__(
        self,
        client: ApiClient,
        namespace: str,
        name: str,
        identity: str,
        timings: LeaseTimings,
        on_change: Callable[[bool], None] = lambda leading: None,
    ) -> None:
        self.namespace, self.name, self.identity, self.timings = namespace, name, identity, timings
        self._on_change = on_change
        self._released = threading.Event()
        self._leading = False
        self._event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._api = CoordinationV1Api(client)
        self._calls = _LeaseCalls(self._api, timings.renew_deadline / 2, self._released)
        lock = LeaseLock(name, namespace, identity)
        # The (untyped) lock's attribute is inferred as the API class; it only calls the API's
        # lease methods by name, and the proxy forwards each.
        lock.api_instance = cast(CoordinationV1Api, self._calls)
        config = electionconfig.Config(
            lock,
            lease_duration=timings.duration,
            renew_deadline=timings.renew_deadline,
            retry_period=timings.retry,
            onstarted_leading=lambda: self._set_leading(True),
            onstopped_leading=lambda: self._set_leading(False),
        )
        self._election = leaderelection.LeaderElection(config)
        # The library logs every renewal and every standby poll at INFO; transitions and
        # failures are logged here instead.
        logging.getLogger("leaderelection").setLevel(logging.WARNING)

    @property
    def lease(self) -> str:
        return f"{self.namespace}/{self.name}"

    def start(self) -> None:
        """Join the election (call from the event loop whose reconciles wait for it)."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        threading.Thread(target=self._run, name="lease-election", daemon=True).start()

    def _run(self) -> None:
        while not self._released.is_set():
            try:
                self._election.run()  # returns when a held lease could not be renewed in time
            except _Released:
                break
            except Exception as error:  # transport errors escape the library's lock.get
                self._calls.failed(error)
            self._set_leading(False)
            self._released.wait(self.timings.retry)
        self._set_leading(False)

    def _set_leading(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        if leading:
            LOG.info("leading: this replica (%s) holds lease %s", self.identity, self.lease)
        elif not self._released.is_set():
            LOG.warning(
                "standing by: this replica (%s) no longer holds lease %s", self.identity, self.lease
            )
        self._on_change(leading)
        if self._loop is not None and self._event is not None:
            event = self._event
            self._loop.call_soon_threadsafe(event.set if leading else event.clear)

    def snapshot(self) -> Leadership:
        record = self._election.observed_record
        holder = record.holder_identity if record is not None else None
        # A leader whose renewals stall stops acting by its own clock, before the lease expires
        # for the others (renew deadline < duration): two replicas never act at once.
        age_ms = time.time() * 1000 - self._election.observed_time_milliseconds
        leading = (
            self._leading
            and holder == self.identity
            and age_ms < self.timings.renew_deadline * 1000
        )
        since = self._calls.failing_since
        persistent = since is not None and time.monotonic() - since >= self.timings.duration
        return Leadership(
            identity=self.identity,
            lease=self.lease,
            leading=leading,
            holder=holder,
            problem=self._calls.failure if persistent and not leading else None,
        )

    async def wait_leading(self) -> None:
        """Until this replica leads (the caller bounds the wait)."""
        if self._event is None:
            raise RuntimeError("the elector has not been started")
        await self._event.wait()

    def release(self) -> None:
        """Stop the candidacy; if leading, free the lease so a standby takes it at its next poll
        instead of after a lease duration (client-go's ReleaseOnCancel)."""
        was_leading = self.snapshot().leading
        self._released.set()
        self._set_leading(False)  # quietly: this replica is exiting
        if not was_leading:
            return
        for _ in range(2):  # a renewal in flight may land first: then re-read once
            try:
                lease = self._api.read_namespaced_lease(
                    self.name, self.namespace, _request_timeout=self.timings.retry
                )
                if lease.spec is None or lease.spec.holder_identity != self.identity:
                    return
                lease.spec.holder_identity = None
                lease.spec.lease_duration_seconds = 1
                self._api.replace_namespaced_lease(
                    self.name, self.namespace, lease, _request_timeout=self.timings.retry
                )
                LOG.info("released lease %s", self.lease)
                return
            except ApiException as error:
                if error.status != 409:
                    LOG.warning("could not release lease %s: %s", self.lease, _reason(error))
                    return
            except Exception as error:  # shutting down anyway: the lease expires by itself
                LOG.warning("could not release lease %s: %s", self.lease, _reason(error))
                return
