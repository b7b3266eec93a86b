"""The `coinsctl` command."""

from __future__ import annotations

import json
import sys
from datetime import UTC
from pathlib import Path

import click

from coinsctl.output import json_option, print_rows
from coinsctl.payouts import payouts
from shared.credentials import SERVICES
from shared.env import Env
from shared.settings import database_url


def _var_dir() -> Path:
    return Path(Env().str("COINS_VAR_DIR", "var"))


def kafka_settings():
    """The broker the KAFKA_* variables name, else `make run`'s own (coinsctl.settings.ops_kafka_settings)."""
    from coinsctl.settings import ops_kafka_settings

    return ops_kafka_settings(_var_dir())


def _token(caller: str, service: str, ttl: int = 300, kid: str | None = None, **grant) -> str:
    """A token signed with the caller's private key from the local stack's key directory."""
    from coinsctl.keys import local_token
    from shared.auth.tokens import KeyFileError

    try:
        return local_token(_var_dir(), caller, service, ttl_seconds=ttl, kid=kid, **grant)
    except KeyFileError as exc:
        raise click.ClickException(
            f"{exc}: make one with `coinsctl keys new --caller {caller}`, "
            "or start the local stack with `make run` first"
        ) from exc


def ops_token(service: str) -> str:
    """The ops identity's token for a service (the audit's, and the ops commands' that call an API)."""
    return _token("ops", service)


@click.group()
def main() -> None:
    """Operate the coins platform."""


main.add_command(payouts)


@main.command()
@click.option(
    "--caller",
    default="gateway",
    show_default=True,
    help="The calling service the token names (gateway, live, app, processor, ops).",
)
@click.option("--service", type=click.Choice(SERVICES), required=True, help="The service it is for (aud).")
@click.option("--ttl", default=300, show_default=True, help="Seconds until it expires (services allow 900).")
@click.option("--kid", default=None, help="Sign with this key (default: the caller's newest).")
@click.option(
    "--grant-for",
    "user",
    default=None,
    callback=lambda _ctx, _param, user: _named_user(user),
    help="Make a user grant (X-User-Grant) for this user (sub).",
)
@click.option("--to", "party", default="live", show_default=True, help="A grant's caller (azp).")
@click.option("--max-coins", type=click.IntRange(min=1), default=None, help="A gift grant: the most coins it spends.")
@click.option("--creator", default=None, help="A gift grant: the only creator it may go to.")
def token(
    caller: str, service: str, ttl: int, kid: str | None, user: str | None, party: str, max_coins, creator
) -> None:
    """Print a bearer token signed with the caller's local private key (under COINS_VAR_DIR/keys),
    or with --grant-for a single-use user grant (shared.auth.onbehalf), e.g.
    `coinsctl token --service gifting --grant-for ann --to live --max-coins 500`."""
    if user is None:
        if max_coins is not None or creator is not None:
            raise click.UsageError("--max-coins and --creator describe a user grant: add --grant-for USER")
        click.echo(_token(caller, service, ttl, kid))
        return
    limits = {name: value for name, value in (("max_coins", max_coins), ("creator_id", creator)) if value is not None}
    click.echo(_token(caller, service, ttl, kid, subject=user, authorized_party=party, limits=limits))


def _named_user(user: str | None) -> str | None:
    if user is not None and not user.strip():
        raise click.BadParameter("a user id, not an empty one (a grant for nobody would name the issuer)")
    return user


@main.group()
def keys() -> None:
    """Callers' key pairs (under COINS_VAR_DIR/keys: private/ for callers, public/ for services)."""


@keys.command("new")
@click.option("--caller", required=True, help="The caller the key pair belongs to.")
@click.option("--kid", default=None, help="The key id (default: caller and UTC time).")
def keys_new(caller: str, kid: str | None) -> None:
    """Make an Ed25519 key pair for a caller; the services pick up its public key without restart."""
    from coinsctl.keys import key_dirs
    from shared.auth.tokens import KeyFileError, generate_key_pair

    private_dir, public_dir = key_dirs(_var_dir())
    try:
        kid = generate_key_pair(private_dir, public_dir, caller, kid)
    except (KeyFileError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        json.dumps(
            {
                "caller": caller,
                "kid": kid,
                "private_key": str(private_dir / caller / f"{kid}.pem"),
                "public_key": str(public_dir / caller / f"{kid}.pem"),
            }
        )
    )


