from conformance.cli import command

command()
