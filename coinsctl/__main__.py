"""`python -m coinsctl`: the ops CLI (what the images' `coinsctl` role runs)."""

from coinsctl.cli import main

main()
