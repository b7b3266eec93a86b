"""Fault injection for the fault suite: named points in the code where a test can make the
process die (SIGKILL) or stall, to prove nothing is lost or doubled.

Disarmed unless COINS_FAULTS names points, as `point[=action]` separated by commas; actions:
`kill` (default), `sleep:<seconds>`, or `raise:<key>` (fails every time for that key, like a
bug, until the process runs without it). `kill` and `sleep` fire once across all processes that
share COINS_FAULTS_STATE_DIR (a marker file is created atomically), so a restarted process
does not fall into the same fault again.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from shared.env import Env


def _read_armed() -> dict[str, str]:
    armed = {}
    for item in (Env().optional("COINS_FAULTS") or "").split(","):
        if item.strip():
            name, _, action = item.strip().partition("=")
            armed[name] = action or "kill"
    return armed


# The points armed in this process ({point: action}), read once at start: empty in production,
# so a hot path may skip its points with `if faults.ARMED:` and make no call at all.
ARMED: dict[str, str] = _read_armed()


def _claim(name: str) -> bool:
    state = Path(Env().str("COINS_FAULTS_STATE_DIR", "."))
    try:
        fd = os.open(state / f"fault-{name}.fired", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    return True


class InjectedFault(RuntimeError):
    """Raised by a `raise:<key>` point: stands in for a bug that fails one particular input."""


def point(name: str, key: str | None = None) -> None:
    action = ARMED.get(name)
    if action is None:
        return
    if action.startswith("raise:"):  # every time, while armed: a deterministic bug
        if key == action.split(":", 1)[1]:
            raise InjectedFault(f"injected fault at {name} for {key}")
        return
    if not _claim(name):
        return
    if action.startswith("sleep:"):
        time.sleep(float(action.split(":", 1)[1]))
    else:
        os.kill(os.getpid(), signal.SIGKILL)