@keys.command("list")
@json_option
def keys_list(as_json: bool) -> None:
    """The key pairs under COINS_VAR_DIR/keys: each caller's kids, and which have their private half here."""
    from coinsctl.keys import key_dirs

    private_dir, public_dir = key_dirs(_var_dir())
    rows = []
    for public in sorted(public_dir.glob("*/*.pem")) if public_dir.is_dir() else ():
        caller, kid = public.parent.name, public.stem
        rows.append({"caller": caller, "kid": kid, "private_key": (private_dir / caller / f"{kid}.pem").is_file()})
    print_rows(rows, as_json=as_json, columns=("caller", "kid", "private_key"), what="keys")


@keys.command("retire")
@click.argument("kid")
def keys_retire(kid: str) -> None:
    """Retire a key: remove its public half, so the services refuse its tokens (within a second),
    and set its private half here aside (`<kid>.pem.retired`), so this machine signs with the
    caller's newest key still live."""
    from coinsctl.keys import key_dirs
    from shared.auth.tokens import KID_RE

    if not KID_RE.fullmatch(kid):  # exactly one kid: never a pattern, never a path
        raise click.BadParameter("a key id is letters, digits, '.', '_' and '-', starting with a letter or digit")
    private_dir, public_dir = key_dirs(_var_dir())
    found = [d / f"{kid}.pem" for d in public_dir.iterdir() if d.is_dir() and (d / f"{kid}.pem").is_file()]
    if not found:
        raise click.ClickException(f"no public key {kid!r} under {public_dir}")
    for path in found:
        path.unlink()
    for caller_dir in private_dir.iterdir() if private_dir.is_dir() else ():
        if (caller_dir / f"{kid}.pem").is_file():
            (caller_dir / f"{kid}.pem").rename(caller_dir / f"{kid}.pem.retired")
    click.echo(f"retired {kid}")


@main.command()
@click.argument("service", type=click.Choice(SERVICES + ("all",)))
def migrate(service: str) -> None:
    """Migrate a service's database (from <SERVICE>_DATABASE_URL) to the latest schema."""
    from shared.db.migrate import upgrade

    for name in SERVICES if service == "all" else (service,):
        upgrade(name, database_url(name))
        click.echo(f"{name}: migrated")


@main.command()
@click.option("--partitions", envvar="KAFKA_PARTITIONS", default=6, show_default=True)
@click.option("--replication", envvar="KAFKA_REPLICATION", default=1, show_default=True)
@click.option(
    "--acls/--no-acls",
    envvar="KAFKA_APPLY_ACLS",
    default=False,
    show_default=True,
    help="Also grant each service's principal its rights (needs a super user's KAFKA_SASL_*).",
)
def topics(partitions: int, replication: int, acls: bool) -> None:
    """Create every topic and dead-letter topic (from KAFKA_BOOTSTRAP_SERVERS), with their ACLs."""
    from shared.kafka.admin import TopicPolicy, ensure_topics

    settings = kafka_settings()
    policy = TopicPolicy.of(settings, partitions=partitions, replication=replication)
    created = ensure_topics(settings, policy, timeout_s=120)
    click.echo(f"created {len(created)} topics" + (f": {', '.join(created)}" if created else ""))
    if acls:
        from coinsctl.kafka_acls import apply_acls, platform_acls

        granted = platform_acls(topic_prefix=settings.topic_prefix)
        apply_acls(settings, granted)
        click.echo(f"granted {len(granted)} ACLs to the purchase, gifting and payout principals")


@main.command()
@click.option("--service", type=click.Choice(SERVICES), required=True)
@json_option
def lag(service: str, as_json: bool) -> None:
    """Records each partition of SERVICE's consumer group has not committed (exact on Apache Kafka)."""
    from shared.kafka.admin import consumed_topics, consumer_lag

    group = Env().str(f"{service.upper()}_CONSUMER_GROUP", f"{service}-consumer")
    found = sorted(consumer_lag(kafka_settings(), group, consumed_topics(service)).items())
    rows = [{"group": group, "topic": tp.topic, "partition": tp.partition, "lag": behind} for tp, behind in found]
    print_rows(rows, as_json=as_json, columns=("group", "topic", "partition", "lag"), what="partitions")


@main.command()
def stack() -> None:
    """Run the whole platform locally (what `make run` does)."""
    from coinsctl.stack import run_stack

    sys.exit(run_stack())


