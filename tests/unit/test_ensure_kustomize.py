"""deploy/ensure-kustomize.sh on a machine without kustomize or Go: kubectl's embedded kustomize
behind a `kustomize build` wrapper, else exit 1 saying what to install."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "ensure-kustomize.sh"


def run(tmp_path: Path, *programs: tuple[str, str]) -> subprocess.CompletedProcess:
    """The script with only a shell's basics on PATH, plus `programs` (name, shell script body)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("bash", "sh", "mkdir", "chmod", "cat"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    for name, body in programs:
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env["GO_BIN_DIR"] = str(tmp_path / "no-go")
    return subprocess.run([str(SCRIPT)], capture_output=True, text=True, env=env, timeout=30)


def test_without_kustomize_or_go_it_wraps_kubectls_kustomize(tmp_path):
    found = run(tmp_path, ("kubectl", 'echo "kubectl $*"'))
    assert found.returncode == 0, found.stderr
    wrapper = found.stdout.strip()
    built = subprocess.run(
        [wrapper, "build", "deploy/k8s/overlays/production"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(tmp_path / "bin")},
        timeout=30,
    )
    assert built.stdout.strip() == "kubectl kustomize deploy/k8s/overlays/production"


def test_with_none_of_them_it_says_what_to_install(tmp_path):
    found = run(tmp_path)
    assert found.returncode == 1 and found.stdout == ""
    assert "kustomize is missing" in found.stderr and "kubectl" in found.stderr and "Go 1.22.7" in found.stderr
