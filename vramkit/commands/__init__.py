"""One module per CLI command (see vramkit.cli.COMMANDS)."""
