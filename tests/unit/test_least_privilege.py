"""Each process holds only the credentials it uses (shared/credentials.py), read from what ops
deploy: the rendered compose file and the Kubernetes overlays as kustomize builds them. A
container's secret-bearing variables, Secret references and key mounts must be among those its
kind is granted; a Secret serves one principal; no pod mounts a service-account token; secret
files are 0600 or stricter; NetworkPolicies let in only each port's callers. The checker is
also run on doctored copies, which it must catch."""

from __future__ import annotations

import copy
import logging

import pytest

from shared.credentials import KEYS_DIR, SECRET_VARIABLE, SERVICES, foreign, granted, principal, refuse_foreign
from shared.env import ConfigError
from tests.support.deploy import OVERLAYS, compose_config, k8s_objects, with_cdc

# -- what a container holds -----------------------------------------------------------------------


def command_kind(args: list[str]) -> str:
    """The kind of a process by its command: the image's entrypoint role, or the ops CLI's command
    (`coinsctl audit`; `coinsctl outbox cdc-mark gifting`)."""
    if args[:2] == ["coinsctl", "outbox"]:
        return args[2]
    return args[1] if args[:1] == ["coinsctl"] else args[0]


def compose_process(name: str, service: dict) -> tuple[str | None, str]:
    """(service, kind) of a compose service: the broker, a database, a sandbox, Kafka Connect, the
    CDC role's maker, or a process whose kind is its command."""
    if name == "kafka":
        return None, "broker"
    if name.endswith("-db"):
        return name.removesuffix("-db"), "database"
    if name.endswith("-sandbox"):
        return None, "sandbox"
    if name in ("connect", "cdc-role"):
        return None, name
    owner = name.split("-")[0]
    return (owner if owner in SERVICES else None), command_kind(service["command"])


def compose_violations(config: dict) -> list[str]:
    problems = []
    for name, service in config["services"].items():
        owner, kind = compose_process(name, service)
        env = service.get("environment") or {}
        held = {key for key, value in env.items() if value and SECRET_VARIABLE.search(key)}
        held |= {v["target"] for v in service.get("volumes", []) if isinstance(v, dict) and "keys" in v["target"]}
        problems += [f"{name} ({kind}) holds {item}" for item in sorted(held - granted(owner, kind))]
        user = env.get("KAFKA_SASL_USERNAME")
        if user is not None and user != principal(owner, kind):
            problems.append(f"{name} ({kind}) connects as {user}")
    return problems


def pod_spec(obj: dict) -> dict | None:
    kind = obj["kind"]
    if kind in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        return obj["spec"]["template"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]
    return None


def k8s_process(template: dict, container: dict) -> tuple[str | None, str]:
    """(service, kind): the service from the pod's name label, the kind from the entrypoint's role
    (`coinsctl <command>` for the ops CLI's jobs)."""
    app = template["metadata"]["labels"].get("app.kubernetes.io/name", "").removeprefix("coins-")
    image = container["image"].split("/")[-1]
    if image.startswith("coins-sandbox"):
        return None, "sandbox"
    if image.startswith("coins-connect"):
        return None, "connect"
    return (app if app in SERVICES else None), command_kind(container.get("args") or [])


def k8s_violations(objects: list[dict]) -> list[str]:
    problems, users_of_secret = [], {}
    for obj in objects:
        template = pod_spec(obj)
        if template is None:
            continue
        pod, where = template["spec"], f"{obj['kind']}/{obj['metadata']['name']}"
        if pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{where} mounts a service-account token")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for volume in volumes.values():
            mode = volume.get("secret", {}).get("defaultMode", 0o644)
            if "secret" in volume and mode & 0o077:
                problems.append(f"{where}: Secret volume {volume['name']} is mode {mode:o} (group/other may read)")
        for container in pod.get("initContainers", []) + pod["containers"]:
            owner, kind = k8s_process(template, container)
            name, held = f"{where}/{container['name']} ({kind})", set()
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref or (env.get("value") and SECRET_VARIABLE.search(env["name"])):
                    held.add(env["name"])
                if ref:
                    users_of_secret.setdefault(ref["name"], set()).add(principal(owner, kind) or owner or kind)
                if env["name"] == "KAFKA_SASL_USERNAME" and env.get("value") != principal(owner, kind):
                    problems.append(f"{name} connects as {env.get('value')}")
            held |= {
                f"envFrom Secret {e['secretRef']['name']}" for e in container.get("envFrom", []) if "secretRef" in e
            }
            for mount in container.get("volumeMounts", []):
                volume = volumes[mount["name"]]
                if "secret" in volume or "projected" in volume:
                    held.add(mount["mountPath"])
                    users_of_secret.setdefault(volume.get("secret", {}).get("secretName"), set()).add(kind)
                elif mount["mountPath"].startswith(KEYS_DIR):
                    held.add(KEYS_DIR)
            problems += [f"{name} holds {item}" for item in sorted(held - granted(owner, kind))]
    for secret, users in users_of_secret.items():
        if len(users) > 1:
            problems.append(f"Secret {secret} is shared by {sorted(users)}")
    return problems


