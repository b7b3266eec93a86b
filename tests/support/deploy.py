"""The deploy files as ops apply them: the Kubernetes overlays built by kustomize, the compose
file rendered by `docker compose config` (for tests/unit/test_deploy_manifests.py and
test_least_privilege.py)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("production", "staging")


@functools.cache
def kustomize() -> str | None:
    """A kustomize binary: deploy/ensure-kustomize.sh finds or builds one (make test runs it)."""
    found = subprocess.run([str(DEPLOY / "ensure-kustomize.sh")], capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else None


def build(path: Path) -> list[dict]:
    """`kustomize build path`: the objects ops apply."""
    if kustomize() is None:
        pytest.skip("no kustomize: deploy/ensure-kustomize.sh says what to install (kustomize, Go or kubectl)")
    result = subprocess.run([kustomize(), "build", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@functools.cache
def rendered(overlay: str) -> tuple[dict, ...]:
    return tuple(build(K8S / "overlays" / overlay))


def k8s_objects(overlay: str = "production") -> list[tuple[str, dict]]:
    return [(overlay, obj) for obj in rendered(overlay)]


@functools.cache
def with_cdc(overlay: str = "production") -> tuple[dict, ...]:
    """The overlay with deploy/k8s/components/cdc listed in its `components`, as its comment says
    to enable the CDC path."""
    source = K8S / "overlays" / overlay
    with tempfile.TemporaryDirectory() as tmp:
        here = Path(tmp)
        for part in source.iterdir():
            (here / part.name).write_text(part.read_text())
        kustomization = yaml.safe_load((source / "kustomization.yaml").read_text())
        kustomization["resources"] = [os.path.relpath(source / r, here) for r in kustomization["resources"]]
        kustomization["components"] = [os.path.relpath(source / c, here) for c in kustomization["components"]]
        kustomization["components"].append(os.path.relpath(K8S / "components" / "cdc", here))
        (here / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
        return tuple(build(here))


def all_objects() -> list[tuple[str, dict]]:
    if kustomize() is None:
        return []
    return [pair for overlay in OVERLAYS for pair in k8s_objects(overlay)]


# What deploy/compose-secrets.sh generates into deploy/.env.
PASSWORDS = {
    **{f"KAFKA_{who}_PASSWORD": f"pw-kafka-{who}" for who in ("ADMIN", "PURCHASE", "GIFTING", "PAYOUT", "CONNECT")},
    **{f"{s}_DB_PASSWORD": f"pw-db-{s}" for s in ("PURCHASE", "GIFTING", "PAYOUT")},
    **{f"{s}_DB_ADMIN_PASSWORD": f"pw-db-admin-{s}" for s in ("PURCHASE", "GIFTING", "PAYOUT")},
    "COINS_CDC_PASSWORD": "pw-cdc",
}


def compose_config(*files: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`docker compose config`, the rendered file with every profile's services (the ops one-shots
    too), with the passwords given here (none from a deploy/.env a developer may have generated:
    --env-file names an empty one)."""
    if (
        shutil.which("docker") is None
        or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode
    ):
        pytest.skip("Compose v2 is not installed (`make test` installs it with deploy/ensure-compose.sh)")
    return subprocess.run(
        [
            *("docker", "compose", "--profile", "*", "--env-file", os.devnull),
            *(a for f in files for a in ("-f", str(DEPLOY / f))),
            "config",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "COINS_CALLER_KEYS_DIR": "/tmp", **(PASSWORDS if env is None else env)},
    )
