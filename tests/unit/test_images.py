"""The Dockerfiles' promises that a build on this machine alone would not show: nothing built on
the host goes in (a plain `docker build` on arm64 or another Python gets its own wheels), the
dependency stage is one for every image, the base is pinned, the labels are there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PYTHON_IMAGES = [DEPLOY / "Dockerfile", DEPLOY / "images" / "sandbox.Dockerfile"]


def stages(path: Path) -> list[str]:
    return re.split(r"^FROM ", path.read_text(), flags=re.M)[1:]


@pytest.mark.parametrize("dockerfile", PYTHON_IMAGES, ids=lambda p: p.name)
def test_the_dependencies_are_installed_inside_from_the_hashed_lock(dockerfile):
    text = dockerfile.read_text()
    assert ".wheels" not in text and ".whl" not in text
    build, final = stages(dockerfile)
    assert "--require-hashes" in build and "-r /tmp/build/requirements.lock" in build
    assert "--no-index" not in build  # from the registry, for this image's platform
    assert "ARG SERVICE" not in build  # one stage, cached once, for every image
    assert "COPY --from=build /opt/venv /opt/venv" in final


@pytest.mark.parametrize("dockerfile", PYTHON_IMAGES, ids=lambda p: p.name)
def test_the_base_is_pinned_and_the_image_labelled(dockerfile):
    text = dockerfile.read_text()
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11\.\d+-slim-bookworm$", text, flags=re.M)
    for label in ("title", "version", "revision"):
        assert f"org.opencontainers.image.{label}=" in text
    # the revision changes every commit: its ARG comes after every layer that takes time
    assert text.index("ARG REVISION") > text.index("compileall")


def test_coinsctl_is_on_the_service_images_path():
    final = stages(DEPLOY / "Dockerfile")[1]
    assert "/usr/local/bin/coinsctl" in final and "-m coinsctl" in final and "PYTHONPATH=/app" in final
