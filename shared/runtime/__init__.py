"""Running a service's background processes: the relay and consumer entry points, with the
consumer-lag gauge (`runners`), their liveness and readiness (`health`), the probe and metrics
port (`probes`), and running any of them until SIGTERM (`process`).

May import: every other package except `http`.
"""