# -- the deployments as rendered ------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    import yaml

    result = compose_config("compose.yaml")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.mark.parametrize(
    "files", [("compose.yaml",), ("compose.yaml", "compose.host.yaml"), ("compose.yaml", "compose.cdc.yaml")]
)
def test_every_compose_container_holds_only_its_own_credentials(files):
    import yaml

    result = compose_config(*files)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert compose_violations(config) == []
    # and each that needs one has it (a process without its database could not start)
    env = config["services"]["gifting-consumer"]["environment"]
    assert env["GIFTING_DATABASE_URL"].startswith("postgresql://gifting:pw-db-GIFTING@")
    assert env["KAFKA_SASL_PASSWORD"] == "pw-kafka-GIFTING"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_kubernetes_pod_holds_only_its_own_credentials(overlay):
    objects = [obj for _, obj in k8s_objects(overlay)]
    assert k8s_violations(objects) == []
    kinds = {k8s_process(pod_spec(o), c)[1] for o in objects if pod_spec(o) for c in pod_spec(o)["spec"]["containers"]}
    assert {"web", "relay", "consumer", "worker", "reconciler", "migrate", "prune", "topics", "audit"} <= kinds


def test_the_cdc_path_holds_only_its_own_credentials_in_compose_and_kubernetes():
    """Kafka Connect connects as `connect` with its password only; the switch holds the service's
    database and principal and the CDC role's password; the mark job, the database alone."""
    import yaml

    result = compose_config("compose.yaml", "compose.cdc.yaml")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    kinds = {name: compose_process(name, services[name]) for name in services}
    assert {kinds[n] for n in ("connect", "connect-acls", "cdc-role", "gifting-cdc", "gifting-cdc-mark")} == {
        (None, "connect"),
        (None, "cdc-acls"),
        (None, "cdc-role"),
        ("gifting", "cdc-on"),
        ("gifting", "cdc-mark"),
    }
    assert services["connect"]["environment"]["KAFKA_SASL_PASSWORD"] == "pw-kafka-CONNECT"
    assert "PAYOUT_DB_ADMIN_PASSWORD" in services["cdc-role"]["environment"]  # one per server it makes the role on
    objects = list(with_cdc("production"))
    assert k8s_violations(objects) == []
    processes = {k8s_process(pod_spec(o), c) for o in objects if pod_spec(o) for c in pod_spec(o)["spec"]["containers"]}
    assert {(None, "connect"), *((service, "cdc-mark") for service in SERVICES)} <= processes


