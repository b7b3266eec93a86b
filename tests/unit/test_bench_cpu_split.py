"""The benchmark's CPU split charges each process its CPU time per operation."""

import os
import subprocess
import sys
import time

from bench.load import LoadResult
from bench.system import _cpu_ticks, cpu_split
from tests.support.waiting import wait_until


def test_each_role_is_charged_the_cpu_it_spent_per_operation():
    burner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\ntime.sleep(30)",
        ]
    )
    try:

        def measure():
            started = time.process_time()
            while time.process_time() - started < 0.3:  # the load generator's own work
                pass
            hz = os.sysconf("SC_CLK_TCK")
            wait_until(lambda: _cpu_ticks(burner.pid) >= 0.45 * hz, timeout=20, message="the burner to spend its CPU")
            return LoadResult(concurrency=1, ops=10, errors=0, seconds=1.0)

        result, split = cpu_split({"burner": burner.pid}, measure)
    finally:
        burner.kill()
        burner.wait()
    assert result.ops == 10
    assert 35 <= split["burner"] <= 60  # about 500 ms over 10 operations (less whatever ran before)
    assert 25 <= split["load generator"] <= 60  # about 300 ms over 10
    assert list(split) == sorted(split, key=lambda name: -split[name])
