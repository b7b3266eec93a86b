"""Who is calling and what may they do: verifying callers' tokens (`verifier`), the callers' keys and
permissions (`keys`, `policy`), and acting on behalf of an end user (`onbehalf`). Minting tokens
is the caller's side and lives in `coinsctl.tokens`.

May import: the core modules and `observability`.
"""
