"""``python -m edureport`` runs the command line."""

from .cli import main

main()