@main.command()
@click.option("--purchase-url", envvar="COINS_AUDIT_PURCHASE_URL", default="http://127.0.0.1:8001", show_default=True)
@click.option("--gifting-url", envvar="COINS_AUDIT_GIFTING_URL", default="http://127.0.0.1:8002", show_default=True)
@click.option("--payout-url", envvar="COINS_AUDIT_PAYOUT_URL", default="http://127.0.0.1:8003", show_default=True)
@click.option(
    "--card-processor-url", envvar="PURCHASE_PROCESSOR_URL", default="http://127.0.0.1:8004", show_default=True
)
@click.option(
    "--payout-processor-url", envvar="PAYOUT_PROCESSOR_URL", default="http://127.0.0.1:8005", show_default=True
)
@click.option("--wait", default=60.0, show_default=True, help="Seconds to wait for consumers to catch up.")
@click.option("--json", "as_json", is_flag=True, help="Print the totals and every check's result as JSON.")
@click.option(
    "--pushgateway",
    envvar="COINS_AUDIT_PUSHGATEWAY",
    help="Push the outcome to this Prometheus Pushgateway (host:port) for the audit alerts.",
)
def audit(
    purchase_url: str,
    gifting_url: str,
    payout_url: str,
    card_processor_url: str,
    payout_processor_url: str,
    wait: float,
    as_json: bool,
    pushgateway: str | None,
) -> None:
    """Do the books balance? The three services' ledgers against each other, the rules and the
    processors' books. Exit 0: they balance; 1: they do not (each mismatch named); 2: a service or
    processor could not be read. Each URL may come from its variable instead (COINS_AUDIT_PURCHASE_URL,
    COINS_AUDIT_GIFTING_URL, COINS_AUDIT_PAYOUT_URL, PURCHASE_PROCESSOR_URL, PAYOUT_PROCESSOR_URL)."""
    from dataclasses import asdict

    from coinsctl.audit import audit as run_audit
    from coinsctl.audit import push_result, sandbox_processors

    report = run_audit(
        {"purchase": purchase_url, "gifting": gifting_url, "payout": payout_url},
        ops_token,
        processors=sandbox_processors(card_processor_url, payout_processor_url),
        wait_s=wait,
    )
    pushed = None
    if pushgateway:
        try:
            push_result(report, pushgateway)
        except OSError as exc:  # urllib's URLError too: the books were checked, the alerts will not know
            pushed = f"could not push the outcome to the Pushgateway at {pushgateway}: {exc}"
    if as_json:
        checks = [asdict(r) for r in report.results]
        click.echo(
            json.dumps({"totals": report.totals, "under_traffic": report.under_traffic, "checks": checks}, indent=2)
        )
    else:
        for result in report.results:
            click.echo(f"{result.status:<9} {result.name}")
            for problem in result.problems:
                click.echo(f"          {problem}")
    if report.under_traffic:
        click.echo("audit: events kept coming through the wait: the flows between services were checked item by item")
    verdict = {0: "the books balance", 1: "the books do not balance", 2: "could not check everything"}
    click.echo(f"audit: {verdict[report.exit_code]}", err=report.exit_code != 0)
    if pushed:
        click.echo(f"audit: {pushed}", err=True)
    sys.exit(report.exit_code or (2 if pushed else 0))


@main.command()
@click.argument("service", type=click.Choice(SERVICES + ("all",)))
@click.option(
    "--outbox-hours",
    type=int,
    help="Published outbox rows written longer ago than this go [RETENTION_OUTBOX_HOURS, 168].",
)
@click.option("--inbox-hours", type=int, help="Inbox rows older than this go [RETENTION_INBOX_HOURS, 2160].")
@click.option("--key-hours", type=int, help="Idempotency keys older than this go [RETENTION_IDEMPOTENCY_HOURS, 72].")
@click.option("--batch-size", default=5000, show_default=True, help="Rows deleted per transaction.")
def prune(service: str, outbox_hours, inbox_hours, key_hours, batch_size: int) -> None:
    """Delete published outbox rows, inbox rows and idempotency keys past their windows (the
    auditor's per-topic counts are kept)."""
    from coinsctl.retention import prune_service
    from shared.db.retention import RetentionError
    from shared.settings import retention_windows

    try:
        windows = retention_windows(outbox=outbox_hours, inbox=inbox_hours, idempotency_keys=key_hours)
    except RetentionError as exc:
        raise click.BadParameter(str(exc)) from exc
    for name in SERVICES if service == "all" else (service,):
        pruned = prune_service(name, database_url(name), windows, batch_size=batch_size)
        click.echo(
            json.dumps(
                {
                    "service": name,
                    "outbox_rows": pruned.outbox,
                    "inbox_rows": pruned.inbox,
                    "idempotency_keys": pruned.idempotency_keys,
                    "used_grants": pruned.used_grants,
                }
            )
        )


