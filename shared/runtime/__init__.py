"""Running a service's background processes: the relay and consumer entry points (`runners`), their
liveness and readiness (`health`), the probe and metrics port (`probes`) and the consumer-lag gauge
(`lag`), and running any of them until SIGTERM (`process`); the stall watchdog is the core module
`shared.watchdog`.

May import: every other package except `http`.
"""
