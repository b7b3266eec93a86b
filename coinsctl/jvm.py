"""How `java` runs for the broker (coinsctl.apache_kafka) and the Kafka Connect worker
(coinsctl.connect_worker): on this machine's JVM, or where there is none on the JVM of the
project's image (coins-kafka, coins-connect: deploy/build-images.sh) with `docker run`.

COINS_JAVA=host|docker|auto (auto, the default: `java` on PATH, else docker). In a container the
process runs on the host's network (it listens on 127.0.0.1 as on the host), its working directory
is bind-mounted at the same path and it runs as the caller's uid:gid: its properties, secrets, data
and log are where, and whose, the code on the host expects. The image's own entrypoint is not used,
only its JVM and jars. Containers get unique names, are removed when they stop, and any still
running when this process exits are removed then.
"""

from __future__ import annotations

import atexit
import os  # the caller's uid and gid, and pid
import shutil
import signal
import subprocess
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from coinsctl.broker import signal_group
from coinsctl.settings import java_settings

REPO = Path(__file__).resolve().parent.parent
LOG4J = "deploy/kafka/log4j2.properties"  # under the repository, and under /opt/coins in the images
IMAGE_ROOT = "/opt/coins"
MODES = ("host", "docker", "auto")
DOCKER_TIMEOUT_S = 60  # every docker CLI call is bounded

_running: set[str] = set()  # names of the containers this process started and has not removed


@dataclass(frozen=True)
class Jars:
    """One program's jars: a classpath on this machine (fetched on first use), or where its image has them."""

    host_classpath: Callable[[], str]
    image: str  # the image's short name: "kafka" -> coins-kafka:latest
    image_dir: str  # /opt/kafka/libs


def mode(environ: Mapping[str, str] | None = None) -> str:
    """ "host" or "docker", by COINS_JAVA (see the module's docstring)."""
    asked = java_settings(environ).java
    if asked not in MODES:
        raise ValueError(f"COINS_JAVA={asked!r}: expected one of {', '.join(MODES)}")
    if asked != "auto":
        return asked
    return "host" if shutil.which("java") else "docker"


def image_name(kind: str, environ: Mapping[str, str] | None = None) -> str:
    """The image of `kind`, named as coins_platform.testing.Images names it (COINS_PLATFORM_* variables)."""
    return java_settings(environ).images[kind]


class Java:
    """Runs one program's Java main classes in `workdir`: one-off (`run`) or one long-lived process
    at a time (`start`, `pause`/`resume`, `stop`), on the host or in a container alike."""

    def __init__(self, jars: Jars, workdir: Path, *, environ: Mapping[str, str] | None = None):
        self.jars, self.workdir = jars, Path(workdir)
        self.mode = mode(environ)
        self.image = image_name(jars.image, environ) if self.mode == "docker" else None
        self.proc: subprocess.Popen | None = None  # the JVM, or the `docker run` client attached to it
        self.container: str | None = None  # the running container's name (docker only)
        self._image_checked = False

    def command(self, main: str, *args: str, jvm: Sequence[str] = (), name: str | None = None) -> list[str]:
        """The command line that runs `main` (a class) with `args`, `jvm` the JVM's options."""
        if self.mode == "host":
            log4j = f"-Dlog4j2.configurationFile={REPO / LOG4J}"
            return ["java", *jvm, log4j, "-cp", self.jars.host_classpath(), main, *args]
        workdir = str(self.workdir)
        return [
            "docker",
            "run",
            "--rm",
            "--no-healthcheck",  # the image's probes its own entrypoint's port, not this process's
            *(["--name", name] if name else []),
            "--label",
            f"coins.java.owner={os.getpid()}",
            "--network",
            "host",
            "--user",
            f"{os.getuid()}:{os.getgid()}",
            "--volume",
            f"{workdir}:{workdir}",
            "--workdir",
            workdir,
            "--entrypoint",
            "java",
            str(self.image),
            *jvm,
            f"-Dlog4j2.configurationFile={IMAGE_ROOT}/{LOG4J}",
            "-cp",
            f"{self.jars.image_dir}/*",
            main,
            *args,
        ]

    def run(self, main: str, *args: str, jvm: Sequence[str] = (), timeout_s: float = 120) -> str:
        """Run `main` to its end and return what it printed (an error if it fails)."""
        name = self._new_name()
        try:
            return subprocess.run(
                self.command(main, *args, jvm=jvm, name=name),
                check=True,
                capture_output=True,
                text=True,
                timeout=timeout_s,
            ).stdout
        finally:
            self._remove(name)  # already gone after a normal exit (--rm); not after a timeout

    def start(self, main: str, *args: str, jvm: Sequence[str] = (), log) -> subprocess.Popen:
        """Start `main` in the background, its output (stdout and stderr) to the file `log`."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"{main} is already running")
        name = self._new_name()
        self.container = name if self.mode == "docker" else None
        self.proc = subprocess.Popen(
            self.command(main, *args, jvm=jvm, name=name),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self.proc

    def pause(self) -> None:
        """Freeze the process: its ports stay open but nothing answers."""
        if self.container:
            self._docker("pause", self.container)
        elif self.proc is not None:
            signal_group(self.proc, signal.SIGSTOP)

    def resume(self) -> None:
        if self.container:
            self._docker("unpause", self.container)
        elif self.proc is not None:
            signal_group(self.proc, signal.SIGCONT)

    def stop(self, *, kill: bool = False, timeout_s: float = 60) -> None:
        """SIGTERM (or SIGKILL: `kill`) and wait for the end; SIGKILL if it takes over `timeout_s`."""
        if self.proc is None:
            return
        self._signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.container:
            self._remove(self.container)
        self.proc, self.container = None, None

    def _signal(self, sig: int) -> None:
        if self.container:  # to the container itself: the client's death would not end it
            self._docker("kill", "--signal", signal.Signals(sig).name.removeprefix("SIG"), self.container, check=False)
        else:
            signal_group(self.proc, sig)

    def _new_name(self) -> str | None:
        if self.mode != "docker":
            return None
        self._check_image()
        name = f"coins-java-{self.jars.image}-{uuid.uuid4().hex[:10]}"
        _running.add(name)
        return name

    def _check_image(self) -> None:
        if self._image_checked:
            return
        if self._docker("image", "inspect", str(self.image), check=False).returncode != 0:
            raise RuntimeError(
                f"no `java` here (COINS_JAVA={self.mode}) and no image {self.image} to run it in: "
                "build it with deploy/build-images.sh (make images), or install a JRE"
            )
        self._image_checked = True

    @staticmethod
    def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], check=check, capture_output=True, text=True, timeout=DOCKER_TIMEOUT_S)

    @classmethod
    def _remove(cls, name: str | None) -> None:
        if name and name in _running:
            cls._docker("rm", "--force", name, check=False)
            _running.discard(name)


@atexit.register
def _remove_leftovers() -> None:
    """Containers still running when this process exits (a test run interrupted, a stop skipped)."""
    if _running:
        subprocess.run(
            ["docker", "rm", "--force", *sorted(_running)], capture_output=True, timeout=DOCKER_TIMEOUT_S, check=False
        )
        _running.clear()