@main.group()
def dlq() -> None:
    """Dead-lettered messages: list and replay."""


@dlq.command("list")
@click.option("--topic", "topics", multiple=True, help="Only this topic's dead letters (e.g. gift.sent.v1).")
@click.option("--all", "include_resolved", is_flag=True, help="Also those already replayed or resolved.")
@json_option
def dlq_list(topics: tuple[str, ...], include_resolved: bool, as_json: bool) -> None:
    """Print the unresolved dead letters: where each failed, why, and its event id."""
    from coinsctl.recovery import dead_letters

    letters = dead_letters(kafka_settings(), list(topics) or None, include_resolved=include_resolved)
    rows = [
        {
            "topic": letter.topic,
            "partition": letter.partition,
            "offset": letter.offset,
            "event_id": letter.event_id,
            "reason": letter.header("dlq.reason"),
            "error": letter.header("dlq.error")[:500],
            "failed_at": letter.header("dlq.failed_at"),
            "resolved_at": letter.resolved_at,
        }
        for letter in letters
    ]
    if not as_json:  # a line each: the error's first line only
        rows = [{**row, "error": row["error"].splitlines()[0][:160] if row["error"] else None} for row in rows]
    columns = ("topic", "partition", "offset", "event_id", "reason", "failed_at", "resolved_at", "error")
    print_rows(rows, as_json=as_json, columns=columns, what="dead letters")


@dlq.command("replay")
@click.option("--topic", "topics", multiple=True, help="Only this topic's dead letters.")
@click.option("--event-id", "event_ids", multiple=True, help="Only these events (default: all).")
def dlq_replay(topics: tuple[str, ...], event_ids: tuple[str, ...]) -> None:
    """Send dead letters back to their topic, after the cause was fixed (consumers dedupe). Only a
    letter whose original record is still on its topic, byte for byte, is replayed; the others are
    refused (named, with the reason; exit status 1) and stay listed."""
    from coinsctl.recovery import replay

    outcome = replay(kafka_settings(), _letters(topics, event_ids))
    for refused in outcome.refused:
        letter = refused.letter
        click.echo(
            json.dumps(
                {
                    "refused": refused.reason,
                    "topic": letter.topic,
                    "partition": letter.partition,
                    "offset": letter.offset,
                    "event_id": letter.event_id,
                }
            )
        )
    click.echo(f"replayed {len(outcome.replayed)} dead letters, refused {len(outcome.refused)}")
    if outcome.refused:
        sys.exit(1)


@dlq.command("resolve")
@click.option("--topic", "topics", multiple=True, help="Only this topic's dead letters.")
@click.option("--event-id", "event_ids", multiple=True, required=True, help="The events to mark resolved.")
def dlq_resolve(topics: tuple[str, ...], event_ids: tuple[str, ...]) -> None:
    """Mark dead letters resolved without replaying them (e.g. a malformed message to discard)."""
    from coinsctl.recovery import resolve

    click.echo(f"resolved {resolve(kafka_settings(), _letters(topics, event_ids))} dead letters")


def _letters(topics: tuple[str, ...], event_ids: tuple[str, ...]) -> list:
    from coinsctl.recovery import dead_letters

    return [d for d in dead_letters(kafka_settings(), list(topics) or None) if not event_ids or d.event_id in event_ids]


@main.group()
def outbox() -> None:
    """A service's outbox."""


@outbox.command("republish")
@click.argument("service", type=click.Choice(SERVICES))
@click.option(
    "--since",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    help="Re-publish events written or published at or after this time (UTC unless an offset is given).",
)
def outbox_republish(service: str, since) -> None:
    """Publish a service's events again from a point in time (e.g. after the broker lost its data)."""

    from coinsctl.recovery import RepublishRefused, republish

    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    try:
        queued = republish(service, database_url(service), since)
    except RepublishRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{service}: {queued} events queued for re-publication")


