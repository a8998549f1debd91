"""``python -m edureport`` runs the command line."""

from edureport.cli.main import main

main()
