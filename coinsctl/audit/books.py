"""The auditor's reading: each service's totals and ops-only listings over HTTP (never another
service's database), and the processors' settlement reports through their adapter ports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import requests

from coinsctl.audit.checks import Books
from services.payout.adapters.processor import PayoutProcessor, SandboxPayoutProcessor
from services.purchase.adapters.processor import PaymentProcessor, SandboxCardProcessor
from shared.outbound import OutboundSettings, ReportUnavailable

TIMEOUT_S = 10
MAX_PAGES = 100_000  # a cursor that never ends is a broken report, not a long one


@dataclass(frozen=True)
class Processors:
    """The processors' adapter ports the auditor reads the books of (as the services reach them)."""

    card: PaymentProcessor
    payout: PayoutProcessor


def sandbox_processors(card_url: str, payout_url: str, *, timeout_ms: int = 10_000) -> Processors:
    def settings(url: str) -> OutboundSettings:
        return OutboundSettings(name="sandbox", url=url, service="audit", timeout_ms=timeout_ms, attempts=2)

    return Processors(SandboxCardProcessor(settings(card_url)), SandboxPayoutProcessor(settings(payout_url)))


class Unreadable(Exception):
    """A source the auditor could not read: the audit cannot say whether the books balance."""


class Reader:
    """The services' HTTP APIs, each asked with a token meant for it (`aud`), as caller `ops`."""

    def __init__(self, urls: dict[str, str], token_for: Callable[[str], str]):
        self.urls, self.token_for = urls, token_for
        self.session = requests.Session()

    def get(self, service: str, path: str, params: dict | None = None) -> dict:
        try:
            response = self.session.get(
                self.urls[service] + path,
                params=params,
                headers={"Authorization": f"Bearer {self.token_for(service)}"},
                timeout=TIMEOUT_S,
            )
        except requests.RequestException as exc:
            raise Unreadable(f"{service} {path}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise Unreadable(f"{service} {path}: answered {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise Unreadable(f"{service} {path}: not JSON") from exc

    def totals(self, service: str) -> dict:
        return self.get(service, "/v1/internal/totals")

    def listing(self, service: str, path: str, items: str) -> tuple[list[dict], dict]:
        """Every row of a paged listing, and its first page's other fields (the rules it reports)."""
        rows, cursor, first = [], None, None
        for _ in range(MAX_PAGES):
            page = self.get(service, path, {"cursor": cursor} if cursor else None)
            first = first or page
            if not isinstance(page.get(items), list):
                raise Unreadable(f"{service} {path}: no {items} in the answer")
            rows += page[items]
            cursor = page.get("next_cursor")
            if not cursor:
                return rows, {k: v for k, v in first.items() if k not in (items, "next_cursor")}
        raise Unreadable(f"{service} {path}: more than {MAX_PAGES} pages")


def all_pages(list_page) -> list:
    """Every record of a processor's report, page by page through its adapter."""
    records, cursor = [], None
    for _ in range(MAX_PAGES):
        try:
            page, cursor = list_page(cursor=cursor)
        except ReportUnavailable as exc:
            raise Unreadable(str(exc)) from exc
        records += page
        if not cursor:
            return records
    raise Unreadable(f"more than {MAX_PAGES} report pages")


def read_totals(reader: Reader) -> tuple[dict[str, dict], dict[str, str]]:
    """Each service's totals, and the services that could not be read (as "totals.<service>": why)."""
    totals, unreadable = {}, {}
    for service in reader.urls:
        try:
            totals[service] = reader.totals(service)
        except Unreadable as exc:
            unreadable[f"totals.{service}"] = str(exc)
    return totals, unreadable


def read_books(
    reader: Reader, processors: Processors | None, *, totals: dict[str, dict], unreadable: dict[str, str]
) -> Books:
    """The processors' books first, then the ledgers: anything at a processor then happened before
    the ledger was read, so its ledger row (written before the call) is there to be found."""
    found: dict = {}
    unreadable = dict(unreadable)

    def take(read: Callable[[], dict], *names: str) -> None:
        try:
            found.update(read())
        except Unreadable as exc:
            unreadable.update(dict.fromkeys(names, str(exc)))

    if processors is None:
        unreadable.update(dict.fromkeys(("charges", "chargebacks", "payouts"), "no processor given"))
    else:
        take(lambda: {"charges": all_pages(processors.card.list_charges)}, "charges")
        take(lambda: {"chargebacks": all_pages(processors.card.list_chargebacks)}, "chargebacks")
        take(lambda: {"payouts": all_pages(processors.payout.list_payouts)}, "payouts")

    def listing(service: str, path: str, items: str, rules: str | None = None) -> dict:
        rows, meta = reader.listing(service, path, items)
        return {items: rows, **({rules: meta["rules"]} if rules else {})}

    # Credits and clawbacks before purchases: an entry is made after its purchase (or chargeback)
    # settled, so every entry read has its purchase as it settled.
    take(
        lambda: {"credits": reader.listing("gifting", "/v1/internal/coin-entries?kind=purchase", "entries")[0]},
        "credits",
    )
    take(
        lambda: {"clawbacks": reader.listing("gifting", "/v1/internal/coin-entries?kind=chargeback", "entries")[0]},
        "clawbacks",
    )
    take(lambda: listing("purchase", "/v1/internal/purchases", "purchases"), "purchases")
    take(
        lambda: listing("payout", "/v1/internal/withdrawals", "withdrawals", "withdrawal_rules"),
        "withdrawals",
        "withdrawal_rules",
    )
    take(lambda: listing("payout", "/v1/internal/accounts", "accounts"), "accounts")
    # Credits before gifts: a gift is written before its credit, so every credit read has its gift.
    take(lambda: listing("payout", "/v1/internal/earnings", "earnings"), "earnings")
    take(lambda: listing("gifting", "/v1/internal/gifts", "gifts", "gift_rules"), "gifts", "gift_rules")
    return Books(totals=totals, unreadable=unreadable, **found)
