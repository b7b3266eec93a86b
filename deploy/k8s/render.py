"""Render the Kubernetes manifests (plain YAML, applied with kustomize) for the three services.

Run `python deploy/k8s/render.py` after changing it; the tests check the files are current.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
import shared  # noqa: E402
from shared import __version__ as VERSION  # noqa: E402 - the one version of images, Jobs and OpenAPI

# The alert rules and the dashboard, rendered into monitoring.yaml (found by the package, so a copy
# of this folder renders too).
OBSERVABILITY = Path(shared.__file__).resolve().parents[1] / "deploy" / "observability"

NAMESPACE = "coins"
IMAGE = "coins-{service}:" + VERSION
METRICS_PORT = 9100
PROCESSES = {
    "purchase": ["relay", "reconciler"],
    "gifting": ["relay", "consumer"],
    "payout": ["relay", "consumer", "worker"],
}
# COINS_ENV is production (its default) here, where a processor adapter must be named: `sandbox`
# (the HTTP protocol of sandboxes/, the only adapter built) at the processor's URL.
SETTINGS = {
    "purchase": {
        "PURCHASE_BLOCKED_COUNTRIES": "CU,IR,KP,SY,RU,BY",
        "PURCHASE_DAILY_CAP_COINS": "2500000",
        "PURCHASE_PROCESSOR": "sandbox",
        "PURCHASE_PROCESSOR_URL": "http://card-processor.coins.svc:8000",
    },
    "gifting": {"GIFTING_DIAMONDS_PER_COIN": "1"},
    "payout": {
        "PAYOUT_MIN_WITHDRAWAL_MINOR": "10000",
        "PAYOUT_DAILY_CAP_MINOR": "100000",
        "PAYOUT_HOLD_SECONDS": "0",
        "PAYOUT_FEE_BANK_BPS": "0",
        "PAYOUT_FEE_PAYPAL_BPS": "200",
        "PAYOUT_FEE_PAYPAL_FIXED_MINOR": "25",
        "PAYOUT_PROCESSOR": "sandbox",
        "PAYOUT_PROCESSOR_URL": "http://payout-processor.coins.svc:8000",
    },
}
# The callers each service's policy names. Each caller's public keys are a ConfigMap of their own,
# coins-keys-<caller> (one <kid>.pem entry per key; public keys are not secret, and only the caller
# holds its private key), mounted at /etc/coins/caller-keys/<caller> on the web pods. A ConfigMap
# volume follows updates, and the services reload keys, so rotation needs no restart.
CALLERS = {
    "purchase": ["gateway", "app", "processor", "ops"],
    "gifting": ["gateway", "live", "app", "ops"],
    "payout": ["gateway", "app", "ops"],
}
KEYS_DIR = "/etc/coins/caller-keys"
AUDIT_VAR_DIR = "/etc/coins/audit"
SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


def labels(service: str, component: str) -> dict:
    return {
        "app.kubernetes.io/name": f"coins-{service}",
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "coins",
    }


def kafka_principal(user: str, secret: str) -> list[dict]:
    """The broker principal a pod connects as (SCRAM; its password from a Secret)."""
    return [
        {"name": "KAFKA_SECURITY_PROTOCOL", "value": "SASL_SSL"},
        {"name": "KAFKA_SASL_MECHANISM", "value": "SCRAM-SHA-512"},
        {"name": "KAFKA_SASL_USERNAME", "value": user},
        {"name": "KAFKA_SASL_PASSWORD", "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}}},
    ]


def container(service: str, role: str, *, resources: dict, probes: bool = False, args: list | None = None) -> dict:
    spec = {
        "name": role,
        "image": IMAGE.format(service=service),
        "args": args or [role],
        "envFrom": [{"configMapRef": {"name": f"{service}-config"}}],
        "env": [
            {
                "name": f"{service.upper()}_DATABASE_URL",
                "valueFrom": {"secretKeyRef": {"name": f"{service}-database", "key": "url"}},
            },
            *kafka_principal(service, f"{service}-kafka"),
        ],
        "resources": resources,
        "securityContext": SECURITY,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if probes:
        spec["env"].append({"name": "COINS_AUTH_KEYS_DIR", "value": KEYS_DIR})
        spec["volumeMounts"] += [
            {"name": f"keys-{caller}", "mountPath": f"{KEYS_DIR}/{caller}", "readOnly": True}
            for caller in CALLERS[service]
        ]
        spec["ports"] = [{"name": "http", "containerPort": 8000}]
        spec["startupProbe"] = {
            "httpGet": {"path": "/health/live", "port": "http"},
            "periodSeconds": 2,
            "failureThreshold": 30,
        }
        spec["livenessProbe"] = {
            "httpGet": {"path": "/health/live", "port": "http"},
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        }
        spec["readinessProbe"] = {
            "httpGet": {"path": "/health/ready", "port": "http"},
            "periodSeconds": 5,
            "timeoutSeconds": 3,
            "failureThreshold": 2,
        }
    if role in BACKGROUND:
        # Live while its loop turns (a broker or database outage does not restart it); ready while
        # it can work (rollouts wait for it; it has no Service). Metrics on the same port.
        spec["ports"] = [{"name": "metrics", "containerPort": METRICS_PORT}]
        spec["livenessProbe"] = {
            "httpGet": {"path": "/health/live", "port": "metrics"},
            "periodSeconds": 15,
            "timeoutSeconds": 3,
            "failureThreshold": 4,
        }
        spec["readinessProbe"] = {
            "httpGet": {"path": "/health/ready", "port": "metrics"},
            "periodSeconds": 10,
            "timeoutSeconds": 3,
            "failureThreshold": 3,
        }
    return spec


BACKGROUND = ("relay", "consumer", "worker", "reconciler")


def pod(
    service: str, role: str, containers: list[dict], restart: str = "Always", init: list[dict] | None = None
) -> dict:
    scraped = role == "web" or role in BACKGROUND
    volumes = [{"name": "tmp", "emptyDir": {}}]
    if role == "web":
        volumes += [
            {"name": f"keys-{caller}", "configMap": {"name": f"coins-keys-{caller}", "optional": True}}
            for caller in CALLERS[service]
        ]
    spec = {
        "containers": containers,
        "restartPolicy": restart,
        "terminationGracePeriodSeconds": 30,
        "securityContext": {"runAsNonRoot": True, "fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": volumes,
    }
    if init:
        spec["initContainers"] = init
    return {
        "metadata": {
            "labels": labels(service, role),
            "annotations": {
                "prometheus.io/scrape": str(scraped).lower(),
                "prometheus.io/port": "8000" if role == "web" else str(METRICS_PORT),
            },
        },
        "spec": spec,
    }


def deployment(
    service: str, role: str, replicas: int, resources: dict, probes: bool = False, strategy: dict | None = None
) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"{service}-{role}", "labels": labels(service, role)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels(service, role)},
            "strategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": pod(
                service,
                role,
                [container(service, role, resources=resources, probes=probes)],
                init=[wait_for_schema(service)],
            ),
        },
    }


def wait_for_schema(service: str) -> dict:
    """An init container: no pod of a release starts before its migration Job brought the schema
    to this release's revision (it waits, then fails and is retried by the kubelet)."""
    small = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
    return container(service, "wait-migrated", resources=small)


