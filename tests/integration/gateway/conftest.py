"""The rig fixture: pods `mcp-v1` and `mcp-v2` (whoami) behind their Services, on the local Gateway."""

from __future__ import annotations

import pytest

from devcluster.cluster import ControlPlane
from devcluster.gateway import Gateway
from devcluster.pod_network import PodNetwork
from devcluster.split_rig import Rig, start_rig


@pytest.fixture
def rig(
    control_plane: ControlPlane, namespace: str, local_gateway: Gateway, pods: PodNetwork
) -> Rig:
    return start_rig(control_plane, namespace, local_gateway, pods, ["mcp-v1", "mcp-v2"])
