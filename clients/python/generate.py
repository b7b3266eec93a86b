"""Regenerate the typed client (package `coins_client`, one subpackage per service) from the
committed OpenAPI documents in docs/openapi, with openapi-python-client (pinned in the dev lock).
Run by `make client`; the output is committed, and tests/integration/test_client.py drives it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[1] / "docs" / "openapi"
SERVICES = ("purchase", "gifting", "payout")


def generate(package_dir: Path = HERE / "coins_client") -> None:
    """Write the subpackages `purchase`, `gifting` and `payout` under `package_dir`."""
    bin_dir = Path(sys.executable).parent  # its post-generation hooks run this venv's ruff
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    for service in SERVICES:
        out = package_dir / service
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run(
            [
                bin_dir / "openapi-python-client",
                "generate",
                "--path",
                DOCS / f"{service}.json",
                "--meta",
                "none",
                "--output-path",
                out,
            ],
            check=True,
            env=env,
            timeout=300,
        )


if __name__ == "__main__":
    generate()
