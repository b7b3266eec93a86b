"""Render monitoring.yaml, this component's one file, from deploy/observability: a PodMonitor per
service, the alert rules (alerts.yaml, as promtool tests them) as a PrometheusRule, and the Grafana
dashboard (dashboard.json) as a ConfigMap its sidecar loads.

Run `python deploy/k8s/components/monitoring/render.py` after changing either; a test checks the
committed file is current. Everything else under deploy/k8s is plain YAML, changed by overlays.
"""

from __future__ import annotations

from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
OBSERVABILITY = HERE.parents[2] / "observability"
SERVICES = ("purchase", "gifting", "payout")


def pod_monitor(service: str) -> dict:
    """Scrapes every pod of a service on its metrics port: web pods on `http`, background processes on
    `metrics` (a pod without that port gives no target). `app` and `component` target labels (from
    the pods' labels) tell the process kinds apart in `up`, for the CoinsProcess* alerts."""

    def relabel() -> list[dict]:  # one list per endpoint: no YAML anchors in the output
        return [
            {"sourceLabels": [f"__meta_kubernetes_pod_label_app_kubernetes_io_{label}"], "targetLabel": target}
            for label, target in (("name", "app"), ("component", "component"))
        ]

    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": f"coins-{service}", "labels": {"app.kubernetes.io/part-of": "coins"}},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": f"coins-{service}"}},
            "podMetricsEndpoints": [
                {"port": port, "path": "/metrics", "interval": "30s", "relabelings": relabel()}
                for port in ("http", "metrics")
            ],
        },
    }


def monitoring_manifests() -> list[dict]:
    """For a Prometheus Operator cluster: PodMonitors, the alert rules as a PrometheusRule (from
    deploy/observability/alerts.yaml), and the Grafana dashboard as a ConfigMap its sidecar loads."""
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yaml").read_text())
    part_of = {"app.kubernetes.io/part-of": "coins"}
    return [
        *(pod_monitor(service) for service in SERVICES),
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": "coins", "labels": part_of},
            "spec": {"groups": rules["groups"]},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "coins-dashboard", "labels": {**part_of, "grafana_dashboard": "1"}},
            "data": {"coins.json": (OBSERVABILITY / "dashboard.json").read_text()},
        },
    ]


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the dashboard, long PromQL) as literal blocks, readable in a diff."""


_Dumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None),
)


def render() -> str:
    header = "# Rendered by render.py beside it from deploy/observability; edit those, then run it again.\n"
    return header + yaml.dump_all(monitoring_manifests(), Dumper=_Dumper, sort_keys=False)


def main() -> None:
    (HERE / "monitoring.yaml").write_text(render())


if __name__ == "__main__":
    main()
