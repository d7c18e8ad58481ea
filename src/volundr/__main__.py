"""`python -m volundr` is the `volundr` command."""

from volundr.cli.main import main

main()
