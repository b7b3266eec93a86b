"""The whole platform on one machine: broker, topics, migrations, the sandbox card and payout
processors, and every process of the three services, supervised (a process that dies is restarted
and the restart is logged).

`make run` uses it with local defaults (SQLite under var/, Apache Kafka with its data under
var/broker); the end-to-end tests use it with PostgreSQL URLs, their own ports, a broker of the
session's and a topic prefix. Each service connects to the broker as its own principal.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import requests

from coinsctl.apache_kafka import ApacheKafka
from coinsctl.broker import signal_group
from coinsctl.kafka_acls import apply_acls, platform_acls
from coinsctl.keys import ensure_local_keys
from coinsctl.settings import STACK_SANDBOXES, STACK_SERVICES, process_environ, stack_settings
from shared.db.engines import normalise_url
from shared.db.migrate import upgrade
from shared.kafka.admin import TopicPolicy, ensure_topics
from shared.kafka.settings import kafka_settings
from shared.settings import database_url

log = logging.getLogger("coinsctl.stack")
SERVICES = tuple(STACK_SERVICES)
DEFAULT_PORTS = dict(STACK_SERVICES)
# The sandbox processors, and the service whose <SERVICE>_PROCESSOR_URL points at each.
SANDBOXES = {"card": "purchase", "payout": "payout"}
DEFAULT_SANDBOX_PORTS = dict(STACK_SANDBOXES)


@dataclass
class ProcessSpec:
    name: str
    service: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    kafka_client: bool = True  # gets its service principal's broker credentials (the sandboxes do not)


def _gunicorn(py: str, app: str) -> list[str]:
    return [py, "-m", "gunicorn", "-c", "python:shared.http.gunicorn_conf", app]


def sandbox_specs(ports: dict[str, int], host: str = "127.0.0.1") -> list[ProcessSpec]:
    """The sandbox processors, each its own HTTP process with a SQLite file of its own."""
    return [
        ProcessSpec(
            f"{name}-sandbox",
            SANDBOXES[name],
            _gunicorn(sys.executable, f"sandboxes.{name}:app"),
            {
                "GUNICORN_BIND": f"{host}:{port}",
                "GUNICORN_PROC_NAME": f"coins-{name}-sandbox",
                "GUNICORN_WORKERS": "2",
                "GUNICORN_THREADS": "16",
            },
            kafka_client=False,
        )
        for name, port in ports.items()
    ]


def process_specs(ports: dict[str, int], host: str = "127.0.0.1") -> list[ProcessSpec]:
    py = sys.executable
    specs = []
    for service in SERVICES:
        specs.append(
            ProcessSpec(
                f"{service}-web",
                service,
                [
                    py,
                    "-m",
                    "gunicorn",
                    "-c",
                    "python:shared.http.gunicorn_conf",
                    f"services.{service}.entrypoints.wsgi:create_app()",
                ],
                {"GUNICORN_BIND": f"{host}:{ports[service]}", "GUNICORN_PROC_NAME": f"coins-{service}"},
            )
        )
        specs.append(ProcessSpec(f"{service}-relay", service, [py, "-m", f"services.{service}.entrypoints.relay"]))
    specs.append(ProcessSpec("purchase-reconciler", "purchase", [py, "-m", "services.purchase.entrypoints.reconciler"]))
    specs.append(ProcessSpec("gifting-consumer", "gifting", [py, "-m", "services.gifting.entrypoints.consumer"]))
    specs.append(ProcessSpec("payout-consumer", "payout", [py, "-m", "services.payout.entrypoints.consumer"]))
    specs.append(ProcessSpec("payout-worker", "payout", [py, "-m", "services.payout.entrypoints.payout_worker"]))
    return specs


class Stack:
    def __init__(
        self,
        *,
        var_dir: Path,
        ports: dict[str, int] | None = None,
        env: dict[str, str] | None = None,
        host: str = "127.0.0.1",
        broker=None,
        broker_port: int = 9092,
        restart: bool = True,
        sandbox_ports: dict[str, int] | None = None,
        probe_ports: dict[str, int] | None = None,
    ):
        """`broker`: a started broker to share (not stopped here); else KAFKA_BOOTSTRAP_SERVERS in
        `env` names an external one; else the stack starts an Apache Kafka broker of its own.
        `sandbox_ports`: where the sandbox processors listen (default DEFAULT_SANDBOX_PORTS)."""
        self.var_dir = var_dir.resolve()
        self.ports = ports or dict(DEFAULT_PORTS)
        self.env = process_environ() if env is None else dict(env)
        # A sandbox is started unless its service is pointed at a processor already.
        self.sandbox_ports = {
            name: port
            for name, port in (sandbox_ports or DEFAULT_SANDBOX_PORTS).items()
            if not self.env.get(f"{SANDBOXES[name].upper()}_PROCESSOR_URL")
        }
        for name, port in self.sandbox_ports.items():
            self.env[f"{SANDBOXES[name].upper()}_PROCESSOR_URL"] = f"http://{host}:{port}"
        self.host = host
        self.broker = broker
        self.owns_broker = broker is None and not self.env.get("KAFKA_BOOTSTRAP_SERVERS")
        if self.owns_broker:
            self.broker = ApacheKafka(self.var_dir / "broker", port=broker_port)
        self.restart = restart
        self.procs: dict[str, subprocess.Popen] = {}
        self.specs = {
            spec.name: spec for spec in sandbox_specs(self.sandbox_ports, host) + process_specs(self.ports, host)
        }
        # A relay, consumer or worker given a port here serves its own /metrics and probes on it.
        self.probe_ports = dict(probe_ports or {})
        for name, port in self.probe_ports.items():
            self.specs[name].env.update(METRICS_PORT=str(port), METRICS_HOST=host)
        self.restarts: dict[str, int] = {}
        self._started: dict[str, float] = {}
        self._quick_deaths: dict[str, int] = {}
        self._due: dict[str, float] = {}

    # -- setup ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        self.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.var_dir.chmod(0o700)  # birth dates, payout accounts, keys, the broker's passwords
        (self.var_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.env.setdefault("COINS_VAR_DIR", str(self.var_dir))
        self.env.setdefault("COINS_ENV", "local")
        if not self.env.get("COINS_AUTH_KEYS_DIR"):
            self.env["COINS_AUTH_KEYS_DIR"] = str(ensure_local_keys(self.var_dir))
        if self.owns_broker:
            self.broker.start()
        self.setup_broker()
        for service in SERVICES:
            url = database_url(service, self.env)
            ensure_database(url)
            upgrade(service, url)

    def setup_broker(self) -> None:
        """Topics (and, on a broker with ACLs, each service's rights) for this stack's prefix."""
        admin = self.kafka_admin()
        ensure_topics(admin, TopicPolicy(partitions=int(self.env.get("KAFKA_PARTITIONS", "6"))), timeout_s=60)
        if self.broker is not None and self.broker.secured:
            apply_acls(admin, platform_acls(topic_prefix=admin.topic_prefix))

    def kafka_admin(self):
        """KafkaSettings for tools and tests: the admin principal where the stack's broker has one."""
        if self.broker is None:
            return kafka_settings(self.env)
        return self.broker.settings("admin", topic_prefix=self.env.get("KAFKA_TOPIC_PREFIX", ""))

    def _env_for(self, spec: ProcessSpec) -> dict[str, str]:
        metrics_dir = self.var_dir / "metrics" / spec.service
        broker_env = self.broker.client_env(spec.service) if self.broker is not None and spec.kafka_client else {}
        return {
            **self.env,
            **broker_env,
            **spec.env,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "PYTHONUNBUFFERED": "1",
        }

    def start_process(self, name: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        spec = self.specs[name]
        log_file = open(self.var_dir / "logs" / f"{name}.log", "ab")
        proc = subprocess.Popen(
            spec.argv,
            env={**self._env_for(spec), **(extra_env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
            start_new_session=True,
        )
        log_file.close()
        self.procs[name] = proc
        self._started[name] = time.monotonic()
        return proc

    def start(self) -> None:
        self.prepare()
        for service in SERVICES:
            metrics_dir = self.var_dir / "metrics" / service
            shutil.rmtree(metrics_dir, ignore_errors=True)
            metrics_dir.mkdir(parents=True)
        for name in self.specs:
            self.start_process(name)

    def stop_process(self, name: str, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> int:
        """Stop one process (SIGKILL for a crash); returns its exit code."""
        proc = self.procs.pop(name)
        _signal(proc, sig)
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _signal(proc, signal.SIGKILL)
            return proc.wait()

    def restart_process(self, name: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        if name in self.procs:
            self.stop_process(name)
        return self.start_process(name, extra_env)

    def add_process(self, name: str, like: str) -> subprocess.Popen:
        """Start another copy of a process (e.g. a second consumer in the same group)."""
        env = {k: v for k, v in self.specs[like].env.items() if k != "METRICS_PORT"}  # the port is the first's
        self.specs[name] = replace(self.specs[like], name=name, env=env)
        return self.start_process(name)

    def restart_broker(self, *, lose_data: bool = False) -> None:
        """Kill the stack's broker and start it again on the same port: with its data, or (as
        after a lost disk) empty, with the topics and ACLs made anew."""
        assert self.owns_broker, "the stack does not own its broker"
        if lose_data:
            self.broker.wipe()
        else:
            self.broker.stop(kill=True)
        self.broker.start()
        if lose_data:
            self.setup_broker()

    def url(self, service: str) -> str:
        return f"http://{self.host}:{self.ports[service]}"

    def sandbox_url(self, name: str) -> str:
        return self.env[f"{SANDBOXES[name].upper()}_PROCESSOR_URL"]

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        urls = {
            **{s: self.url(s) for s in SERVICES},
            **{f"{n} sandbox": self.sandbox_url(n) for n in self.sandbox_ports},
        }
        for service, url in urls.items():
            while True:
                self.check_alive()
                try:
                    if requests.get(f"{url}/health/ready", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{service} not ready within {timeout_s:.0f}s; see {self.var_dir}/logs")
                time.sleep(0.2)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None and not self.restart:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.var_dir}/logs/{name}.log")

    # -- supervision -----------------------------------------------------------------------------
    def supervise_once(self) -> list[str]:
        """Restart every process that has died (backing off if it keeps dying); returns their names."""
        restarted = []
        now = time.monotonic()
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                continue
            if name not in self._due:
                quick = now - self._started.get(name, 0) < 10
                self._quick_deaths[name] = self._quick_deaths.get(name, 0) + 1 if quick else 0
                delay = min(2 ** self._quick_deaths[name] - 1, 30) if quick else 0
                self._due[name] = now + delay
                log.warning(
                    "%s exited with %s; restarting in %ds (see %s/logs/%s.log)",
                    name,
                    proc.returncode,
                    delay,
                    self.var_dir,
                    name,
                )
            if now >= self._due[name]:
                del self._due[name]
                self.restarts[name] = self.restarts.get(name, 0) + 1
                self.start_process(name)
                restarted.append(name)
        return restarted

    def stop(self, timeout_s: float = 20.0) -> None:
        for proc in self.procs.values():
            _signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(proc, signal.SIGKILL)
                proc.wait()
        self.procs.clear()
        if self.owns_broker:
            self.broker.stop()


def ensure_database(url: str) -> None:
    """Create a PostgreSQL database named in `url` if it does not exist (local stack only)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(normalise_url(url))
    if not parsed.drivername.startswith("postgresql"):
        return
    import psycopg

    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{parsed.database}"')
            log.info("created database %s", parsed.database)


_signal = signal_group  # the process and its children (gunicorn workers)


def run_stack() -> int:
    """`make run`: start everything, print where it is, supervise until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = stack_settings()
    stack = Stack(
        var_dir=settings.var_dir,
        ports=settings.ports,
        broker_port=settings.broker_port,
        sandbox_ports=settings.sandbox_ports,
    )
    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.start()
        stack.wait_ready()
        _banner(stack)
        while not stopping:
            stack.supervise_once()
            time.sleep(0.5)
    finally:
        print("\nstopping the stack ...", flush=True)
        stack.stop()
        print("stopped.", flush=True)
    return 0


def _banner(stack: Stack) -> None:
    lines = ["", "The coins platform is running:"]
    for service in SERVICES:
        lines.append(f"  {service:<9} {stack.url(service)}   (API docs: {stack.url(service)}/docs)")
    for name in stack.sandbox_ports:
        lines.append(f"  {name + ' sandbox':<9} {stack.sandbox_url(name)}   (scripted behaviours: README)")
    broker = stack.broker.bootstrap if stack.broker else stack.env["KAFKA_BOOTSTRAP_SERVERS"]
    kind = "SCRAM principals per service, ACLs; admin credentials in var/broker/broker.json"
    lines += [
        f"  broker    {broker}   ({kind if stack.broker else 'external'})",
        f"  data      {stack.var_dir}   logs: {stack.var_dir}/logs/",
        "",
        "A token and a first call (a token is for one service: --service names it):",
        "  TOKEN=$(.venv/bin/coinsctl token --caller gateway --service purchase)    (or: make token SERVICE=purchase)",
        f'  curl -H "Authorization: Bearer $TOKEN" "{stack.url("purchase")}/v1/packages?country=US"',
        "",
        "Ctrl-C stops everything.",
    ]
    print("\n".join(lines), flush=True)
