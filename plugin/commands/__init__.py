"""One module per ``stsr`` subcommand; each exposes ``register(subparsers)``.

A command's ``register`` adds its parser and sets ``func`` (``args -> exit code``)
as the parser default. :data:`stsr.plugin.cli.COMMANDS` lists them, and only the
module of the command that runs is imported; adding a command is adding a file and
one line there.
"""
