"""The JSON's `targets` map: each figure of the run against its target, as {ratio, target, met}
(latencies carry milliseconds as `ratio`). `info_*` entries are information, not targets."""

from __future__ import annotations


def targets(r: dict) -> dict:
    """Every target whose figures the run has (a run of some steps, --only, has some)."""
    if not r.get("B_flask"):
        return {}
    best_flask = max(x["rate"] for x in r["B_flask"])
    out = {}
    if "gift_api" in r:
        out.update(_gift_api(r, best_flask))
    if "end_to_end" in r:
        out.update(_end_to_end(r))
    out.update(_batch(r, best_flask))
    out.update(_stored(r))
    if "consumer_backlog" in r:
        pg_c1 = next((x["rate"] for x in r["B_pg"] if x["concurrency"] == 1), r["B_pg"][0]["rate"])
        out["consumer_backlog_vs_B_pg_c1"] = check(r["consumer_backlog"]["rate"] / pg_c1, ">= 3")
        out["consumer_backlog_vs_B_pg_c1"]["events"] = r["consumer_backlog"].get("events")
    out.update(_cdc(r, best_flask))
    if "memory_soak" in r:
        soak = r["memory_soak"]
        worst = max(soak["growth_second_half_mb"].items(), key=lambda kv: kv[1])
        out["memory_bounded"] = {
            "gifts": soak["gifts"],
            "worst_growth_mb": {worst[0]: worst[1]},
            "target": "second-half growth <= max(8 MB, 10%) for every process",
            "met": soak["all_bounded"],
        }
    return out


def check(ratio: float, rule: str, **extra) -> dict:
    op, bound = rule.split()[:2]
    met = ratio >= float(bound) if op == ">=" else ratio <= float(bound)
    return {"ratio": round(ratio, 3), "target": rule, "met": met, **extra}


def info(ratio: float, what: str, **extra) -> dict:
    return {"ratio": round(ratio, 3), "target": f"none (information: {what})", "met": True, **extra}


def _gift_api(r: dict, best_flask: float) -> dict:
    """The single-gift API: the median of the alternating rounds (each gift round right after its
    baseline); a run without them (--pairs 0) falls back on the two sweeps' best rates."""
    best_gift = max(x["rate"] for x in r["gift_api"])
    rounds = r.get("paired") or {}
    paired, paired_hot = rounds.get("median_ratio"), rounds.get("median_hot_ratio")
    in_rounds = f"median of {len(rounds.get('rounds', ()))} alternating rounds"
    out = {
        "gift_api_vs_B_flask": check(
            paired if paired is not None else best_gift / best_flask,
            ">= 0.7",
            measured=in_rounds if paired is not None else "best rates of the two sweeps",
        ),
        "info_gift_api_vs_B_flask_sweeps": info(best_gift / best_flask, "best rates of the two sweeps"),
    }
    if paired_hot is not None or "hot_creator" in r:  # the rounds step's (not run: no hot round)
        out["hot_vs_uniform"] = check(
            paired_hot if paired_hot is not None else r["hot_creator"]["rate"] / best_gift,
            ">= 0.8",
            measured=in_rounds if paired_hot is not None else "a hot round against the sweep's best uniform rate",
        )
    if "gift_api_relays_paused" in r:  # how much of the gap is the pipeline sharing the CPUs
        out["info_gift_api_relays_paused_vs_B_flask"] = info(
            r["gift_api_relays_paused"]["rate"] / best_flask, "web and database alone"
        )
    return out


def _end_to_end(r: dict) -> dict:
    """Gift -> diamonds at half the single-gift API's best rate, in ms; and against the older
    budget (B_kafka p99 + 3 x B_flask p99 at the same client count)."""
    e2e = r["end_to_end"]
    clients = e2e.get("concurrency")
    flask_p99 = next(
        (x["p99_ms"] for x in r["B_flask"] if x["concurrency"] == clients),
        max(r["B_flask"], key=lambda x: x["rate"])["p99_ms"],
    )
    budget = r["B_kafka"]["p99_ms"] + 3 * flask_p99
    return {
        "e2e_p99_ms": check(e2e["p99_ms"], "<= 50", unit="ms"),
        "e2e_p50_ms": check(e2e["p50_ms"], "<= 20", unit="ms"),
        "end_to_end_p99_vs_budget": check(
            e2e["p99_ms"] / budget,
            "<= 1.0",
            budget_ms=round(budget, 1),
            budget=f"B_kafka p99 + 3 x B_flask p99 at c={clients}",
        ),
    }


def _batch(r: dict, best_flask: float) -> dict:
    """The batch API against B_flask at the same client count; the sustained run against B_flask's
    best rate, met only with its lag bounded and not growing."""
    out = {}
    if "batch" in r:
        level = r["batch"]["concurrency"]
        if "median_ratio" in r["batch"]:  # rounds alternating the two (bench.steps `batch`)
            rounds = len(r["batch"]["rounds"])
            out["batch_gifts_vs_B_flask"] = check(
                r["batch"]["median_ratio"],
                ">= 10",
                concurrency=level,
                measured=f"median of {rounds} alternating round{'s' if rounds > 1 else ''}",
            )
        else:
            flask = next((x["rate"] for x in r["B_flask"] if x["concurrency"] == level), best_flask)
            out["batch_gifts_vs_B_flask"] = check(r["batch"]["rate"] / flask, ">= 10", concurrency=level)
        ledger = r.get("B_ledger", {})
        if ledger.get("rate"):
            out["info_batch_gifts_vs_B_ledger"] = info(
                r["batch"]["rate"] / ledger["rate"],
                "gifts/s against a bare SQL ledger's transfers/s on the same PostgreSQL",
                ledger_concurrency=ledger["concurrency"],
            )
    if "sustained" in r:
        out["sustained_e2e_vs_B_flask"] = _sustained(r["sustained"], best_flask, ">= 3")
    return out


def _sustained(s: dict, best_flask: float, rule: str) -> dict:
    entry = check(
        s["rate"] / best_flask,
        rule,
        lag_max=s["lag_max"],
        lag_bounded=s["lag_bounded"],
        lag_not_growing=s["lag_not_growing"],
        seconds=s["seconds"],
        offered_rate=s.get("offered_rate"),
        tries=len(s.get("tries", ())),
    )
    entry["met"] = entry["met"] and s["lag_bounded"] and s["lag_not_growing"]
    return entry


def _stored(r: dict) -> dict:
    if "stored_vs_fresh" not in r:
        return {}
    s = r["stored_vs_fresh"]
    # Each side's median gift/B_flask round: the machine's drift between the sides left out.
    ratio = s["stored"]["ratio"] / s["fresh"]["ratio"] if s["fresh"]["ratio"] else 0.0
    rows = sum(s["seeded"]["rows"].values())
    return {"stored_vs_fresh": check(ratio, ">= 0.9", stored_gifts=s["seeded"]["gifts"], stored_rows=rows)}


def _cdc(r: dict, best_flask: float) -> dict:
    """The same figures with Debezium publishing gifting's outbox: information beside the relay's."""
    if "cdc" not in r:
        return {}
    c = r["cdc"]
    out = {
        "info_cdc_e2e_p99_ms": check(c["end_to_end"]["p99_ms"], "<= 50 (information: as the relay's)", unit="ms"),
        "info_cdc_e2e_p50_ms": check(c["end_to_end"]["p50_ms"], "<= 20 (information: as the relay's)", unit="ms"),
    }
    if "sustained" in c:
        out["info_cdc_sustained_e2e_vs_B_flask"] = _sustained(
            c["sustained"], best_flask, ">= 3 (information: as the relay's)"
        )
    return out
