"""One module per ``stsr`` subcommand; each exposes ``register(subparsers)``.

A command's ``register`` adds its parser and sets ``func`` (``args -> exit code``)
as the parser default. :mod:`plugin.cli` discovers the modules, so adding a
command is adding a file.
"""
