"""Pure checks of the rendered charts: lint, schema, RBAC verbs, security, flags, alerts, config."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from codemode_operator.adapters.routers.gateway_api import (
    route_pins,
    route_weight,
    with_pins,
    with_weight,
)
from codemode_operator.settings import Settings as OperatorSettings

from mcp_server.__main__ import parse_overrides
from mcp_server.settings import Settings as McpSettings
from sandbox_runner.__main__ import parse_settings
from tests.charts import (
    CHARTS,
    MCP_CHART,
    OPERATOR_CHART,
    REPO,
    example_values,
    helm,
    objects,
    of_kind,
    template,
)

VALUES = [(c, None) for c in CHARTS] + [(c, v) for c in CHARTS for v in example_values(c)]

# The operator's RBAC, derived from its code (see charts/codemode-operator/templates/_helpers.tpl).
NAMESPACED_RULES = {
    ("codemode.io", "codemoderollouts"): {"list", "watch", "patch"},
    ("codemode.io", "codemoderollouts/status"): {"patch"},
    ("apps", "deployments"): {"list", "watch"},
    ("apps", "deployments/scale"): {"patch"},
    ("gateway.networking.k8s.io", "httproutes"): {"list", "watch", "get", "update", "patch"},
    ("batch", "jobs"): {"create", "list"},
    ("", "events"): {"create"},
    ("", "secrets"): {"get"},  # only those named by notifications.secretNames
}
ROLE_RULES = NAMESPACED_RULES
CLUSTER_ROLE_RULES = {
    **NAMESPACED_RULES,
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
}
# The leader election (adapters/lease.py): read and renew its one Lease, create it once.
LEASE_RULES = {("coordination.k8s.io", "leases"): {"get", "update", "create"}}


def _values_args(values: Path | None) -> list[str]:
    return ["--values", str(values)] if values else []


@pytest.mark.parametrize(("chart", "values"), VALUES, ids=lambda v: v.name if v else "default")
def test_helm_lint_passes(chart: Path, values: Path | None) -> None:
    helm("lint", "--strict", str(chart), *_values_args(values))


@pytest.mark.parametrize(
    ("chart", "setting", "message"),
    [
        (OPERATOR_CHART, "tick=fast", "at '/tick': got string, want number"),
        (MCP_CHART, "v2.replicas=three", "at '/v2/replicas': got string, want integer"),
    ],
)
def test_schema_rejects_a_wrong_type_clearly(chart: Path, setting: str, message: str) -> None:
    for command in (["lint"], ["template", "x"]):
        out = helm(*command, str(chart), "--set", setting, check=False)
        assert out.returncode != 0
        assert message in out.stdout + out.stderr


def _rules(manifest: str, kind: str) -> list[dict[str, dict[tuple[str, str], set[str]]]]:
    found = []
    for role in of_kind(manifest, kind):
        rules: dict[tuple[str, str], set[str]] = {}
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    rules.setdefault((group, resource), set()).update(rule["verbs"])
        found.append(rules)
    return found


def test_secrets_are_readable_only_by_name_and_only_when_named() -> None:
    manifest = template(OPERATOR_CHART, "op", "ops", "--set", "notifications.secretNames={a,b}")
    (role,) = of_kind(manifest, "ClusterRole")
    (secrets,) = [r for r in role["rules"] if r["resources"] == ["secrets"]]
    assert secrets == {
        "apiGroups": [""],
        "resources": ["secrets"],
        "resourceNames": ["a", "b"],
        "verbs": ["get"],
    }
    none = template(OPERATOR_CHART, "op", "ops", "--set", "notifications.secretNames=null")
    assert "secrets" not in str(of_kind(none, "ClusterRole"))


def test_cluster_role_has_exactly_the_verbs_the_operator_uses() -> None:
    manifest = template(OPERATOR_CHART, "op", "ops")
    assert _rules(manifest, "ClusterRole") == [CLUSTER_ROLE_RULES]
    assert _rules(manifest, "Role") == [LEASE_RULES]  # the leader election's, in "ops"
    assert [r["metadata"]["namespace"] for r in of_kind(manifest, "Role")] == ["ops"]


def test_watch_namespaces_gives_a_role_per_namespace_and_no_cluster_role() -> None:
    manifest = template(OPERATOR_CHART, "op", "ops", "--set", "watchNamespaces={a,b}")
    assert _rules(manifest, "Role") == [ROLE_RULES, ROLE_RULES, LEASE_RULES]
    bindings = [r["metadata"]["namespace"] for r in of_kind(manifest, "RoleBinding")]
    assert bindings == ["a", "b", "ops"]
    assert not list(of_kind(manifest, "ClusterRole"))


def test_two_replicas_elect_one_through_a_lease_of_their_own() -> None:
    manifest = template(OPERATOR_CHART, "op", "ops")
    (deployment,) = of_kind(manifest, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}
    container = _container(_pods(manifest), "operator")
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]}
    assert env == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}
    settings = OperatorSettings.from_args(container["args"])
    assert settings.lease == "codemode-operator"
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (8, 5, 1.5)
    (role,) = of_kind(manifest, "Role")
    by_name = [r for r in role["rules"] if r.get("resourceNames")]
    assert by_name == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["codemode-operator"],
            "verbs": ["get", "update"],
        }
    ]
    (budget,) = of_kind(manifest, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    single = template(OPERATOR_CHART, "op", "ops", "--set", "replicas=1")
    assert not list(of_kind(single, "PodDisruptionBudget"))


def _pods(manifest: str) -> list[dict[str, Any]]:
    return [d["spec"]["template"]["spec"] for d in of_kind(manifest, "Deployment")]


@pytest.mark.parametrize(("chart", "values"), VALUES, ids=lambda v: v.name if v else "default")
def test_every_container_is_locked_down(chart: Path, values: Path | None) -> None:
    pods = _pods(template(chart, "r", "ns", *_values_args(values)))
    assert pods
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            assert security["capabilities"] == {"drop": ["ALL"]}
            assert "livenessProbe" in container


def _container(pods: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(c for pod in pods for c in pod["containers"] if c["name"] == name)


def test_operator_flags_are_the_operators() -> None:
    values = example_values(OPERATOR_CHART)[0]
    pods = _pods(template(OPERATOR_CHART, "op", "ops", "--values", str(values)))
    container = _container(pods, "operator")
    assert container["command"] == ["codemode-operator"]
    settings = OperatorSettings.from_args(container["args"])
    assert settings.namespaces == ("mcp", "mcp-staging")
    assert settings.lease == "codemode-operator-team-a" and settings.tick == 2
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (15, 10, 2)
    assert settings.liveness == "http://0.0.0.0:8081/healthz" and settings.metrics_port == 9090
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "liveness"}


def test_mcp_flags_config_and_spec_load(tmp_path: Path) -> None:
    manifest = template(MCP_CHART, "codemode-mcp", "mcp")
    for name, text in next(of_kind(manifest, "ConfigMap"))["data"].items():
        (tmp_path / name).write_text(text)
    pods = _pods(manifest)
    names = [c["name"] for pod in pods for c in pod["containers"]]
    assert names == ["mcp", "mcp", "sandbox", "redis"]  # redis: the v2 replicas' job store
    pods = pods[:2]
    for pod, mode in zip(pods, ("v1", "v2"), strict=True):
        mcp = pod["containers"][0]
        overrides = parse_overrides(mcp["args"])
        assert overrides["mode"] == mode and overrides["config_dir"] == "/etc/createos"
        settings = McpSettings.load({**overrides, "config_dir": str(tmp_path)})
        assert (
            settings.spec_path.read_bytes() == (MCP_CHART / "files" / "openapi.json").read_bytes()
        )
        assert "codemode-mcp-v2.mcp.svc:*" in settings.allowed_hosts
        assert {"mountPath": "/etc/createos", "name": "config", "readOnly": True} in mcp[
            "volumeMounts"
        ]
    sandbox = parse_settings(_container(pods, "sandbox")["args"])
    assert (sandbox.host, sandbox.port) == ("127.0.0.1", 8090)
    assert sandbox.proxy_url == "http://127.0.0.1:8091"
    assert parse_overrides(pods[1]["containers"][0]["args"])["proxy_port"] == 8091
    assert parse_overrides(pods[1]["containers"][0]["args"])["sandbox_url"] == (
        "http://127.0.0.1:8090"
    )


def test_http_route_starts_at_100_percent_v1() -> None:
    route = next(of_kind(template(MCP_CHART, "codemode-mcp", "mcp"), "HTTPRoute"))
    weights = {r["name"]: r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]}
    assert weights == {"codemode-mcp-v1": 100, "codemode-mcp-v2": 0}


def test_http_route_exposes_only_mcp_and_the_router_keeps_it_so() -> None:
    """Health, metrics and the api-proxy stay inside the cluster; the operator's weighted and pin
    rules, derived from the chart's rule, match /mcp and nothing else."""
    route = next(of_kind(template(MCP_CHART, "codemode-mcp", "mcp"), "HTTPRoute"))
    only_mcp = [{"path": {"type": "PathPrefix", "value": "/mcp"}}]
    assert [rule["matches"] for rule in route["spec"]["rules"]] == [only_mcp]
    stable, canary = "codemode-mcp-v1", "codemode-mcp-v2"
    managed = with_pins(with_weight(route, stable, canary, 25), stable, canary, ("v1", "v2"))
    rules = managed["spec"]["rules"]
    assert [rule.get("name") for rule in rules] == ["codemode-pin-v1", "codemode-pin-v2", None]
    assert {match["path"]["value"] for rule in rules for match in rule["matches"]} == {"/mcp"}
    assert route_weight(managed, stable, canary) == 25
    assert route_pins(managed, stable, canary) == ("v1", "v2")


