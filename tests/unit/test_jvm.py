"""How `java` runs for the broker and the Kafka Connect worker (coinsctl.jvm): the command lines on
the host and in a container, and the choice between them. No JVM or Docker engine is started."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from coinsctl import apache_kafka, connect_worker, jvm
from coinsctl.jvm import Jars, Java

JARS = Jars(host_classpath=lambda: "/cache/kafka-jars/*", image="kafka", image_dir="/opt/kafka/libs")


def test_auto_is_the_host_where_java_is_on_path_else_docker(monkeypatch):
    monkeypatch.setattr(jvm.shutil, "which", lambda name: "/usr/bin/java")
    assert jvm.mode({}) == "host"
    assert jvm.mode({"COINS_JAVA": "docker"}) == "docker"
    monkeypatch.setattr(jvm.shutil, "which", lambda name: None)
    assert jvm.mode({"COINS_JAVA": "auto"}) == "docker"
    assert jvm.mode({"COINS_JAVA": "host"}) == "host"
    with pytest.raises(ValueError, match="COINS_JAVA='podman'"):
        jvm.mode({"COINS_JAVA": "podman"})


def test_image_names_follow_the_coins_platform_variables():
    assert jvm.image_name("kafka", {}) == "coins-kafka:latest"
    assert jvm.image_name("connect", {"COINS_PLATFORM_IMAGE_PREFIX": "reg/c", "COINS_PLATFORM_IMAGE_TAG": "1.2"}) == (
        "reg/c-connect:1.2"
    )
    assert (
        jvm.image_name("kafka", {"COINS_PLATFORM_KAFKA_IMAGE": "mine:9", "COINS_PLATFORM_IMAGE_TAG": "x"}) == "mine:9"
    )


def test_on_the_host_java_runs_from_the_fetched_jars(tmp_path):
    java = Java(JARS, tmp_path, environ={"COINS_JAVA": "host"})
    assert java.command("kafka.Kafka", "/w/server.properties", jvm=["-Xmx1g"]) == [
        "java",
        "-Xmx1g",
        f"-Dlog4j2.configurationFile={jvm.REPO / 'deploy/kafka/log4j2.properties'}",
        "-cp",
        "/cache/kafka-jars/*",
        "kafka.Kafka",
        "/w/server.properties",
    ]


def test_in_docker_the_same_main_runs_in_the_image_on_the_host_network_as_the_caller(tmp_path):
    java = Java(JARS, tmp_path, environ={"COINS_JAVA": "docker", "COINS_PLATFORM_IMAGE_TAG": "t1"})
    argv = java.command("kafka.Kafka", f"{tmp_path}/server.properties", jvm=["-Xmx1g"], name="coins-java-kafka-1")
    image_at = argv.index("coins-kafka:t1")
    docker, java_args = argv[:image_at], argv[image_at + 1 :]
    assert docker[:4] == ["docker", "run", "--rm", "--no-healthcheck"]
    options = dict(zip(docker[4::2], docker[5::2], strict=True))
    assert options["--name"] == "coins-java-kafka-1"
    assert options["--network"] == "host"  # listens on 127.0.0.1 as on the host; no bridge here
    assert options["--user"] == f"{os.getuid()}:{os.getgid()}"  # its files are the caller's
    assert options["--volume"] == f"{tmp_path}:{tmp_path}"  # properties, secrets, data, log: same paths
    assert options["--workdir"] == str(tmp_path)
    assert options["--entrypoint"] == "java"  # the image's JVM and jars, not its Python entrypoint
    assert java_args == [
        "-Xmx1g",
        "-Dlog4j2.configurationFile=/opt/coins/deploy/kafka/log4j2.properties",
        "-cp",
        "/opt/kafka/libs/*",
        "kafka.Kafka",
        f"{tmp_path}/server.properties",
    ]


def test_the_broker_and_its_storage_tool_go_through_the_same_runner(tmp_path, monkeypatch):
    monkeypatch.setenv("COINS_JAVA", "docker")
    broker = apache_kafka.ApacheKafka(tmp_path / "broker", port=20001, controller_port=20002)
    ran = []
    monkeypatch.setattr(broker.java, "run", lambda main, *args, jvm=(): ran.append((main, args)) or "uuid-1\n")
    broker.prepare()
    assert [(main, args[0]) for main, args in ran] == [
        ("kafka.tools.StorageTool", "random-uuid"),
        ("kafka.tools.StorageTool", "format"),
    ]
    assert ran[1][1][1:5] == ("-t", "uuid-1", "-c", str(tmp_path / "broker" / "server.properties"))
    argv = broker.command()
    assert argv[:2] == ["docker", "run"] and "coins-kafka:latest" in argv
    assert argv[-2:] == ["kafka.Kafka", str(tmp_path / "broker" / "server.properties")]
    assert f"{tmp_path / 'broker'}:{tmp_path / 'broker'}" in argv


def test_the_connect_worker_runs_in_its_own_image(tmp_path, monkeypatch):
    monkeypatch.setenv("COINS_JAVA", "docker")
    worker = connect_worker.ConnectWorker(tmp_path / "connect", "bootstrap.servers=x\n", 20003)
    argv = worker.command()
    assert "coins-connect:latest" in argv and "/opt/connect/libs/*" in argv
    assert argv[-2:] == [
        "org.apache.kafka.connect.cli.ConnectDistributed",
        str(tmp_path / "connect" / "connect-distributed.properties"),
    ]


class Calls:
    """The docker CLI calls a Java makes, answered as an engine would (the image exists)."""

    def __init__(self, monkeypatch):
        self.made = []
        monkeypatch.setattr(Java, "_docker", staticmethod(lambda *args, check=True: self.made.append(args) or Ok()))


class Ok:
    returncode = 0


class FakeProc:
    """A `docker run` client: it ends once its container is killed."""

    def __init__(self):
        self.returncode = None

    def poll(self):
        return self.returncode

    def wait(self, timeout=None):
        self.returncode = 137
        return 137


def test_in_docker_kill_pause_and_stop_go_to_the_container_by_its_name_and_it_is_removed(tmp_path, monkeypatch):
    calls = Calls(monkeypatch)
    monkeypatch.setattr(jvm.subprocess, "Popen", lambda argv, **kw: FakeProc())
    java = Java(JARS, tmp_path, environ={"COINS_JAVA": "docker"})
    java.start("kafka.Kafka", "p", log=None)
    name = java.container
    assert name.startswith("coins-java-kafka-") and name in jvm._running
    java.pause()
    java.resume()
    java.stop(kill=True)
    assert calls.made == [
        ("image", "inspect", "coins-kafka:latest"),
        ("pause", name),
        ("unpause", name),
        ("kill", "--signal", "KILL", name),
        ("rm", "--force", name),
    ]
    assert java.proc is None and name not in jvm._running
    java.start("kafka.Kafka", "p", log=None)  # a restart: a container of a new name
    second = java.container
    assert second != name
    java.stop()
    assert calls.made[-2:] == [("kill", "--signal", "TERM", second), ("rm", "--force", second)]
    assert not jvm._running


def test_a_missing_image_says_how_to_build_it(tmp_path, monkeypatch):
    class Missing:
        returncode = 1

    monkeypatch.setattr(Java, "_docker", staticmethod(lambda *args, check=True: Missing()))
    java = Java(JARS, tmp_path, environ={"COINS_JAVA": "docker"})
    with pytest.raises(RuntimeError, match="deploy/build-images.sh"):
        java.run("kafka.tools.StorageTool", "random-uuid")


def test_on_the_host_signals_go_to_the_process_group(tmp_path, monkeypatch):
    sent = []
    monkeypatch.setattr(jvm, "signal_group", lambda proc, sig: sent.append(sig))
    monkeypatch.setattr(jvm.subprocess, "Popen", lambda argv, **kw: FakeProc())
    java = Java(JARS, tmp_path, environ={"COINS_JAVA": "host"})
    java.start("kafka.Kafka", "p", log=None)
    assert java.container is None
    java.pause()
    java.resume()
    java.stop()
    assert sent == [signal.SIGSTOP, signal.SIGCONT, signal.SIGTERM]


def test_the_images_carry_the_runner(tmp_path):
    """The images run `python -m coinsctl.apache_kafka` / `connect_worker`, which import it."""
    images = Path(jvm.REPO / "deploy" / "images")
    for dockerfile in ("kafka.Dockerfile", "connect.Dockerfile"):
        assert "coinsctl/jvm.py" in (images / dockerfile).read_text()
