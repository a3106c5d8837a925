"""The `loyalsync` command line: the group, its commands, and `run()`, which turns errors
into messages and exit codes (named in sync.exits; README's table is tested against them).

The only module that does so. Output that is data (`--json`) goes to stdout; logs, progress
and errors go to stderr. The commands live in sync/commands_*.py and never import this module.
"""

from __future__ import annotations

import logging
import sys
import traceback

import click

from loyalsync.connectors.http import REDACTOR
from loyalsync.core.errors import LoyalsyncError
from loyalsync.sync import commands_data, commands_ops, commands_sync
from loyalsync.sync.exits import EXIT_INTERRUPTED, EXIT_UNEXPECTED, EXIT_USAGE
from loyalsync.sync.options import app_of, apply_verbosity, common_options

log = logging.getLogger("loyalsync.cli")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log line format on stderr.",
)
@click.version_option(package_name="loyalsync")
@click.pass_context
def cli(ctx: click.Context, log_format: str) -> None:
    """loyalsync: turn a shop's own order history into customer loyalty work.

    Mirrors customers and orders from Shopware, PrestaShop and JTL into SQLite, segments the
    customers (RFM, ABC, loyalty tiers, inactivity, lifecycle, geography, rules) and pushes
    customer groups, tags and personal discount codes back to the shop.
    """
    app = app_of(ctx)
    app.log_format = log_format
    apply_verbosity(app)
    ctx.call_on_close(app.close)


cli = common_options(cli, envvar="LOYALSYNC_CONFIG")  # type: ignore[assignment]

for _module in (commands_sync, commands_data, commands_ops):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns (and exits with) the exit code."""
    code = run(argv)
    sys.exit(code)


def run(argv: list[str] | None = None) -> int:
    try:
        result = cli.main(args=argv, prog_name="loyalsync", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_INTERRUPTED
    except LoyalsyncError as exc:
        _show_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo(
            "interrupted: everything committed so far is kept; run again to resume", err=True
        )
        return EXIT_INTERRUPTED
    except Exception as exc:  # the last line of defence: log it, say so, exit 1
        log.debug("unexpected error", exc_info=True)
        click.echo(
            f"unexpected error: {REDACTOR.redact(f'{exc.__class__.__name__}: {exc}')} "
            f"(run with -v for the traceback)",
            err=True,
        )
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            click.echo(REDACTOR.redact(traceback.format_exc()), err=True)
        return EXIT_UNEXPECTED
    return int(result or 0)


def _show_error(exc: LoyalsyncError) -> None:
    click.echo(f"error: {exc}", err=True)
    problems = getattr(exc, "problems", None)
    if problems and str(exc).count("\n") == 0:
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