def test_alerts_are_valid_prometheus_rules(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with the prometheus Debian package (make system-packages)"
    values = example_values(OPERATOR_CHART)[0]
    rule = next(
        of_kind(template(OPERATOR_CHART, "op", "ops", "--values", str(values)), "PrometheusRule")
    )
    alerts = [r["alert"] for group in rule["spec"]["groups"] for r in group["rules"]]
    assert alerts == [
        "CodeModeRolloutRolledBack",
        "CodeModeRolloutStuck",
        "CodeModeRolloutHeldOnMetrics",
        "CodeModeOperatorReconcileErrors",
        "CodeModeOperatorNoLeader",
    ]
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(rule["spec"]))
    out = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerfile_lints_clean() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    dockerfile = REPO / "images" / "Dockerfile"
    config = REPO / "images" / ".hadolint.yaml"
    out = subprocess.run(
        [str(hadolint), "--config", str(config), str(dockerfile)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_rendered_object_is_namespaced_to_the_release_or_cluster_scoped() -> None:
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding"}
    for chart in CHARTS:
        for obj in objects(template(chart, "r", "ns")):
            namespace = obj["metadata"].get("namespace")
            assert (obj["kind"] in cluster_scoped) == (namespace is None), obj["kind"]


def test_each_version_signs_with_its_own_kept_key_and_v2_shares_a_job_store() -> None:
    manifest = template(MCP_CHART, "codemode-mcp", "mcp")
    secret = next(of_kind(manifest, "Secret"))
    assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert set(secret["data"]) == {"v1", "v2"} and secret["data"]["v1"] != secret["data"]["v2"]
    deployments = {d["metadata"]["name"]: d for d in of_kind(manifest, "Deployment")}
    for version, surface in (("v1", "classic"), ("v2", "code-mode")):
        template_ = deployments[f"codemode-mcp-{version}"]["spec"]["template"]
        assert template_["metadata"]["annotations"]["codemode.io/tool-surface"] == surface
        env = {e["name"]: e for e in template_["spec"]["containers"][0]["env"]}
        key = env["CODEMODE_SESSION_KEY"]["valueFrom"]["secretKeyRef"]
        assert key == {"name": secret["metadata"]["name"], "key": version}
        store = env.get("CODEMODE_JOB_STORE_URL", {}).get("value")
        assert store == ("redis://codemode-mcp-jobstore:6379/0" if version == "v2" else None)
    assert "codemode-mcp-jobstore" in deployments
    own = template(MCP_CHART, "codemode-mcp", "mcp", "--set", "jobStore.url=redis://r:6379/1")
    assert "codemode-mcp-jobstore" not in {
        d["metadata"]["name"] for d in of_kind(own, "Deployment")
    }


def _mcp_deployments(manifest: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The two MCP versions' Deployments (not the job store's)."""
    names = {"codemode-mcp-v1", "codemode-mcp-v2"}
    return [d for d in of_kind(manifest, "Deployment") if d["metadata"]["name"] in names]


def test_mcp_pods_ask_to_be_scraped_and_a_pod_monitor_is_optional() -> None:
    manifest = template(MCP_CHART, "codemode-mcp", "mcp")
    assert len(_mcp_deployments(manifest)) == 2
    for deployment in _mcp_deployments(manifest):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert (annotations["prometheus.io/port"], annotations["prometheus.io/path"]) == (
            "8080",
            "/metrics",
        )
    assert not list(of_kind(manifest, "PodMonitor"))
    enabled = template(
        MCP_CHART,
        "codemode-mcp",
        "mcp",
        "--set",
        "metrics.podMonitor.enabled=true,metrics.podMonitor.labels.release=prometheus",
    )
    monitor = next(of_kind(enabled, "PodMonitor"))
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["podMetricsEndpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "15s"}
    ]
    off = template(MCP_CHART, "codemode-mcp", "mcp", "--set", "metrics.scrapeAnnotations=false")
    for deployment in _mcp_deployments(off):
        assert (
            "prometheus.io/scrape" not in deployment["spec"]["template"]["metadata"]["annotations"]
        )


def test_a_version_takes_settings_of_its_own_from_its_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "http://platform-api-v2.platform.svc:8080"
    manifest = template(
        MCP_CHART,
        "codemode-mcp",
        "mcp",
        "--set-json",
        f'v2.env=[{{"name": "CODEMODE_BACKEND_URL", "value": "{url}"}}]',
    )
    deployments = {d["metadata"]["name"]: d for d in _mcp_deployments(manifest)}
    env = {
        version: {
            e["name"]: e.get("value")
            for e in deployments[f"codemode-mcp-{version}"]["spec"]["template"]["spec"][
                "containers"
            ][0]["env"]
        }
        for version in ("v1", "v2")
    }
    assert env["v2"]["CODEMODE_BACKEND_URL"] == url and "CODEMODE_SESSION_KEY" in env["v2"]
    assert "CODEMODE_BACKEND_URL" not in env["v1"]
    # The server reads it as its --backend-url (CODEMODE_<FLAG>), over config.yaml.
    monkeypatch.setenv("CODEMODE_BACKEND_URL", url)
    assert parse_overrides([])["backend_url"] == url
    wrong = helm(
        "template", "r", str(MCP_CHART), "--set-json", 'v1.env=[{"value": "x"}]', check=False
    )
    assert wrong.returncode != 0 and "name" in wrong.stderr
