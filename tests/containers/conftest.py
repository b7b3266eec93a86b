"""The container tests run the platform as another team would: `coins_platform.testing` from the
installed package (its pytest plugin's `coins_platform` fixture), nothing private to this repo.

Images: the COINS_PLATFORM_* variables (coins_platform/testing/platform.py); missing ones are
built with deploy/build-images.sh (IMAGE_PREFIX/IMAGE_TAG from COINS_PLATFORM_IMAGE_PREFIX/_TAG)
unless COINS_PLATFORM_KAFKA_IMAGE names an image from elsewhere. Fixtures wait on health
endpoints, connections and exit codes, never on fixed sleeps.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from coins_platform.testing import Images

ROOT = Path(__file__).resolve().parents[2]
IMAGES = Images.from_env()
TAG = IMAGES.tag
POSTGRES_IMAGE = IMAGES.all["postgres"]
KAFKA_IMAGE = IMAGES.all["kafka"]


def pytest_collection_modifyitems(items):
    """The Compose tests first: the platform, once started, runs until this package's last test,
    and the two stacks side by side would share these two cores."""
    here = [i for i, item in enumerate(items) if "tests/containers/" in item.nodeid]
    ordered = sorted((items[i] for i in here), key=lambda item: "test_compose.py" not in item.nodeid)
    for i, item in zip(here, ordered, strict=True):
        items[i] = item
        # a stack's start is part of the first test that needs it: minutes on a loaded machine
        item.add_marker(pytest.mark.timeout(900))


@pytest.fixture(scope="session")
def docker_client():
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001 - reported as the skip reason
        pytest.skip(f"no Docker engine answers ({exc}); `make test` starts one when it runs as root")
    missing = [i for i in IMAGES.all.values() if not client.images.list(name=i)]
    if missing and not os.environ.get("COINS_PLATFORM_KAFKA_IMAGE"):
        env = {**os.environ, "IMAGE_PREFIX": IMAGES.prefix, "IMAGE_TAG": IMAGES.tag}
        subprocess.run(["bash", str(ROOT / "deploy" / "build-images.sh")], check=True, cwd=ROOT, env=env)
    return client


@pytest.fixture(scope="package")  # as pyproject.toml's coins_platform_scope: stopped before tests/e2e start
def coins_platform(docker_client, coins_platform):
    """The plugin's fixture (overridden only to check the engine and the images first)."""
    return coins_platform


@pytest.fixture(scope="session")
def coins_platform_options() -> dict:
    """As a consumer configures the plugin: a caller of its own, granted what it needs."""
    return {"policy": {"gifting": {"partner-live": ["catalog:read", "wallets:read", "gifts:send"]}}}
