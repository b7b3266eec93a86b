"""What a process tells the people who run it: Prometheus metrics (`metrics`), the money flow as
metrics (`volume`), JSON logs (`logs`), OpenTelemetry spans and W3C trace context (`tracing`) and the
process's tracer provider (`tracer_provider`).

May import: the core modules only.
"""