def service_manifests(service: str) -> list[dict]:
    small = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
    web = {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
    docs = [
        # Database connections: up to 10 web pods (the HPA) x 2 workers x (8 + 4), plus the
        # background processes, must stay under the server's max_connections (default 100: raise it,
        # or put PgBouncer in front).
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{service}-config"},
            "data": {
                "KAFKA_BOOTSTRAP_SERVERS": "kafka.coins.svc:9092",
                "LOG_LEVEL": "INFO",
                "PORT": "8000",
                "METRICS_PORT": str(METRICS_PORT),
                "GUNICORN_WORKERS": "2",
                "GUNICORN_THREADS": "8",
                "DATABASE_POOL_SIZE": "8",
                "DATABASE_MAX_OVERFLOW": "4",
                "KAFKA_SESSION_TIMEOUT_MS": "10000",
                "RETENTION_OUTBOX_HOURS": "168",
                "RETENTION_INBOX_HOURS": "2160",
                "RETENTION_IDEMPOTENCY_HOURS": "72",
                **SETTINGS[service],
            },
        },
        # One Job per release (its name carries the version): applying a release runs its migrations
        # once; the Deployments' init containers wait for them.
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": f"{service}-migrate-{VERSION.replace('.', '-')}",
                "labels": labels(service, "migrate"),
            },
            "spec": {
                "backoffLimit": 3,
                "ttlSecondsAfterFinished": 3600,
                "template": pod(
                    service, "migrate", [container(service, "migrate", resources=small)], restart="OnFailure"
                ),
            },
        },
        deployment(service, "web", 2, web, probes=True),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": service, "labels": labels(service, "web")},
            "spec": {"selector": labels(service, "web"), "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": f"{service}-web"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{service}-web"},
                "minReplicas": 2,
                "maxReplicas": 10,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                    }
                ],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": f"{service}-web"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels(service, "web")}},
        },
        cronjob(service, "prune", "17 3 * * *", ["coinsctl", "prune", service]),
    ]
    for role in PROCESSES[service]:
        # One relay per service keeps each key's events in order; consumers scale up to the partitions.
        replicas = 2 if role == "consumer" else 1
        strategy = {"type": "Recreate"} if role == "relay" else None
        docs.append(deployment(service, role, replicas, small, strategy=strategy))
        if role == "consumer":
            docs.append(
                {
                    "apiVersion": "policy/v1",
                    "kind": "PodDisruptionBudget",
                    "metadata": {"name": f"{service}-consumer"},
                    "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels(service, "consumer")}},
                }
            )
    return docs


