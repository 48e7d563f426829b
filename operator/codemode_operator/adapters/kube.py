"""Reads and writes of Kubernetes objects other than the CodeModeRollout itself.

The sync `kubernetes` client runs in worker threads: the calls are few and short, and it is the
client the field knows. Deployments are read from kopf's index (a watch), not fetched per tick.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import kubernetes
from kubernetes.client import ApiClient, AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, V1Job

from codemode_operator.apis.names import TOOL_SURFACE_ANNOTATION
from codemode_operator.rollout import DeploymentState


def connect(connections: int) -> ApiClient:
    """In-cluster credentials when in a pod, else the kubeconfig (as kopf itself does).

    `connections`: kept-alive connections, one per worker thread. The client's default (5 per
    core) is below the workers, so connections beyond it were closed after each call and the
    next call paid a new TLS handshake.
    """
    try:
        kubernetes.config.load_incluster_config()
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config()
    configuration = kubernetes.client.Configuration.get_default_copy()
    configuration.connection_pool_maxsize = connections
    return ApiClient(configuration)


def template_revision(template: Mapping[str, Any]) -> str:
    """A stable hash of the pod template: it changes exactly when a new v2 is applied."""
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:12]


def deployment_state(body: Mapping[str, Any]) -> DeploymentState:
    spec, status, meta = body.get("spec", {}), body.get("status") or {}, body.get("metadata", {})
    template = spec.get("template", {})
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    return DeploymentState(
        desired_replicas=spec.get("replicas", 1),
        updated_replicas=status.get("updatedReplicas", 0),
        available_replicas=status.get("availableReplicas", 0),
        generation=meta.get("generation", 0),
        observed_generation=status.get("observedGeneration", 0),
        revision=template_revision(template),
        tool_surface=annotations.get(TOOL_SURFACE_ANNOTATION),
    )


class Kube:
    """The handful of writes the operator makes besides its own status."""

    def __init__(self, client: ApiClient) -> None:
        self.apps = AppsV1Api(client)
        self.batch = BatchV1Api(client)
        self.custom = CustomObjectsApi(client)
        self.core = CoreV1Api(client)

    async def secret_value(self, namespace: str, name: str, key: str) -> str | None:
        """One key of a Secret, decoded (None: no such key). Only `get` on that Secret."""
        secret = await asyncio.to_thread(self.core.read_namespaced_secret, name, namespace)
        value = (secret.data or {}).get(key)
        return base64.b64decode(value).decode() if value is not None else None

    async def scale(self, namespace: str, deployment: str, replicas: int) -> None:
        body = {"spec": {"replicas": replicas}}
        await asyncio.to_thread(
            self.apps.patch_namespaced_deployment_scale, deployment, namespace, body
        )

    async def create_job(self, namespace: str, job: dict[str, Any]) -> None:
        # The client validates a dict body into its model at the call anyway (pydantic's
        # validate_call); done here, the call is typed and sends the same JSON.
        model = V1Job.model_validate(job)
        try:
            await asyncio.to_thread(self.batch.create_namespaced_job, namespace, model)
        except kubernetes.client.ApiException as error:
            if error.status != 409:  # already created by an earlier tick: that is the goal
                raise

    async def jobs(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        answer = await asyncio.to_thread(
            self.batch.list_namespaced_job, namespace, label_selector=selector
        )
        return [self.apps.api_client.sanitize_for_serialization(j) for j in answer.items]
