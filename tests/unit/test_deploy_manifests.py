"""The deploy files users apply: the Kubernetes overlays build (kustomize) and every object
passes a schema check, the monitoring component is current, overlays change what ops set, and
the compose file parses."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from kubernetes_validate import utils

from shared import __version__ as VERSION
from tests.support.deploy import DEPLOY, K8S, OVERLAYS, all_objects, build, compose_config, k8s_objects, with_cdc

K8S_VERSION = "1.31"


@pytest.mark.parametrize(
    "source,obj", all_objects(), ids=lambda v: v if isinstance(v, str) else f"{v['kind']}/{v['metadata']['name']}"
)
def test_every_kubernetes_object_passes_the_schema(source, obj):
    if obj["apiVersion"] == "monitoring.coreos.com/v1":
        jsonschema.validate(obj, MONITORING_SCHEMAS[obj["kind"]])
    else:
        utils.validate(obj, K8S_VERSION, strict=True)


# The Prometheus Operator's CRDs (monitoring.coreos.com/v1) are not in kubernetes_validate: their
# schemas here, cut down to the fields rendered, with their types, patterns and required fields,
# and no unknown field (a typo fails, as strict=True does for the core kinds).
_DURATION = {
    "type": "string",
    "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
}
_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}


def _closed(properties: dict, required: tuple[str, ...] = ()) -> dict:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


_METADATA = _closed(
    {"name": {"type": "string", "minLength": 1}, "namespace": {"type": "string"}, "labels": _STRINGS}, ("name",)
)
_RELABEL = _closed(
    {
        "sourceLabels": {"type": "array", "items": {"type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"}},
        "targetLabel": {"type": "string"},
        "action": {"enum": ["replace", "keep", "drop", "labelmap", "labeldrop", "labelkeep", "hashmod"]},
    }
)
MONITORING_SCHEMAS = {
    "PodMonitor": _closed(
        {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "PodMonitor"},
            "metadata": _METADATA,
            "spec": _closed(
                {
                    "selector": _closed({"matchLabels": _STRINGS}, ("matchLabels",)),
                    "podMetricsEndpoints": {
                        "type": "array",
                        "minItems": 1,
                        "items": _closed(
                            {
                                "port": {"type": "string"},
                                "path": {"type": "string"},
                                "interval": _DURATION,
                                "relabelings": {"type": "array", "items": _RELABEL},
                            },
                            ("port",),
                        ),
                    },
                },
                ("selector", "podMetricsEndpoints"),
            ),
        },
        ("apiVersion", "kind", "metadata", "spec"),
    ),
    "PrometheusRule": _closed(
        {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "PrometheusRule"},
            "metadata": _METADATA,
            "spec": _closed(
                {
                    "groups": {
                        "type": "array",
                        "items": _closed(
                            {
                                "name": {"type": "string", "minLength": 1},
                                "interval": _DURATION,
                                "rules": {
                                    "type": "array",
                                    "items": _closed(
                                        {
                                            "alert": {"type": "string"},
                                            "record": {"type": "string"},
                                            "expr": {"type": ["string", "integer"]},
                                            "for": _DURATION,
                                            "labels": _STRINGS,
                                            "annotations": _STRINGS,
                                        },
                                        ("expr",),
                                    ),
                                },
                            },
                            ("name", "rules"),
                        ),
                    }
                },
                ("groups",),
            ),
        },
        ("apiVersion", "kind", "metadata", "spec"),
    ),
}


def by_kind(kind: str) -> list[dict]:
    return [obj for _, obj in k8s_objects() if obj["kind"] == kind]


def test_the_prometheus_rule_carries_the_alert_rules_as_they_are_tested():
    [rule] = by_kind("PrometheusRule")
    alerts = yaml.safe_load((DEPLOY / "observability" / "alerts.yaml").read_text())
    assert rule["spec"]["groups"] == alerts["groups"]


def test_the_dashboard_configmap_is_the_dashboard_for_grafanas_sidecar():
    [board] = [c for c in by_kind("ConfigMap") if c["metadata"]["name"] == "coins-dashboard"]
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    [text] = board["data"].values()
    assert json.loads(text) == json.loads((DEPLOY / "observability" / "dashboard.json").read_text())


def test_the_pod_monitors_scrape_every_process_and_the_process_alerts_name_each():
    """Each Deployment's pods are selected by a PodMonitor whose endpoint names a port they have,
    on the path that serves metrics; CoinsProcessMissing expects exactly those process kinds, by
    the `app` and `component` target labels the PodMonitors set."""
    monitors = by_kind("PodMonitor")
    scraped = set()
    for deployment in by_kind("Deployment"):
        template = deployment["spec"]["template"]
        pod_labels = template["metadata"]["labels"]
        ports = {p["name"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
        [monitor] = [m for m in monitors if m["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()]
        [endpoint] = [e for e in monitor["spec"]["podMetricsEndpoints"] if e["port"] in ports]
        assert endpoint["path"] == "/metrics"
        targets = {r["targetLabel"]: r["sourceLabels"] for r in endpoint["relabelings"]}
        label = {
            key: pod_labels[f"app.kubernetes.io/{targets[key][0].rsplit('app_kubernetes_io_', 1)[1]}"]
            for key in ("app", "component")
        }
        scraped.add((label["app"], label["component"]))
    for monitor in monitors:  # every endpoint scrapes some pod
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            assert any(
                endpoint["port"]
                in {p["name"] for c in d["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}
                and monitor["spec"]["selector"]["matchLabels"].items()
                <= d["spec"]["template"]["metadata"]["labels"].items()
                for d in by_kind("Deployment")
            ), (monitor["metadata"]["name"], endpoint["port"])
    [rule] = by_kind("PrometheusRule")
    [missing] = [r for g in rule["spec"]["groups"] for r in g["rules"] if r.get("alert") == "CoinsProcessMissing"]
    expected = set(re.findall(r'absent\(up\{app="([^"]+)",component="([^"]+)"\}\)', missing["expr"]))
    assert expected == scraped and len(scraped) == 10


def test_each_service_has_what_ops_deploy():
    kinds = {(obj["kind"], obj["metadata"]["name"]) for _, obj in k8s_objects()}
    for service in ("purchase", "gifting", "payout"):
        for expected in [
            ("Deployment", f"{service}-web"),
            ("Deployment", f"{service}-relay"),
            ("HorizontalPodAutoscaler", f"{service}-web"),
            ("PodDisruptionBudget", f"{service}-web"),
            ("Service", service),
            ("ConfigMap", f"{service}-config"),
            ("Job", f"{service}-migrate-{VERSION.replace('.', '-')}"),
            ("CronJob", f"{service}-prune"),
        ]:
            assert expected in kinds, expected
    assert {
        ("Deployment", "gifting-consumer"),
        ("Deployment", "payout-consumer"),
        ("Deployment", "payout-worker"),
        ("Job", f"coins-topics-{VERSION.replace('.', '-')}"),
        ("CronJob", "coins-audit"),
    } <= kinds
    for _, obj in k8s_objects():
        if obj["kind"] == "Deployment" and obj["metadata"]["name"].endswith("-web"):
            [web] = obj["spec"]["template"]["spec"]["containers"]
            assert web["readinessProbe"]["httpGet"]["path"] == "/health/ready"
            assert web["livenessProbe"]["httpGet"]["path"] == "/health/live"
            assert web["resources"]["limits"] and web["securityContext"]["runAsNonRoot"]


def test_the_monitoring_component_is_rendered_from_the_alerts_and_dashboard_as_committed():
    import importlib.util

    path = K8S / "components" / "monitoring" / "render.py"
    spec = importlib.util.spec_from_file_location("monitoring_render", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (K8S / "components" / "monitoring" / "monitoring.yaml").read_text()
    assert module.render() == committed, "run python deploy/k8s/components/monitoring/render.py"


def test_the_host_network_override_puts_every_service_on_the_host_and_on_loopback():
    result = compose_config("compose.yaml", "compose.host.yaml")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    for name, service in services.items():
        assert service.get("network_mode") == "host", name
        assert not service.get("ports"), name
        env = service.get("environment", {})
        for key in ("KAFKA_BOOTSTRAP_SERVERS", "PURCHASE_DATABASE_URL", "PAYOUT_PROCESSOR_URL"):
            assert key not in env or "127.0.0.1" in env[key], (name, key)
    metrics = [s["environment"]["METRICS_PORT"] for n, s in services.items() if n.endswith(BACKGROUND_ROLES)]
    assert len(metrics) == len(set(metrics)) == 7, "each background process needs its own metrics port"


BACKGROUND_ROLES = ("-relay", "-consumer", "-worker", "-reconciler")


def test_the_compose_file_parses():
    result = compose_config("compose.yaml")
    config = yaml.safe_load(result.stdout)
    # Relays and consumers connect as their service's principal; only the topic job is the admin.
    for name in ("purchase-relay", "gifting-relay", "gifting-consumer", "payout-relay", "payout-consumer"):
        assert config["services"][name]["environment"]["KAFKA_SASL_USERNAME"] == name.split("-")[0]
    assert config["services"]["topics"]["environment"]["KAFKA_SASL_USERNAME"] == "admin"
    assert {
        "kafka",
        "purchase-db",
        "gifting-db",
        "payout-db",
        "topics",
        "purchase-migrate",
        "purchase-web",
        "gifting-consumer",
        "payout-worker",
    } <= set(config["services"])


def test_only_web_pods_get_the_callers_public_keys_and_no_pod_gets_a_signing_secret():
    for _, obj in k8s_objects():
        if obj["kind"] != "Deployment":
            continue
        pod = obj["spec"]["template"]["spec"]
        [container] = pod["containers"]
        env = {e["name"]: e for e in container.get("env", [])}
        assert not any("SECRET" in name for name in env), obj["metadata"]["name"]
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        if container["name"] == "web":
            assert env["COINS_AUTH_KEYS_DIR"]["value"] == "/etc/coins/caller-keys"
            assert "/etc/coins/caller-keys/gateway" in mounts
        else:
            assert "COINS_AUTH_KEYS_DIR" not in env and not any("caller-keys" in m for m in mounts)


def test_every_process_is_scraped_probed_on_its_own_signals_and_waits_for_its_release_migration():
    for _, obj in k8s_objects():
        if obj["kind"] != "Deployment":
            continue
        template = obj["spec"]["template"]
        [main] = template["spec"]["containers"]
        [init] = template["spec"]["initContainers"]
        assert init["args"] == ["wait-migrated"] and init["image"] == main["image"]
        assert main["image"].endswith(":" + VERSION)
        port = "http" if main["name"] == "web" else "metrics"
        assert main["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": port}
        assert main["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": port}
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == ("8000" if port == "http" else "9100")


def test_pool_size_workers_threads_and_retention_come_from_each_services_config():
    for _, obj in k8s_objects():
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"].endswith("-config"):
            assert {
                "DATABASE_POOL_SIZE",
                "DATABASE_MAX_OVERFLOW",
                "GUNICORN_WORKERS",
                "GUNICORN_THREADS",
                "METRICS_PORT",
                "RETENTION_IDEMPOTENCY_HOURS",
            } <= set(obj["data"])
            assert int(obj["data"]["RETENTION_IDEMPOTENCY_HOURS"]) >= 24


def test_the_hourly_audit_signs_as_ops_with_its_private_key_where_coinsctl_looks_for_it():
    objects = {(obj["kind"], obj["metadata"]["name"]): obj for _, obj in k8s_objects()}
    pod = objects[("CronJob", "coins-audit")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [job] = pod["containers"]
    var_dir = objects[("ConfigMap", "coins-audit")]["data"]["COINS_VAR_DIR"]
    [mount] = [m for m in job["volumeMounts"] if m["mountPath"] == f"{var_dir}/keys/private/ops"]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == "coins-audit-key" and mount["readOnly"]
    assert {"configMapRef": {"name": "coins-audit"}} in job["envFrom"]


def test_the_kafka_image_carries_every_project_module_its_entrypoint_imports():
    import ast
    import re

    root = DEPLOY.parent
    dockerfile = (DEPLOY / "images" / "kafka.Dockerfile").read_text()
    copied = {p for line in re.findall(r"^COPY (.+) /opt/coins/\S+/$", dockerfile, re.M) for p in line.split()}
    for path in sorted(copied):
        for node in ast.parse((root / path).read_text()).body:  # what importing the module runs
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("coinsctl", "shared"):
                if node.module in ("coinsctl", "shared"):  # `from shared import logs, tracing`: modules
                    modules = [f"{node.module}/{alias.name}.py" for alias in node.names]
                else:
                    modules = [node.module.replace(".", "/") + ".py"]
                for module in modules:
                    assert module in copied, f"{path} imports {module}"


def test_an_overlay_of_ops_changes_images_replicas_resources_processors_and_secret_names(tmp_path):
    """What ops change, in an overlay of their own on top of production's, as they would."""
    (tmp_path / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(K8S / "overlays" / "production", tmp_path)],
                "images": [
                    {
                        "name": "registry.example.com/coins/coins-gifting",
                        "newName": "ghcr.io/acme/coins-gifting",
                        "newTag": "9.9.9",
                    }
                ],
                "replicas": [{"name": "gifting-web", "count": 7}],
                "patches": [{"path": "ours.yaml"}],
            }
        )
    )
    (tmp_path / "ours.yaml").write_text(
        """apiVersion: v1
kind: ConfigMap
metadata: {name: purchase-config}
data: {PURCHASE_PROCESSOR_URL: "https://api.cards.acme-pay.com/v2"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: purchase-web}
spec:
  template:
    spec:
      containers:
      - name: web
        resources: {limits: {cpu: "3", memory: 2Gi}}
        env:
        - name: PURCHASE_DATABASE_URL
          valueFrom: {secretKeyRef: {name: vault-purchase-db, key: url}}
"""
    )
    objects = {(o["kind"], o["metadata"]["name"]): o for o in build(tmp_path)}
    gifting = objects[("Deployment", "gifting-web")]
    assert gifting["spec"]["replicas"] == 7
    assert gifting["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/acme/coins-gifting:9.9.9"
    assert (
        objects[("ConfigMap", "purchase-config")]["data"]["PURCHASE_PROCESSOR_URL"]
        == "https://api.cards.acme-pay.com/v2"
    )
    [web] = objects[("Deployment", "purchase-web")]["spec"]["template"]["spec"]["containers"]
    assert web["resources"]["limits"] == {"cpu": "3", "memory": "2Gi"}
    [url] = [e for e in web["env"] if e["name"] == "PURCHASE_DATABASE_URL"]
    assert url["valueFrom"]["secretKeyRef"]["name"] == "vault-purchase-db"
    assert objects[("Deployment", "purchase-relay")]["spec"]["template"]["spec"]["containers"][0]["image"] == (
        f"registry.example.com/coins/coins-purchase:{VERSION}"
    )


def _process_environ(container: dict, config_maps: dict, tmp_path: Path) -> dict:
    """A container's environment as the kubelet would give it, Secrets with strong stand-ins."""
    environ = {}
    for source in container.get("envFrom", []):
        environ.update(config_maps[source["configMapRef"]["name"]])
    for env in container.get("env", []):
        ref = env.get("valueFrom", {})
        if "value" in env:
            environ[env["name"]] = env["value"]
        elif "configMapKeyRef" in ref:
            environ[env["name"]] = config_maps[ref["configMapKeyRef"]["name"]][ref["configMapKeyRef"]["key"]]
        elif ref["secretKeyRef"]["key"] == "url":
            service = env["name"].split("_")[0].lower()
            environ[env["name"]] = f"postgresql://{service}:{'s' * 24}@{service}-db:5432/{service}"
        else:
            environ[env["name"]] = "p" * 24
    if "KAFKA_SSL_CAFILE" in environ:  # the kafka-ca ConfigMap's file, mounted
        (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
        environ["KAFKA_SSL_CAFILE"] = str(tmp_path / "ca.crt")
    return environ


def test_production_pods_start_once_the_processors_are_set_and_refuse_the_placeholders(tmp_path):
    """Each service pod's environment, as production's overlay renders it, passes its service's
    settings and credential checks; the processors' placeholders are refused, loudly."""
    from importlib import import_module

    from shared.credentials import refuse_foreign
    from shared.env import ConfigError

    objects = [obj for _, obj in k8s_objects("production")]
    config_maps = {o["metadata"]["name"]: dict(o.get("data", {})) for o in objects if o["kind"] == "ConfigMap"}
    for service, url in (("purchase", "https://api.cards.acme-pay.com"), ("payout", "https://payouts.acme-pay.com")):
        with pytest.raises(ConfigError, match="is the deployment's placeholder"):
            import_module(f"services.{service}.settings").load_settings(
                _process_environ({"envFrom": [{"configMapRef": {"name": f"{service}-config"}}]}, config_maps, tmp_path)
            )
        config_maps[f"{service}-config"][f"{service.upper()}_PROCESSOR_URL"] = url
    started = set()
    for obj in objects:
        if obj["kind"] not in ("Deployment", "Job") or obj["metadata"]["name"].startswith("coins-topics"):
            continue
        template = obj["spec"]["template"]
        service = template["metadata"]["labels"]["app.kubernetes.io/name"].removeprefix("coins-")
        for container in template["spec"].get("initContainers", []) + template["spec"]["containers"]:
            environ = _process_environ(container, config_maps, tmp_path)
            assert environ["COINS_ENV"] == "production"
            import_module(f"services.{service}.settings").load_settings(environ)
            refuse_foreign(service, container["args"][0], environ, "production")
            started.add((service, container["args"][0]))
    assert len(started) == 3 * 3 + 7  # web, migrate and wait-migrated of each; the 7 background processes


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_pods_drain_before_stopping_spread_out_and_every_job_is_one_per_release(overlay):
    """Re-applying a release changes nothing (a Job's template is immutable: each is named for its
    release, so the next release's is a new Job, and the same release's is the same); a web pod
    keeps serving while the endpoints drop it, and its replicas spread over zones and nodes."""
    for _, obj in k8s_objects(overlay):
        if obj["kind"] == "Job":
            assert obj["metadata"]["name"].endswith("-" + VERSION.replace(".", "-")), obj["metadata"]["name"]
        if obj["kind"] == "Deployment" and obj["metadata"]["name"].endswith("-web"):
            pod = obj["spec"]["template"]["spec"]
            assert pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
            assert pod["terminationGracePeriodSeconds"] > 5
            spread = {c["topologyKey"]: c["labelSelector"]["matchLabels"] for c in pod["topologySpreadConstraints"]}
            assert set(spread) == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
            assert all(labels == obj["spec"]["selector"]["matchLabels"] for labels in spread.values())


def test_the_cdc_component_adds_connect_and_the_mark_jobs_to_an_overlay_schema_checked():
    """deploy/k8s/components/cdc, listed in production's `components` as its comment says: the
    overlay's namespace and registry apply to it, and every object it adds passes the schema."""
    without = {(o["kind"], o["metadata"]["name"]) for _, o in k8s_objects("production")}
    added = [o for o in with_cdc("production") if (o["kind"], o["metadata"]["name"]) not in without]
    assert {(o["kind"], o["metadata"]["name"]) for o in added} >= {
        ("Deployment", "kafka-connect"),
        *(("CronJob", f"{service}-cdc-mark") for service in ("purchase", "gifting", "payout")),
    }
    images = set()
    for obj in added:
        utils.validate(obj, K8S_VERSION, strict=True)
        assert obj["metadata"]["namespace"] == "coins"
        spec = obj.get("spec", {})
        template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template")
        if template:
            images |= {container["image"] for container in template["spec"]["containers"]}
    assert f"registry.example.com/coins/coins-connect:{VERSION}" in images
    assert all(image.startswith("registry.example.com/coins/") for image in images), images