def cronjob(service: str, name: str, schedule: str, args: list[str], env_from: str | None = None) -> dict:
    small = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
    job = container(service, name, resources=small, args=args)
    if env_from:
        job["envFrom"].append({"configMapRef": {"name": env_from}})
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": f"{service}-{name}", "labels": labels(service, name)},
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 2, "template": pod(service, name, [job], restart="OnFailure")}},
        },
    }


def common_manifests() -> list[dict]:
    small = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
    topics = container("gifting", "topics", resources=small)
    topics["envFrom"] = [{"configMapRef": {"name": "coins-topics"}}]
    topics["env"] = kafka_principal("admin", "kafka-admin")  # creates the topics and grants the ACLs
    # The conservation audit, hourly, over the services' HTTP APIs; its outcome goes to the
    # Pushgateway for the CoinsAuditFailed / CoinsAuditNotPassing alerts.
    audit = cronjob(
        "gifting",
        "audit",
        "5 * * * *",
        [
            "coinsctl",
            "audit",
            "--purchase-url",
            "http://purchase.coins.svc",
            "--gifting-url",
            "http://gifting.coins.svc",
            "--payout-url",
            "http://payout.coins.svc",
            # The processors' settlement reports, read through the same adapters the services use.
            "--card-processor-url",
            SETTINGS["purchase"]["PURCHASE_PROCESSOR_URL"],
            "--payout-processor-url",
            SETTINGS["payout"]["PAYOUT_PROCESSOR_URL"],
        ],
        env_from="coins-audit",
    )
    audit["metadata"]["name"] = "coins-audit"
    # It signs its tokens as the `ops` caller: the private key, from a Secret, where coinsctl looks
    # for it (COINS_VAR_DIR/keys/private/ops/<kid>.pem).
    audit_pod = audit["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    audit_pod["volumes"].append({"name": "ops-key", "secret": {"secretName": "coins-audit-key", "defaultMode": 0o400}})
    audit_pod["containers"][0]["volumeMounts"].append(
        {"name": "ops-key", "mountPath": f"{AUDIT_VAR_DIR}/keys/private/ops", "readOnly": True}
    )
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "coins-topics"},
            "data": {
                "KAFKA_BOOTSTRAP_SERVERS": "kafka.coins.svc:9092",
                "KAFKA_PARTITIONS": "12",
                "KAFKA_REPLICATION": "3",
                "KAFKA_APPLY_ACLS": "true",
            },
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "coins-topics", "labels": labels("topics", "topics")},
            "spec": {
                "backoffLimit": 6,
                "ttlSecondsAfterFinished": 3600,
                "template": pod("topics", "topics", [topics], restart="OnFailure"),
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "coins-audit"},
            "data": {"COINS_AUDIT_PUSHGATEWAY": "pushgateway.monitoring.svc:9091", "COINS_VAR_DIR": AUDIT_VAR_DIR},
        },
        audit,
    ]


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
        *(pod_monitor(service) for service in PROCESSES),
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


def main() -> None:
    files = {
        "common.yaml": common_manifests(),
        **{f"{s}.yaml": service_manifests(s) for s in PROCESSES},
        "monitoring.yaml": monitoring_manifests(),
    }
    for name, docs in files.items():
        header = "# Rendered by deploy/k8s/render.py; edit that, then run it again.\n"
        (HERE / name).write_text(header + yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False))
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": NAMESPACE,
        "resources": list(files),
        "images": [{"name": IMAGE.format(service=s).split(":")[0], "newTag": VERSION} for s in PROCESSES],
    }
    (HERE / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))


if __name__ == "__main__":
    main()
