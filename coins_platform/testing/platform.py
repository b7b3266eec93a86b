"""`CoinsPlatform`: Apache Kafka, one PostgreSQL per service, the sandbox processors and every
process of the three services as containers (testcontainers, host networking), started in
order and waited for: the broker's log line, each database's connection, each migration's exit
code, each web app's and sandbox's /health/ready. Never a fixed sleep.

Images (arguments, else environment, else the names deploy/build-images.sh gives them):
COINS_PLATFORM_IMAGE_PREFIX (`coins`) and COINS_PLATFORM_IMAGE_TAG (`latest`) name
`<prefix>-purchase|gifting|payout|sandbox|kafka:<tag>`; COINS_PLATFORM_KAFKA_IMAGE,
COINS_PLATFORM_SANDBOX_IMAGE and COINS_PLATFORM_POSTGRES_IMAGE (`<prefix>-postgres:15`; the
official `postgres:16` works too) name one each.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from coins_platform.testing.keys import CallerKeys
from coins_platform.testing.sandboxes import CardSandbox, PayoutSandbox
from shared.credentials import SERVICES

ROLES = {
    "purchase": ("web", "relay", "reconciler"),
    "gifting": ("web", "relay", "consumer"),
    "payout": ("web", "relay", "consumer", "worker"),
}
KEYS_MOUNT = "/etc/coins/caller-keys"
# A web worker looks at its key directory again at most this long after it last did
# (shared.auth.tokens.KeyRing's reload_seconds): a caller's key made while the platform runs is trusted after it.
KEY_RELOAD_S = 1.0


class PlatformError(RuntimeError):
    """The platform could not be started: which part, and what it said."""


@dataclass(frozen=True)
class Images:
    prefix: str = "coins"
    tag: str = "latest"
    kafka: str | None = None
    postgres: str | None = None
    sandbox: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **given: str | None) -> Images:
        """Arguments first, then COINS_PLATFORM_* variables, then the defaults."""
        names = ("prefix", "tag", "kafka", "postgres", "sandbox")
        found = {n: given.get(n) or environ.get(f"COINS_PLATFORM_{n.upper()}_IMAGE") for n in names[2:]}
        found["prefix"] = given.get("prefix") or environ.get("COINS_PLATFORM_IMAGE_PREFIX") or cls.prefix
        found["tag"] = given.get("tag") or environ.get("COINS_PLATFORM_IMAGE_TAG") or cls.tag
        return cls(**found)

    def service(self, name: str) -> str:
        return f"{self.prefix}-{name}:{self.tag}"

    @property
    def all(self) -> dict[str, str]:
        return {
            **{s: self.service(s) for s in SERVICES},
            "sandbox": self.sandbox or self.service("sandbox"),
            "kafka": self.kafka or self.service("kafka"),
            "postgres": self.postgres or f"{self.prefix}-postgres:15",
        }


@dataclass
class _Started:
    containers: dict = field(default_factory=dict)


def _wait(condition: Callable[[], object], *, timeout: float, what: str, logs: Callable[[], str] | None = None):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = f"\n--- its log ---\n{logs()[-3000:]}" if logs else ""
            raise PlatformError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
        time.sleep(0.1)


class CoinsPlatform:
    """The whole platform in containers; a context manager (or `start()` / `stop()`).

    Once started: `url(service)`, `token(caller, service=...)`, `headers(...)` (optionally with
    a user grant), `card` and `payouts` (the sandbox processors), `audit()`, `exec(...)`.
    `policy` adds callers' permissions per service (`{"gifting": {"my-app": ["gifts:create"]}}`,
    on top of the defaults); `env` adds settings to every service container; `sandbox_env` to the
    sandboxes (e.g. SANDBOX_SLOW_MS).
    """

    def __init__(
        self,
        *,
        image_prefix: str | None = None,
        image_tag: str | None = None,
        kafka_image: str | None = None,
        postgres_image: str | None = None,
        sandbox_image: str | None = None,
        policy: Mapping[str, Mapping[str, list[str]]] | None = None,
        env: Mapping[str, str] | None = None,
        sandbox_env: Mapping[str, str] | None = None,
        gunicorn_workers: int = 2,
        startup_timeout_s: float | None = None,
    ):
        self.images = Images.from_env(
            prefix=image_prefix, tag=image_tag, kafka=kafka_image, postgres=postgres_image, sandbox=sandbox_image
        )
        self.policy = {s: dict(p) for s, p in (policy or {}).items()}
        unknown = set(self.policy) - set(SERVICES)
        if unknown:
            raise ValueError(f"policy names no such service: {sorted(unknown)}")
        self.extra_env = dict(env or {})
        self.sandbox_env = dict(sandbox_env or {})
        self.gunicorn_workers = gunicorn_workers
        # each step's bound (the broker, a database, a migration, a web app): seconds where idle,
        # minutes on a loaded CI machine
        self.timeout_s = startup_timeout_s or float(os.environ.get("COINS_PLATFORM_STARTUP_TIMEOUT_S", "300"))
        self.name = f"coins-platform-{uuid.uuid4().hex[:6]}"
        self.containers: dict[str, object] = {}  # "<service>-<role>", "<service>-db", "broker", "card-sandbox", ...
        self.ports: dict[str, int] = {}  # service -> its web port
        self.metrics_ports: dict[str, int] = {}  # "<service>-<role>" -> /metrics and probes of a background role
        self.env: dict[str, str] = {}  # what every service container got (database and processor URLs, broker)
        self.keys: CallerKeys | None = None
        self.card: CardSandbox | None = None
        self.payouts: PayoutSandbox | None = None
        self.kafka_bootstrap = ""
        self.kafka_version = ""
        self.kafka_admin = None  # KafkaSettings of the broker's super user
        self.kafka_credentials = None  # each principal's SCRAM password (coinsctl.apache_kafka.Credentials)

    # -- what a test uses ------------------------------------------------------------------------
    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def urls(self) -> dict[str, str]:
        return {s: self.url(s) for s in self.ports}

    def add_caller(self, caller: str) -> None:
        """A key pair for `caller` unless it has one: the callers named in `policy` have theirs from
        the start; one made later is trusted once the web workers looked again (KEY_RELOAD_S), so
        this returns only then. What a caller may do comes from `policy`."""
        keys = self._keys()
        if keys.add(caller) and self.ports:
            time.sleep(KEY_RELOAD_S + 0.2)  # the services' documented bound, not a guess

    def token(self, caller: str = "gateway", *, service: str, ttl_seconds: int = 300) -> str:
        """A bearer token from `caller` (any name: its key pair is made on first use) for `service`."""
        self.add_caller(caller)
        return self._keys().token(caller, service, ttl_seconds=ttl_seconds)

    def user_grant(
        self, user_id: str, *, caller: str, service: str, issuer: str = "gateway", limits: Mapping | None = None
    ) -> str:
        """A user grant (X-User-Grant), good for one call: `issuer` (holding users:any) vouches that
        `caller` acts for `user_id` within `limits` (e.g. {"max_coins": 500, "creator_id": "cara"})."""
        self.add_caller(issuer)
        return self._keys().token(issuer, service, subject=user_id, authorized_party=caller, limits=dict(limits or {}))

    def headers(
        self, caller: str = "gateway", *, service: str, user: str | None = None, grant: Mapping | None = None, **extra
    ) -> dict:
        """Authorization for one call; with `user`, an X-User-Grant from the gateway with `grant`'s limits."""
        headers = {"Authorization": f"Bearer {self.token(caller, service=service)}", **extra}
        if user is not None:
            headers["X-User-Grant"] = self.user_grant(user, caller=caller, service=service, limits=grant)
        return headers

    def audit(self, wait_s: float = 60.0):
        """`coinsctl audit` on this platform: waits for the events in flight, then checks the three
        ledgers against each other and the sandboxes' books (`.ok`, `.problems`, `.totals`)."""
        from coinsctl.audit import audit, sandbox_processors

        return audit(
            self.urls,
            lambda service: self.token("ops", service=service),
            processors=sandbox_processors(self.card.url, self.payouts.url),
            wait_s=wait_s,
        )

    def exec(self, container: str, command: list[str]) -> subprocess.CompletedProcess:
        """Run a command inside a running container, as `docker exec` does (its environment and user)."""
        result = self._docker(container).exec_run(command, demux=True)
        out, err = (part.decode(errors="replace") if part else "" for part in result.output)
        return subprocess.CompletedProcess(command, result.exit_code, out, err)

    def logs(self, container: str) -> str:
        return self._docker(container).logs().decode(errors="replace")

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> CoinsPlatform:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    def start(self) -> CoinsPlatform:
        os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # where the reaper image cannot be pulled
        self._check_images()
        try:
            self.keys = CallerKeys()
            for caller in {c for grants in self.policy.values() for c in grants}:
                self.keys.add(caller)
            self._start_broker()
            self._start_sandboxes()
            self._start_databases()
            self._migrate()
            self._start_services()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for container in reversed(list(self.containers.values())):
            try:
                container.stop()
            except Exception:  # noqa: BLE001 - best effort at teardown: the others still go
                pass
        self.containers.clear()
        if self.keys is not None:
            self.keys.remove()

    # -- the steps -------------------------------------------------------------------------------
    def _keys(self) -> CallerKeys:
        if self.keys is None:
            raise PlatformError("the platform is not started")
        return self.keys

    def _docker(self, name: str):
        return self.containers[name].get_wrapped_container()

    def _check_images(self) -> None:
        import docker

        try:
            client = docker.from_env()
            client.ping()
        except docker.errors.DockerException as exc:
            raise PlatformError(f"no Docker engine answers (DOCKER_HOST, or the local socket): {exc}") from exc
        missing = [image for image in self.images.all.values() if not client.images.list(name=image)]
        if missing:
            raise PlatformError(
                f"images not found: {', '.join(missing)} (build them with deploy/build-images.sh, or name "
                "them with the arguments or COINS_PLATFORM_IMAGE_PREFIX/_TAG, _KAFKA_IMAGE, _POSTGRES_IMAGE, "
                "_SANDBOX_IMAGE)"
            )

    def _run(self, name: str, image: str, *, command=None, env=None, volumes=()):
        from testcontainers.core.container import DockerContainer

        container = DockerContainer(image).with_name(f"{self.name}-{name}").with_kwargs(network_mode="host")
        for host_path, container_path in volumes:
            container = container.with_volume_mapping(host_path, container_path, "ro")
        for key, value in (env or {}).items():
            container = container.with_env(key, value)
        if command:
            container = container.with_command(command)
        self.containers[name] = container.start()
        return self.containers[name]

    def _start_broker(self) -> None:
        from coinsctl.apache_kafka import Credentials
        from coinsctl.broker import free_port
        from coinsctl.kafka_acls import apply_acls, platform_acls
        from shared.kafka.admin import TopicPolicy, ensure_topics
        from shared.kafka.settings import kafka_settings

        creds, port = Credentials(), free_port()
        env = {
            "KAFKA_PORT": str(port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_USERS": json.dumps(creds.passwords),
        }
        self._run("broker", self.images.all["kafka"], env=env)
        _wait(
            lambda: "Kafka Server started" in self.logs("broker"),
            timeout=self.timeout_s,
            what="the Apache Kafka container",
            logs=lambda: self.logs("broker"),
        )
        self.kafka_version = self.logs("broker").split("Kafka version: ")[1].split()[0]
        self.kafka_bootstrap = f"127.0.0.1:{port}"
        admin = kafka_settings({"KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap, **creds.client_env("admin")})
        ensure_topics(admin, TopicPolicy(partitions=3), timeout_s=self.timeout_s)
        apply_acls(admin, platform_acls())
        self.kafka_admin, self.kafka_credentials = admin, creds

    def _start_sandboxes(self) -> None:
        from coinsctl.broker import free_port

        urls = {}
        for sandbox, service in (("card", "purchase"), ("payout", "payout")):
            port = free_port()
            self._run(
                f"{sandbox}-sandbox",
                self.images.all["sandbox"],
                command=[sandbox],
                env={**self.sandbox_env, "PORT": str(port)},
            )
            urls[sandbox] = f"http://127.0.0.1:{port}"
            self.env[f"{service.upper()}_PROCESSOR_URL"] = urls[sandbox]
            self.env[f"{service.upper()}_PROCESSOR"] = "sandbox"  # named, as staging and production want
        self.card, self.payouts = CardSandbox(urls["card"]), PayoutSandbox(urls["payout"])

    def _start_databases(self) -> None:
        import psycopg

        from coinsctl.broker import free_port

        for service in SERVICES:
            port = free_port()
            self._run(
                f"{service}-db",
                self.images.all["postgres"],
                command=["postgres", "-p", str(port)],
                env={"POSTGRES_HOST_AUTH_METHOD": "trust", "POSTGRES_PASSWORD": "unused"},
            )
            url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

            def up(url=url) -> bool:
                try:
                    with psycopg.connect(url, connect_timeout=2):
                        return True
                except psycopg.OperationalError:
                    return False

            _wait(
                up, timeout=self.timeout_s, what=f"{service}'s PostgreSQL", logs=lambda s=service: self.logs(f"{s}-db")
            )
            self.env[f"{service.upper()}_DATABASE_URL"] = url

    def _service_env(self) -> dict[str, str]:
        env = {
            **self.env,
            "COINS_ENV": "staging",  # production's checks, with the sandboxes and SASL without TLS allowed
            "COINS_AUTH_KEYS_DIR": KEYS_MOUNT,
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",  # each role adds its own principal's SCRAM login
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SESSION_TIMEOUT_MS": "6000",
            "GUNICORN_WORKERS": str(self.gunicorn_workers),
        }
        for service, extra in self.policy.items():
            from importlib import import_module

            defaults = import_module(f"services.{service}.settings").DEFAULT_POLICY
            env[f"{service.upper()}_AUTH_POLICY"] = json.dumps({**defaults, **extra})
        env.update(self.extra_env)
        return env

    def _migrate(self) -> None:
        env = self._service_env()
        for service in SERVICES:
            name = f"{service}-migrate"
            self._run(name, self.images.service(service), command=["migrate"], env=env)
            result = self._docker(name).wait(timeout=self.timeout_s)
            if result["StatusCode"] != 0:
                raise PlatformError(f"{service}'s migration exited {result['StatusCode']}:\n{self.logs(name)[-3000:]}")

    def _start_services(self) -> None:
        import requests

        from coinsctl.broker import free_port

        env = self._service_env()
        keys = [(str(self._keys().public_dir), KEYS_MOUNT)]
        for service in SERVICES:
            self.ports[service] = free_port()
            for role in ROLES[service]:
                own = {"PORT": str(self.ports[service]), **self.kafka_credentials.client_env(service)}
                if role != "web":  # host networking: each background container's metrics port its own
                    self.metrics_ports[f"{service}-{role}"] = own["METRICS_PORT"] = str(free_port())
                self._run(
                    f"{service}-{role}",
                    self.images.service(service),
                    command=[role],
                    env={**env, **own},
                    volumes=keys if role == "web" else (),
                )
        self.metrics_ports = {name: int(port) for name, port in self.metrics_ports.items()}

        def ready(url: str) -> bool:
            try:
                return requests.get(f"{url}/health/ready", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        for name, url in {
            **{f"{s}-web": self.url(s) for s in SERVICES},
            "card-sandbox": self.card.url,
            "payout-sandbox": self.payouts.url,
        }.items():
            _wait(
                lambda u=url: ready(u), timeout=self.timeout_s, what=f"{name} ready", logs=lambda n=name: self.logs(n)
            )
        self.env = env
