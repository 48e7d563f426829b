"""`codemode-operator`: run the kopf operator with the project's settings."""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import kopf
import kubernetes
from prometheus_client import start_http_server

from codemode_operator import handlers, malloc, metrics
from codemode_operator.adapters.kube import Kube, connect
from codemode_operator.adapters.lease import Elector, LeaseTimings
from codemode_operator.adapters.routers import gateway_api
from codemode_operator.settings import Settings


def _gateway_api_installed(kube: Kube) -> bool:
    apis = kubernetes.client.ApisApi(kube.apps.api_client).get_api_versions()
    return any(group.name == gateway_api.GROUP for group in apis.groups)


LIST_PAGE = 100  # objects per page of kopf's first listing of a resource
# kopf's own session opens connections without limit (aiohttp's TCPConnector(limit=0)): at 500
# new rollouts it added its 500 finalizers at once, each on a TLS connection of its own with
# asyncio's 256 KiB SSL buffer and OpenSSL's state: +140 MiB of RSS for a minute, the operator's
# peak. kopf's calls other than its watches (finalizers, events) get this many connections.
KOPF_CALLS = 16
WATCHED_KINDS = 3  # rollouts, Deployments, HTTPRoutes: a watch stream each per namespace
KOPF_OBSERVERS = 2  # kopf's own watches of CRDs and namespaces


def _configure(settings: kopf.OperatorSettings, namespaced: bool) -> None:
    # Progress in annotations under our prefix; the status belongs to the rollout alone.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix="kopf.codemode.io"
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="kopf.codemode.io"
    )
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 300
    # The first listing in pages (kopf's `WatchingSettings.chunk_size`): unpaged, the answer for
    # all Deployments (1000 at 500 rollouts), HTTPRoutes and rollouts was read and parsed whole,
    # which made the operator's start-up peak; kopf keeps one page in memory at a time.
    settings.watching.chunk_size = LIST_PAGE
    # A namespaced operator's Role cannot list namespaces or CRDs: skip kopf's cluster scans.
    settings.scanning.disabled = namespaced


def _kopf_connections(namespaces: tuple[str, ...]) -> int:
    """The limit of kopf's connections: its watches plus KOPF_CALLS (0: none). A watch holds its
    connection for good, so namespace patterns, whose watches cannot be counted, get no limit."""
    if any(char in name for name in namespaces for char in "*?[!"):
        return 0
    return WATCHED_KINDS * max(1, len(namespaces)) + KOPF_OBSERVERS + KOPF_CALLS


async def _login(connections: int, **kwargs: Any) -> kopf.AiohttpSession | None:
    """kopf's login through the kubernetes client (as kopf.login_via_client), in a session
    whose connections are limited (kopf docs, authentication: custom HTTP sessions)."""
    info = kopf.login_via_client(**kwargs)
    if info is None:
        return None
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections, ssl=info.as_ssl_context()),
        headers=info.as_http_headers(),
        trust_env=bool(info.trust_env),
    )
    return kopf.AiohttpSession(
        aiohttp_session=session,
        server=info.server,
        priority=info.priority,
        default_namespace=info.default_namespace,
        expiration=info.expiration,
    )


async def _size_thread_pool(workers: int, **_: object) -> None:
    # The kubernetes and Prometheus clients block, so every tick's calls run in the loop's
    # default executor: its default size (cores + 4) would queue hundreds of rollouts' ticks.
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="codemode-io")
    asyncio.get_running_loop().set_default_executor(pool)


async def _join(elector: Elector, **_: object) -> None:
    elector.start()  # in the event loop: the waiting reconciles are woken through it


def _elector(options: Settings, kube: Kube) -> Elector | None:
    if options.lease is None:
        return None
    timings = LeaseTimings(options.lease_duration, options.renew_deadline, options.retry_period)
    logging.info(
        "leader election: lease %s/%s as %s",
        options.lease_namespace,
        options.lease,
        options.identity,
    )
    return Elector(
        kube.core.api_client,
        options.lease_namespace,
        options.lease,
        options.identity,
        timings,
        on_change=lambda leading: metrics.LEADER.set(1 if leading else 0),
    )


def main(argv: list[str] | None = None) -> None:
    options = Settings.from_args(argv)
    malloc.limit_arenas()
    kopf.configure(log_format=kopf.LogFormat.JSON, log_refkey="rollout")  # structured logs
    # kopf logs every successful timer run at INFO: one line per rollout per tick. Transitions
    # are Events (and history); per-object warnings and errors still reach the log.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    kube = Kube(connect(options.workers + 1))  # + the lease's calls
    with_gateway_api = _gateway_api_installed(kube)
    if not with_gateway_api:
        logging.warning("Gateway API is not installed: only the replicas router can work")
    registry = kopf.OperatorRegistry()
    elector = _elector(options, kube)
    handlers.register(registry, options, kube, with_gateway_api, elector)
    if elector is not None:
        # Candidates from the start: the watches fill while the lease is awaited (a warm
        # standby); on exit the lease is freed so a standby takes over at its next poll.
        kopf.on.startup(registry=registry, id="lease")(functools.partial(_join, elector))
        kopf.on.cleanup(registry=registry, id="lease")(lambda **_: elector.release())
    kopf.on.startup(registry=registry, id="settings")(
        lambda settings, **_: _configure(settings, namespaced=bool(options.namespaces))
    )
    # A coroutine function (partial keeps it one), so kopf runs it in the event loop itself.
    kopf.on.startup(registry=registry, id="thread-pool")(
        functools.partial(_size_thread_pool, options.workers)
    )
    kopf.on.startup(registry=registry, id="malloc-trim")(malloc.trim_forever)
    # A registry of our own gets none of kopf's default login handlers: same credentials as ours.
    connections = _kopf_connections(options.namespaces)
    kopf.on.login(registry=registry)(functools.partial(_login, connections))
    if options.metrics_port:
        start_http_server(options.metrics_port, addr=options.metrics_host)
    kopf.run(
        registry=registry,
        # kopf's own peering stays off: the Lease elects the active replica.
        standalone=True,
        liveness_endpoint=options.liveness,
        clusterwide=not options.namespaces,
        namespaces=options.namespaces,
    )


if __name__ == "__main__":
    main()
