import click

from imgrestore import hookimpl


@hookimpl
def imgrestore_register_commands(cli):
    @cli.command()
    def hello():
        """Say hello from a plugin."""
        click.echo("hello from a plugin command")