def test_the_checker_catches_a_cdc_process_holding_more_than_it_uses():
    import yaml

    services = yaml.safe_load(compose_config("compose.yaml", "compose.cdc.yaml").stdout)["services"]
    doctored = {"services": copy.deepcopy({n: services[n] for n in ("connect", "gifting-cdc-mark")})}
    doctored["services"]["connect"]["environment"]["GIFTING_DATABASE_URL"] = "postgresql://gifting:x@db/gifting"
    doctored["services"]["connect"]["environment"]["KAFKA_SASL_USERNAME"] = "gifting"
    doctored["services"]["gifting-cdc-mark"]["environment"]["COINS_CDC_PASSWORD"] = "x"
    assert compose_violations(doctored) == [
        "connect (connect) holds GIFTING_DATABASE_URL",
        "connect (connect) connects as gifting",
        "gifting-cdc-mark (cdc-mark) holds COINS_CDC_PASSWORD",
    ]
    objects = copy.deepcopy(list(with_cdc("production")))
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    mark = pod_spec(by_name[("CronJob", "payout-cdc-mark")])["spec"]
    mark["containers"][0]["env"].append(
        {"name": "KAFKA_SASL_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "payout-kafka", "key": "password"}}}
    )
    connect = pod_spec(by_name[("Deployment", "kafka-connect")])["spec"]
    connect["containers"][0]["env"].append({"name": "COINS_CDC_PASSWORD", "value": "x"})
    found = k8s_violations(objects)
    assert "CronJob/payout-cdc-mark/cdc-mark (cdc-mark) holds KAFKA_SASL_PASSWORD" in found
    assert "Deployment/kafka-connect/connect (connect) holds COINS_CDC_PASSWORD" in found


def test_compose_has_no_default_password_and_the_databases_one_role_each(compose):
    result = compose_config("compose.yaml", env={})
    assert result.returncode != 0 and "run deploy/compose-secrets.sh" in result.stderr
    for service in SERVICES:
        db = compose["services"][f"{service}-db"]
        assert db["environment"]["SERVICE_DB_USER"] == service
        assert db["environment"]["POSTGRES_PASSWORD"] == f"pw-db-admin-{service.upper()}"
        assert any(v["target"].startswith("/docker-entrypoint-initdb.d/") for v in db["volumes"] if isinstance(v, dict))


def test_the_checker_catches_a_credential_given_to_a_process_that_does_not_use_it(compose):
    doctored = copy.deepcopy(compose)
    doctored["services"]["purchase-web"]["environment"]["GIFTING_DATABASE_URL"] = "postgresql://gifting:x@db/gifting"
    doctored["services"]["payout-worker"]["environment"]["KAFKA_SASL_PASSWORD"] = "x"
    doctored["services"]["gifting-relay"]["environment"]["KAFKA_SASL_USERNAME"] = "admin"
    assert compose_violations(doctored) == [
        "gifting-relay (relay) connects as admin",
        "payout-worker (worker) holds KAFKA_SASL_PASSWORD",
        "purchase-web (web) holds GIFTING_DATABASE_URL",
    ]
    objects = copy.deepcopy([obj for _, obj in k8s_objects("production")])
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    audit = pod_spec(by_name[("CronJob", "coins-audit")])["spec"]
    audit["containers"][0]["env"].append(
        {"name": "GIFTING_DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "gifting-database", "key": "url"}}}
    )
    web = pod_spec(by_name[("Deployment", "payout-web")])["spec"]
    web["containers"][0]["envFrom"].append({"secretRef": {"name": "payout-kafka"}})
    del web["automountServiceAccountToken"]
    relay = pod_spec(by_name[("Deployment", "purchase-relay")])["spec"]
    relay["volumes"].append({"name": "ops", "secret": {"secretName": "coins-audit-key", "defaultMode": 0o644}})
    relay["containers"][0]["volumeMounts"].append({"name": "ops", "mountPath": "/etc/coins/audit/keys/private/ops"})
    found = k8s_violations(objects)
    assert "CronJob/coins-audit/audit (audit) holds GIFTING_DATABASE_URL" in found
    assert "Deployment/payout-web mounts a service-account token" in found
    assert "Deployment/payout-web/web (web) holds envFrom Secret payout-kafka" in found
    assert "Deployment/purchase-relay: Secret volume ops is mode 644 (group/other may read)" in found
    assert "Deployment/purchase-relay/relay (relay) holds /etc/coins/audit/keys/private/ops" in found
    assert any(p.startswith("Secret gifting-database is shared by") for p in found)
    assert any(p.startswith("Secret coins-audit-key is shared by") for p in found)


# -- NetworkPolicies ------------------------------------------------------------------------------


def _selects(selector: dict, labels: dict) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def ingress_to(objects: list[dict], labels: dict) -> dict[int, list[dict]]:
    """The port -> peers every NetworkPolicy selecting a pod with `labels` lets in."""
    allowed: dict[int, list[dict]] = {}
    for policy in (o for o in objects if o["kind"] == "NetworkPolicy"):
        if _selects(policy["spec"]["podSelector"], labels):
            for rule in policy["spec"].get("ingress", []):
                for port in rule.get("ports", []):
                    allowed.setdefault(port["port"], []).extend(rule.get("from", []))
    return allowed


PROMETHEUS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_let_in_only_each_ports_callers(overlay):
    objects = [obj for _, obj in k8s_objects(overlay)]
    [deny] = [o for o in objects if o["kind"] == "NetworkPolicy" and o["spec"]["podSelector"] == {}]
    assert deny["spec"]["policyTypes"] == ["Ingress"] and not deny["spec"].get("ingress")
    for obj in objects:
        template = pod_spec(obj)
        if template is None:
            continue
        labels, name = template["metadata"]["labels"], obj["metadata"]["name"]
        allowed = ingress_to(objects, labels)
        component = labels.get("app.kubernetes.io/component")
        if component == "web":
            assert set(allowed) == {8000}, name
            assert PROMETHEUS in allowed[8000], name  # /metrics is on the web port
            callers = [peer for peer in allowed[8000] if peer != PROMETHEUS]
            assert {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "audit"}}} in callers
            assert all("namespaceSelector" in p or "podSelector" in p for p in callers)
        elif component in ("relay", "consumer", "worker", "reconciler"):
            assert allowed == {9100: [PROMETHEUS]}, name
        elif "sandbox" in labels["app.kubernetes.io/name"]:  # staging's processors: their service and the audit
            assert set(allowed) == {8000}, name
        else:  # jobs: migrations, topics, prune, audit
            assert allowed == {}, name


