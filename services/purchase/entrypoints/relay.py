"""The purchase service's outbox relay: `python -m services.purchase.entrypoints.relay`."""

from services.purchase.bootstrap import bootstrap
from shared.runtime.runners import run_relay


def main() -> None:
    svc = bootstrap()
    run_relay(svc.settings.common, svc.engine, svc.tables["outbox"])


if __name__ == "__main__":
    main()
