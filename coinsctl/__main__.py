"""`python -m coinsctl`: the ops CLI (what the images' `coinsctl` command and role run)."""

from coinsctl.cli import main

main(prog_name="coinsctl")
