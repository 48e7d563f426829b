"""The only code that talks to the world: the API server, Prometheus, the traffic routers."""
