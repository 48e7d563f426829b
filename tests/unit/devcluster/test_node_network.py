"""The real node's network slots: a slot whose ranges another network routes is not free."""

from __future__ import annotations

import ipaddress

from devcluster import node_network


def test_a_slot_overlapping_a_routed_range_is_taken() -> None:
    routed = [ipaddress.ip_network("192.0.2.0/24"), ipaddress.ip_network("10.232.1.0/24")]
    assert not node_network._taken(0, routed)
    assert node_network._taken(1, routed)  # its pod range is someone else's
    assert node_network._taken(2, [ipaddress.ip_network("10.231.0.0/16")])  # a wide route


def test_slots_never_share_an_address() -> None:
    ranges = [node_network._slot_addresses(slot) for slot in range(node_network.SLOTS)]
    networks = [ipaddress.ip_network(f"{host}/30", strict=False) for host, _, _ in ranges]
    networks += [ipaddress.ip_network(pods) for _, _, pods in ranges]
    assert all(not a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])