_CONNECT_URL = click.option(
    "--connect-url", envvar="COINS_CONNECT_URL", help="Kafka Connect's REST API (registers or removes the connector)."
)


@outbox.command("cdc-on")
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--cdc-user", envvar="COINS_CDC_USER", default="coins_cdc", show_default=True, help="Debezium's role.")
@click.option("--cdc-password", envvar="COINS_CDC_PASSWORD", default="", help="Its password (COINS_CDC_PASSWORD).")
@_CONNECT_URL
def outbox_cdc_on(service: str, cdc_user: str, cdc_password: str, connect_url: str | None) -> None:
    """Move a running service's outbox from its relay to Debezium: exact, no event lost or sent twice."""
    from importlib import import_module

    from coinsctl import cdc
    from coinsctl.connect_worker import ConnectRest
    from shared.kafka.clients import make_producer

    url, kafka = database_url(service), kafka_settings()
    cdc.prepare(url, cdc_user)
    connector = cdc.connector_config(
        service, url, user=cdc_user, password=cdc_password, topic_prefix=kafka.topic_prefix
    )
    producer = make_producer(kafka, client_id=f"{service}-cdc-switch")
    try:
        switched = cdc.to_cdc(
            service,
            url,
            import_module(f"services.{service}.adapters.orm").tables["outbox"],
            producer,
            kafka.topic,
            rest=ConnectRest(connect_url) if connect_url else None,
            connector=connector,
        )
    finally:
        producer.close(timeout=10)
    click.echo(
        f"{service}: CDC publishes from {switched.start_lsn} (slot {switched.slot}); "
        f"{switched.published_by_switch} earlier events sent by the switch"
        + ("" if connect_url else "; register the connector: coinsctl outbox cdc-connector")
    )


@outbox.command("cdc-connector")
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--cdc-user", envvar="COINS_CDC_USER", default="coins_cdc", show_default=True)
def outbox_cdc_connector(service: str, cdc_user: str) -> None:
    """Print the connector's configuration (JSON for PUT /connectors/coins-outbox-SERVICE/config);
    the password is left for the operator (or a Connect config provider) to fill in."""
    from coinsctl import cdc

    config = cdc.connector_config(
        service, database_url(service), user=cdc_user, topic_prefix=kafka_settings().topic_prefix
    )
    click.echo(json.dumps(config, indent=2))


@outbox.command("cdc-acls")
@click.option("--services", default="purchase,gifting,payout", show_default=True, help="Whose outboxes CDC publishes.")
@click.option("--user", default="connect", show_default=True, help="Kafka Connect's principal.")
def outbox_cdc_acls(services: str, user: str) -> None:
    """Grant Kafka Connect's principal its worker group, its internal topics and the named services'
    topics (run with the admin's KAFKA_* variables)."""
    from coinsctl.kafka_acls import apply_acls, connect_acls

    kafka = kafka_settings()
    chosen = tuple(s for s in services.split(",") if s)
    apply_acls(kafka, connect_acls(chosen, topic_prefix=kafka.topic_prefix, user=user))
    click.echo(f"{user}: may publish the outboxes of {', '.join(chosen)}")


@outbox.command("cdc-mark")
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--wait", "wait_s", default=30.0, show_default=True, help="Seconds to wait for the slot to confirm.")
def outbox_cdc_mark(service: str, wait_s: float) -> None:
    """Under CDC: mark published what Debezium has streamed and the slot confirmed (then `prune` as usual)."""
    from coinsctl import cdc

    marked = cdc.mark_streamed(database_url(service), service, timeout_s=wait_s)
    if marked is None:
        raise click.ClickException(f"{service}: the slot did not confirm within {wait_s:.0f}s; nothing marked")
    click.echo(f"{service}: {marked} events marked published")


@outbox.command("cdc-off")
@click.argument("service", type=click.Choice(SERVICES))
@_CONNECT_URL
def outbox_cdc_off(service: str, connect_url: str | None) -> None:
    """Move the outbox back to the relay: at least once (what Debezium sent after the last confirmed
    mark is sent again; the consumers' inboxes absorb it)."""
    from coinsctl import cdc
    from coinsctl.connect_worker import ConnectRest

    marked = cdc.to_relay(service, database_url(service), rest=ConnectRest(connect_url) if connect_url else None)
    click.echo(f"{service}: the relay publishes again ({marked} streamed events marked first)")


