"""The local Gateway's objects and how Traefik's names are read back (no servers)."""

from __future__ import annotations

from devcluster import gateway


def test_traefik_service_names_map_back_to_the_backend_service() -> None:
    name = "httproute-t-1-mcp-gw-t-1-gateway-ep-web-0-1a2b3c-svc-t-1-mcp-v2-1@kubernetesgateway"
    assert gateway._backend(name, "t-1") == "mcp-v2"
    assert gateway._backend(name, "other") is None
    assert (
        gateway._backend(
            "httproute-t-1-mcp-gw-t-1-gateway-ep-web-0-1a2b3c-wrr@kubernetesgateway", "t-1"
        )
        is None
    )


def test_traefik_gets_its_own_identity_class_and_a_listener_on_its_port() -> None:
    account, role, binding, gateway_class, gw = gateway._objects("gw", "ns", 41234, "Same")
    assert account["kind"] == "ServiceAccount"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "gw", "namespace": "ns"}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert verbs == {"get", "list", "watch", "update"}  # reads, and status updates only
    assert all("*" not in rule["resources"] for rule in role["rules"])
    assert gateway_class["spec"]["controllerName"] == "traefik.io/gateway-controller"
    assert gateway_class["metadata"]["labels"] == {
        gateway.CLASS_LABEL: gateway_class["metadata"]["name"]
    }
    assert gw["spec"]["gatewayClassName"] == gateway_class["metadata"]["name"]
    assert gw["spec"]["listeners"][0]["port"] == 41234


def test_conditions_of_an_older_generation_do_not_count() -> None:
    obj = {
        "metadata": {"generation": 2},
        "status": {
            "conditions": [
                {"type": "Accepted", "status": "True", "observedGeneration": 2},
                {"type": "Programmed", "status": "True", "observedGeneration": 1},
            ]
        },
    }
    assert gateway._conditions(obj) == {"Accepted": "True"}


def test_a_long_namespace_still_gives_a_valid_class_label() -> None:
    assert gateway._class_name("demo", "mcp-gateway") == "codemode-gateway-demo-mcp-gateway"
    long = gateway._class_name("n" * 60, "gateway")
    assert len(long) <= 63 and long != gateway._class_name("n" * 61, "gateway")
