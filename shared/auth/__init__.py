"""Who is calling and what may they do: callers' tokens and the key pairs they are signed and
verified with (`tokens`), the callers' permissions (`policy`), and acting on behalf of an end user
(`onbehalf`). Minting tokens is the caller's side and lives in `coinsctl.tokens`.

May import: the core modules and `observability`.
"""