@pytest.mark.parametrize("service", SERVICES)
def test_each_database_is_reached_only_from_its_own_service(service):
    objects = [obj for _, obj in k8s_objects("production")]
    allowed = ingress_to(objects, {"app.kubernetes.io/name": f"coins-{service}-db"})
    assert allowed == {5432: [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": f"coins-{service}"}}}]}
    for obj in objects:  # and the pods that selector matches are that service's own
        template = pod_spec(obj)
        if template and _selects(allowed[5432][0]["podSelector"], template["metadata"]["labels"]):
            for container in template["spec"]["containers"]:
                owner, kind = k8s_process(template, container)
                assert owner == service and "database" in kind_uses(kind), obj["metadata"]["name"]


def kind_uses(kind: str) -> frozenset[str]:
    from shared.credentials import USES

    return USES[kind]


# -- the processes' own check ---------------------------------------------------------------------

OWN = {"GIFTING_DATABASE_URL": "postgresql://gifting:x@db/gifting", "LOG_LEVEL": "INFO"}


def test_a_production_process_given_another_ones_credentials_refuses_to_start():
    refuse_foreign("gifting", "web", OWN, "production")  # its own: starts
    environ = {**OWN, "PURCHASE_DATABASE_URL": "postgresql://purchase:y@db/purchase", "KAFKA_SASL_PASSWORD": "z"}
    with pytest.raises(ConfigError, match="gifting-web was given credentials it does not use: KAFKA_SASL_PASSWORD, "):
        refuse_foreign("gifting", "web", environ, "production")
    with pytest.raises(ConfigError, match="KAFKA_SASL_USERNAME=admin"):
        refuse_foreign(
            "gifting", "relay", {**OWN, "KAFKA_SASL_USERNAME": "admin", "KAFKA_SASL_PASSWORD": "z"}, "production"
        )
    assert foreign("gifting", "relay", {**OWN, "KAFKA_SASL_USERNAME": "gifting", "KAFKA_SASL_PASSWORD": "z"}) == []
    assert foreign(None, "audit", {"COINS_AUDIT_PUSHGATEWAY": "pg:9091", "PAYOUT_DATABASE_URL": "x"}) == [
        "PAYOUT_DATABASE_URL"
    ]


def test_staging_logs_a_process_given_another_ones_credentials_and_local_runs_share_one_environment(caplog):
    environ = {**OWN, "PAYOUT_DATABASE_URL": "postgresql://payout:y@db/payout"}
    with caplog.at_level(logging.WARNING, logger="shared.credentials"):
        refuse_foreign("gifting", "consumer", environ, "staging")
    assert "gifting-consumer was given credentials it does not use: PAYOUT_DATABASE_URL" in caplog.text
    refuse_foreign("gifting", "consumer", environ, "local")  # make run: one environment for all


def test_the_migration_entrypoint_checks_its_credentials(monkeypatch):
    from shared.db import migrate

    monkeypatch.setenv("COINS_ENV", "production")
    monkeypatch.setenv("GIFTING_DATABASE_URL", "postgresql://gifting@db/gifting")
    monkeypatch.setenv("PAYOUT_DATABASE_URL", "postgresql://payout@db/payout")
    with pytest.raises(ConfigError, match="gifting-migrate was given credentials it does not use: PAYOUT_DATABASE_URL"):
        migrate.main(["gifting"])
