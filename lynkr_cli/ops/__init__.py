"""Operating ``lynkr serve``: Prometheus metrics, health and readiness, live config reload, JSON logs."""
