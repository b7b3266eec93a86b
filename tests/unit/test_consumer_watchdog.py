"""A consumer whose poll never returns (a group join the broker never completes) exits, so that
its supervisor starts a fresh member instead of it sitting silently behind."""

import subprocess
import sys
import textwrap


def test_a_stalled_consumer_exits_to_be_restarted():
    script = textwrap.dedent("""
        import threading
        from shared.messaging.consumer import InboxConsumer

        class StuckConsumer:
            def poll(self, timeout_ms, max_records=None):
                threading.Event().wait()  # never returns, like a join that never completes

        inbox = InboxConsumer(engine=None, inbox=None, consumer=StuckConsumer(), producer=None, handlers={},
                              group="g", service="s", topic_name=str, watchdog_s=0.5)
        inbox.run(threading.Event())
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 70, result.stderr[-2000:]
    assert "consumer stalled" in result.stderr
