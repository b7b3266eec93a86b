"""Gifting's outbox relay: `python -m services.gifting.entrypoints.relay`."""

from services.gifting.bootstrap import bootstrap
from shared.runtime.runners import run_relay


def main() -> None:
    svc = bootstrap()
    run_relay(svc.settings.common, svc.engine, svc.tables["outbox"])


if __name__ == "__main__":
    main()
