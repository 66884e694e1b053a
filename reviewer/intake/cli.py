"""Command-line parsing shared by every management command."""

from django.core.management.base import BaseCommand


def refuse_abbreviations():
    """Every management command - ours and Django's - refuses abbreviated options.

    argparse takes any unique prefix of an option by default, so an option that does not
    exist yet can silently run as another one: ``--mode split`` on a command that only has
    ``--model`` would choose a model named "split". Exact names only."""
    if getattr(BaseCommand.create_parser, "refuses_abbreviations", False):
        return
    original = BaseCommand.create_parser

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = original(self, prog_name, subcommand, **kwargs)
        parser.allow_abbrev = False  # read when arguments are parsed, not when it is built
        return parser

    create_parser.refuses_abbreviations = True
    BaseCommand.create_parser = create_parser
