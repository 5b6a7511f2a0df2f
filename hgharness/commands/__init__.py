"""One module per CLI command: add_arguments(parser) and main(args) -> exit code."""
