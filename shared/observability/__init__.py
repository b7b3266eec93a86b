"""What a process tells the people who run it: Prometheus metrics (`metrics`), the money flow as
metrics (`volume`), JSON logs (`logs`), and OpenTelemetry spans, the process's tracer provider and
W3C trace context (`tracing`).

May import: the core modules only.
"""
