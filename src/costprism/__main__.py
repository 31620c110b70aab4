"""``python -m costprism`` runs the CLI."""

from costprism.cli import main

main()
