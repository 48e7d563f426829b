"""The EndpointSlice and Service a pod network publishes (no servers)."""

from __future__ import annotations

from pathlib import Path

from devcluster import pod_network
from devcluster.pod_network import Pod


def test_endpoint_slice_lists_the_pods_with_their_readiness() -> None:
    pods = [
        Pod("v2-0", "10.213.0.2", "ns0", Path()),
        Pod("v2-1", "10.213.0.3", "ns1", Path(), ready=False),
    ]
    body = pod_network.endpoint_slice("mcp-v2", pods, 8000)
    assert body["metadata"]["labels"]["kubernetes.io/service-name"] == "mcp-v2"
    assert body["endpoints"] == [
        {"addresses": ["10.213.0.2"], "conditions": {"ready": True}, "hostname": "v2-0"},
        {"addresses": ["10.213.0.3"], "conditions": {"ready": False}, "hostname": "v2-1"},
    ]


def test_the_service_port_and_the_slice_port_share_a_name() -> None:
    # Traefik (as kube-proxy) pairs a Service port with the EndpointSlice port of the same name.
    service = pod_network.service("mcp-v2", target_port=8000)
    body = pod_network.endpoint_slice("mcp-v2", [], 8000)
    assert "selector" not in service["spec"]
    assert service["spec"]["ports"][0]["name"] == body["ports"][0]["name"]
    assert body["ports"][0]["port"] == service["spec"]["ports"][0]["targetPort"] == 8000
