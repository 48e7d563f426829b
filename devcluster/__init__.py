"""A real local Kubernetes control plane and Prometheus on loopback, for the demo and the tests."""
