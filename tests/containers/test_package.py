"""`coins_platform.testing` as another team gets it: from the project's wheel, in a fresh venv
with nothing of this repository on sys.path; its pytest plugin registered by the wheel alone.
(No Docker needed: the platform itself is started by the other container tests.)"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.containers


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    """A venv holding the freshly built wheel; its dependencies are this venv's installed ones (a
    .pth line to our site-packages, whose editable-install hooks are not run), not the repo."""
    tmp = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp.glob("coins_platform-*.whl")
    home = tmp / "venv"
    venv.create(home, with_pip=False)
    python = home / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return home


def run(home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(home / "bin" / "python"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )


def test_the_wheel_gives_coins_platform_testing_without_the_repository(fresh_venv, tmp_path):
    done = run(
        fresh_venv,
        "-c",
        textwrap.dedent(
            """
            import sys, coins_platform.testing as t, coinsctl, shared, services.gifting
            assert sys.argv[1] not in sys.path, sys.path  # the repository (passed as the argument)
            for module in (t, coinsctl, shared, services.gifting):
                assert module.__file__.startswith(sys.prefix), module.__file__
            with_images = t.Images.from_env({"COINS_PLATFORM_IMAGE_TAG": "1.2.3"}, prefix="registry.example/coins")
            print(with_images.service("gifting"), with_images.all["postgres"])
            """
        ),
        str(ROOT),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["registry.example/coins-gifting:1.2.3", "registry.example/coins-postgres:15"]


def test_the_wheels_pytest_plugin_offers_the_fixture_and_its_options(fresh_venv, tmp_path):
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.fixture(scope="session")
            def coins_platform_options():
                return {"image_tag": "9.9.9"}
            """
        )
    )
    (tmp_path / "test_consumer.py").write_text(
        textwrap.dedent(
            """
            import coins_platform.testing.pytest_plugin as plugin

            def test_options(request, coins_platform_options):
                assert coins_platform_options == {"image_tag": "9.9.9"}
                assert request.config.pluginmanager.get_plugin("coins_platform") is plugin
            """
        )
    )
    done = run(fresh_venv, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--fixtures", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "coins_platform [session scope]" in done.stdout and "coins_platform_options" in done.stdout
    tested = run(fresh_venv, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_consumer.py", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
