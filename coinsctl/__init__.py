"""coinsctl: the operator's command line for the coins platform (tokens, migrations, topics,
the local stack, the auditor)."""
