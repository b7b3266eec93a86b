"""`coinsctl payouts`: withdrawals held for an operator (listed, released to the queue, or failed
with their diamonds returned) and creators under review, on the payout database
(PAYOUT_DATABASE_URL); each command one service-layer call. Lifting a payout method change's hold
goes through the payout service's API instead (its own permission, recorded with who and why)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import click

from coinsctl.output import json_option, print_rows
from shared.db.engines import StaleRead
from shared.errors import DomainError, keepable
from shared.settings import database_url

T = TypeVar("T")


def _with_uow(action: Callable[..., T], *, one_transaction: bool = True) -> T:
    """`action(uow)` in the command's one transaction, or (not `one_transaction`) owning its own."""
    from contextlib import nullcontext

    from services.payout.service_layer.unit_of_work import SqlAlchemyUnitOfWork
    from shared.db.engines import make_engine
    from shared.messaging.uow import transaction

    engine = make_engine(database_url("payout"), pool_size=1)
    try:
        uow = SqlAlchemyUnitOfWork(engine)
        with transaction(uow) if one_transaction else nullcontext(uow):
            return action(uow)
    except (DomainError, StaleRead) as exc:  # StaleRead: changed meanwhile (a worker, another operator)
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()


def _reason(_ctx, _param, value: str) -> str:
    """A reason recorded as given, never cut or emptied: 1-200 printable characters (what a
    withdrawal keeps of a reason whole: shared.errors.keepable), not only spaces."""
    if not value.strip() or not keepable(value, 200):
        raise click.BadParameter("1-200 printable characters (no control or invisible one), not only spaces.")
    return value


def _line(withdrawal) -> str:
    return json.dumps(_row(withdrawal))


def _row(withdrawal) -> dict:
    return {
        "withdrawal_id": withdrawal.withdrawal_id,
        "creator_id": withdrawal.creator_id,
        "status": withdrawal.status,
        "diamonds": withdrawal.diamonds,
        "net_minor": withdrawal.net_minor,
        "currency": withdrawal.currency,
        "attempts": withdrawal.attempts,
        "held_reason": withdrawal.held_reason,
        "failure_reason": withdrawal.failure_reason,
        "created_at": withdrawal.created_at.isoformat(),
    }


@click.group()
def payouts() -> None:
    """Withdrawals held for review, and creators under review."""


@payouts.command("held")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000), help="At most this many.")
@json_option
def held(limit: int, as_json: bool) -> None:
    """List held withdrawals, oldest first, with why each is held."""
    from services.payout.service_layer.payouts import held_withdrawals

    found = _with_uow(lambda uow: held_withdrawals(uow=uow, limit=limit))
    columns = ("withdrawal_id", "creator_id", "net_minor", "currency", "attempts", "held_reason")
    print_rows([_row(w) for w in found], as_json=as_json, columns=columns, what="held withdrawals")


@payouts.command("release")
@click.argument("withdrawal_id")
def release(withdrawal_id: str) -> None:
    """Put a held withdrawal back in the queue (held again if a rule still forbids paying it)."""
    from services.payout.service_layer.payouts import release_held

    click.echo(_line(_with_uow(lambda uow: release_held(withdrawal_id, uow=uow))))


@payouts.command("fail")
@click.argument("withdrawal_id")
@click.option(
    "--reason", required=True, callback=_reason, help="Why (recorded as its failure reason, 1-200 characters)."
)
@click.option("--processor-url", envvar="PAYOUT_PROCESSOR_URL", default="http://127.0.0.1:8005", show_default=True)
def fail(withdrawal_id: str, reason: str, processor_url: str) -> None:
    """Fail a held withdrawal: its diamonds return to the creator (withdrawal.failed). One sent before
    is failed only if the payout processor answers that it paid nothing."""
    from coinsctl.audit.books import sandbox_processors
    from services.payout.service_layer.payouts import fail_held

    processor = sandbox_processors("", processor_url).payout
    failed = _with_uow(
        lambda uow: fail_held(withdrawal_id, reason=reason, uow=uow, processor=processor), one_transaction=False
    )  # none open while the processor is asked
    click.echo(_line(failed))


@payouts.command("review")
@click.argument("creator_id")
@click.option("--clear", is_flag=True, help="End the review: their withdrawals are paid again.")
def review(creator_id: str, clear: bool) -> None:
    """Put a creator under review: their withdrawals are held, not paid, when their turn comes."""
    from services.payout.service_layer.payouts import set_under_review

    if not _with_uow(lambda uow: set_under_review(creator_id, not clear, uow=uow)):
        raise click.ClickException(f"no creator {creator_id}")
    click.echo(f"{creator_id}: {'review cleared' if clear else 'under review'}")


@payouts.command("lift-hold")
@click.argument("creator_id")
@click.option("--reason", required=True, callback=_reason, help="Why (recorded with the change, 1-200 characters).")
@click.option("--operator", envvar="COINS_OPERATOR", required=True, help="Who asks, recorded too [COINS_OPERATOR].")
@click.option("--payout-url", envvar="COINS_AUDIT_PAYOUT_URL", default="http://127.0.0.1:8003", show_default=True)
def lift_hold(creator_id: str, reason: str, operator: str, payout_url: str) -> None:
    """End a payout method change's hold now: the creator's waiting withdrawals are sent at once (held
    for review if the method changed again). Refused when no hold runs. Calls the payout service as
    `ops` (permission payout-holds:lift)."""
    import requests

    from coinsctl.cli import ops_token

    try:
        response = requests.post(
            f"{payout_url}/v1/internal/creators/{creator_id}/payout-method-hold/lift",
            json={"reason": reason, "operator": operator},
            headers={"Authorization": f"Bearer {ops_token('payout')}"},
            timeout=10,
        )
    except requests.RequestException as exc:
        raise click.ClickException(f"payout service unreachable at {payout_url}: {exc}") from exc
    if response.status_code != 200:
        problem = response.json() if "json" in response.headers.get("Content-Type", "") else {}
        raise click.ClickException(f"{response.status_code}: {problem.get('detail', response.text[:200])}")
    lifted = response.json()
    click.echo(json.dumps({"creator_id": creator_id, **lifted}))