@main.command()
@click.argument("service", type=click.Choice(("gifting", "payout")))
def rewind(service: str) -> None:
    """Replay everything: set SERVICE's (stopped) consumer group back to the earliest offsets."""
    from coinsctl.recovery import rewind_group

    handlers = {"gifting": ("purchase.completed.v1", "purchase.reversed.v1"), "payout": ("gift.sent.v1",)}[service]
    group = Env().str(f"{service.upper()}_CONSUMER_GROUP", f"{service}-consumer")
    from kafka.errors import CommitFailedError

    try:
        rewound = rewind_group(kafka_settings(), group, list(handlers))
    except CommitFailedError as exc:
        raise click.ClickException(f"{group} has running members: stop {service}'s consumers first ({exc})") from exc
    click.echo(f"{group}: rewound {rewound} partitions")


@main.command()
@click.option("--out", default="docs/events", show_default=True, type=click.Path(file_okay=False))
def contracts(out: str) -> None:
    """Write the event contracts as JSON Schema files and an AsyncAPI document."""
    from coinsctl.event_docs import documents

    Path(out).mkdir(parents=True, exist_ok=True)
    for name, document in documents().items():
        (Path(out) / name).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        click.echo(f"wrote {Path(out) / name}")


@main.command()
@click.option("--out", default="docs/openapi", show_default=True, type=click.Path(file_okay=False))
def openapi(out: str) -> None:
    """Write each service's OpenAPI document (what it serves at /openapi.json) as <service>.json."""
    from coinsctl.api_docs import documents

    Path(out).mkdir(parents=True, exist_ok=True)
    for name, document in documents().items():
        (Path(out) / name).write_text(json.dumps(document, indent=2) + "\n")
        click.echo(f"wrote {Path(out) / name}")


@main.group()
def purchases() -> None:
    """Purchases held for review: the card processor's answer did not match the charge asked for."""


@purchases.command("held")
@json_option
def purchases_held(as_json: bool) -> None:
    """Print the held purchases, oldest first, with why each was held (from PURCHASE_DATABASE_URL)."""
    from coinsctl import purchases as held_purchases

    found = [held_purchases.as_json(p) for p in held_purchases.held(database_url("purchase"))]
    columns = ("purchase_id", "user_id", "coins", "amount_minor", "currency", "hold_reason")
    print_rows(found, as_json=as_json, columns=columns, what="held purchases")


@purchases.command("resolve")
@click.argument("purchase_id")
@click.option("--complete", "verdict", flag_value="complete", help="Credit the coins (the charge is as asked).")
@click.option("--decline", "verdict", flag_value="decline", help="Credit nothing (refund any charge at the processor).")
@click.option(
    "--reference",
    help="With --complete: the charge's reference as the processor shows it, where the purchase holds none "
    "(its answer's could not be kept).",
)
@click.option("--processor-url", envvar="PURCHASE_PROCESSOR_URL", default="http://127.0.0.1:8004", show_default=True)
def purchases_resolve(purchase_id: str, verdict: str | None, reference: str | None, processor_url: str) -> None:
    """Resolve a held purchase after checking it at the processor: --complete or --decline. It is
    completed only if the card processor, asked now, holds a settled charge of its amount."""
    from coinsctl.audit.books import sandbox_processors
    from coinsctl.purchases import as_json, resolve
    from services.purchase.domain.model import DECLINED
    from shared.errors import DomainError

    if verdict is None:
        raise click.UsageError("say --complete or --decline")
    if reference is not None and verdict != "complete":
        raise click.UsageError("--reference goes with --complete")
    processor = sandbox_processors(processor_url, "").card
    try:
        purchase, chargeback = resolve(
            database_url("purchase"),
            purchase_id,
            complete=verdict == "complete",
            reference=reference,
            processor=processor,
        )
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    shown = as_json(purchase)
    if chargeback is not None:
        shown |= {"chargeback_id": chargeback.chargeback_id, "chargeback_status": chargeback.status}
    click.echo(json.dumps(shown))
    if chargeback is not None and purchase.status == DECLINED:
        click.echo(
            f"note: chargeback {chargeback.chargeback_id} already gave the card holder the money back: "
            "refund nothing by hand",
            err=True,
        )
