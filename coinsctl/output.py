"""How coinsctl prints a listing: a line per row for people, or with --json one JSON array for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON array (every field) instead.")


def print_rows(rows: Sequence[dict], *, as_json: bool, columns: Sequence[str], what: str) -> None:
    """--json: the rows as one JSON document on stdout, nothing else. Else the named columns, one
    row a line, tab-separated ('-' for none), and the count on stderr."""
    if as_json:
        click.echo(json.dumps(list(rows), indent=2))
        return
    for row in rows:
        click.echo("\t".join("-" if row.get(c) is None else str(row[c]) for c in columns))
    click.echo(f"{len(rows)} {what}", err=True)
