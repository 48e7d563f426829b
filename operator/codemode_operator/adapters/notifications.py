"""Telling people of a rollout's transitions through apprise, with URLs from a Secret.

apprise speaks Slack, Teams, Discord, PagerDuty, generic JSON webhooks (`json://`) and about a
hundred others. What to send and when is decided by the core (`rollout.notification`); this
only sends one notification and says whether every receiver took it.
"""

from __future__ import annotations

import asyncio
import logging
import re

import kubernetes

from codemode_operator.adapters.kube import Kube
from codemode_operator.apis.spec import Notifications
from codemode_operator.apis.status import Notification

TIMEOUT = 15.0  # seconds for one attempt at every receiver; then the next tick goes on


def parse_urls(text: str) -> list[str]:
    """apprise URLs, one per line or separated by spaces or commas; a `#` at the start of a
    line or after a space starts a comment (inside a URL it is part of it: slack://…/#channel)."""
    lines = (re.sub(r"(^|\s)#.*", "", line) for line in text.splitlines())
    return [url for line in lines for url in re.split(r"[\s,]+", line) if url]


async def _urls(kube: Kube, namespace: str, config: Notifications) -> list[str]:
    ref = config.secret_ref
    try:
        text = await kube.secret_value(namespace, ref.name, ref.key)
    except kubernetes.client.ApiException as error:
        raise DeliveryError(
            f"cannot read Secret {namespace}/{ref.name} ({error.status} {error.reason})"
        ) from error
    urls = parse_urls(text or "")
    if not urls:
        raise DeliveryError(f"Secret {namespace}/{ref.name} has no apprise URLs under {ref.key!r}")
    return urls


class DeliveryError(Exception):
    """A notification not taken by every receiver; the message says why (never the URLs)."""


async def send(
    kube: Kube, namespace: str, name: str, config: Notifications, note: Notification
) -> None:
    """Send `note` to every URL of the Secret; raise DeliveryError unless all took it."""
    # apprise loads about a hundred plugins: only an operator that notifies pays for them
    # (start-up time and memory), not every operator.
    import apprise

    urls = await _urls(kube, namespace, config)
    receivers = apprise.Apprise()
    for index, url in enumerate(urls, start=1):
        if not receivers.add(url):  # the URL itself may hold a token: name its place only
            raise DeliveryError(f"URL {index} of {len(urls)} is not a URL apprise knows")
    title = f"[codemode-rollout] {namespace}/{name}: {note.title}"
    body = f"{note.body}\nnotification {note.seq} of {namespace}/{name}"
    with apprise.LogCapture(level=logging.WARNING) as logs:
        try:
            result = await asyncio.wait_for(
                receivers.async_notify(title=title, body=body, notify_type=note.severity), TIMEOUT
            )
        except TimeoutError as error:
            raise DeliveryError(f"no answer within {TIMEOUT:g}s") from error
    if not result:
        lines = [line for line in logs.getvalue().splitlines() if line.strip()]
        raise DeliveryError(lines[-1].split(" - ", 2)[-1] if lines else "a receiver refused it")
