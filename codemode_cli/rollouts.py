"""CodeModeRollouts through the kubernetes client: read them, and make the documented requests."""

from __future__ import annotations

from typing import Any, cast

from codemode_operator.apis.names import GROUP, PLURAL, REQUEST_ANNOTATION, VERSION
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException


class RolloutError(Exception):
    """A message for the person at the terminal; the plugin exits non-zero with it."""


def context_namespace(kubeconfig: str | None) -> str:
    try:
        _, active = config.list_kube_config_contexts(config_file=kubeconfig)
    except ConfigException:
        return "default"
    return (active or {}).get("context", {}).get("namespace") or "default"


class Rollouts:
    """The rollouts of one namespace (the flag, else the kubeconfig context's, else default)."""

    def __init__(self, kubeconfig: str | None, namespace: str | None) -> None:
        try:
            config.load_kube_config(config_file=kubeconfig)
            self.namespace = namespace or context_namespace(kubeconfig)
        except ConfigException:
            if kubeconfig:
                raise
            config.load_incluster_config()  # as a Job or a pod with a service account
            self.namespace = namespace or "default"
        self.api = client.CustomObjectsApi()

    def get(self, name: str) -> dict[str, Any]:
        try:
            found = self.api.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name
            )
            return cast(dict[str, Any], found)
        except ApiException as exc:
            if exc.status == 404:
                raise RolloutError(
                    f'cmr "{name}" not found in namespace "{self.namespace}"'
                ) from None
            raise

    def list(self, all_namespaces: bool = False) -> list[dict[str, Any]]:
        if all_namespaces:
            found = self.api.list_cluster_custom_object(GROUP, VERSION, PLURAL)
        else:
            found = self.api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL)
        return list(cast(dict[str, Any], found).get("items", []))

    def request(self, name: str, request: str) -> None:
        """`kubectl annotate cmr NAME codemode.io/request=REQUEST --overwrite`."""
        self._patch(name, {"metadata": {"annotations": {REQUEST_ANNOTATION: request}}})

    def set_paused(self, name: str, paused: bool) -> None:
        """`kubectl patch cmr NAME --type merge -p '{"spec":{"paused":...}}'`."""
        self._patch(name, {"spec": {"paused": paused}})

    def _patch(self, name: str, body: dict[str, Any]) -> None:
        # A dict body is sent as a JSON merge patch, as `kubectl patch --type merge` does.
        self.api.patch_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name, body)
