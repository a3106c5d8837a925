"""The `loyalsync` command line: parses options, calls sync/ and core/, prints results.

The only module that turns errors into messages and exit codes:
0 ok, 1 unexpected, 2 usage (and a plan refused without --force), 3 config or auth,
4 finished with quarantined or failed records, 75 temporary failure after retries.
Output that is data (`--json`) goes to stdout; logs and progress go to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

import click

from loyalsync.core.errors import LoyalsyncError
from loyalsync.sync.context import AppContext

log = logging.getLogger("loyalsync.cli")

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_CONFIG, EXIT_PARTIAL, EXIT_TEMPFAIL = 0, 1, 2, 3, 4, 75


def parse_as_of(value: str | None) -> datetime | None:
    """--as-of: a date (midnight UTC) or an ISO datetime; naive values are UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD or an ISO datetime, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _as_of_option(f: Any) -> Any:
    return click.option(
        "--as-of",
        "as_of",
        metavar="DATE",
        help="Evaluate as of this date (default: now). Segments are a function of data and date.",
    )(f)


def _shop_option(f: Any) -> Any:
    return click.option("--shop", metavar="NAME", help="Only this shop (default: every shop).")(f)


def _json_option(f: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(f)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    envvar="LOYALSYNC_CONFIG",
    help="Config file (default: $LOYALSYNC_CONFIG, else ./loyalsync.yaml).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv: HTTP details).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log line format on stderr.",
)
@click.version_option(package_name="loyalsync")
@click.pass_context
def cli(
    ctx: click.Context, config_path: str | None, verbose: int, quiet: bool, log_format: str
) -> None:
    """loyalsync: turn a shop's own order history into customer loyalty work.

    Mirrors customers and orders from Shopware, PrestaShop and JTL into SQLite, segments the
    customers (RFM, ABC, loyalty tiers, inactivity, lifecycle, geography, rules) and pushes
    customer groups, tags and personal discount codes back to the shop.
    """
    from loyalsync.sync.logs import setup_logging

    verbosity = -1 if quiet else verbose
    setup_logging(verbosity, log_format)
    app = AppContext(config_path=config_path, verbosity=verbosity, log_format=log_format)
    ctx.obj = app
    ctx.call_on_close(app.close)


def _register_commands() -> None:
    from loyalsync.sync import commands_data, commands_ops, commands_sync

    for module in (commands_sync, commands_data, commands_ops):
        for command in module.COMMANDS:
            cli.add_command(command)


_register_commands()


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
        return 130
    except LoyalsyncError as exc:
        click.echo(f"error: {exc}", err=True)
        problems = getattr(exc, "problems", None)
        if problems and str(exc).count("\n") == 0:
            for problem in problems:
                click.echo(f"  - {problem}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo(
            "interrupted: everything committed so far is kept; run again to resume", err=True
        )
        return 130
    except Exception as exc:  # the last line of defence: log it, say so, exit 1
        log.debug("unexpected error", exc_info=True)
        from loyalsync.connectors.http import REDACTOR

        click.echo(
            f"unexpected error: {REDACTOR.redact(f'{exc.__class__.__name__}: {exc}')} "
            f"(run with -v for the traceback)",
            err=True,
        )
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            import traceback

            click.echo(REDACTOR.redact(traceback.format_exc()), err=True)
        return EXIT_UNEXPECTED
    return int(result or 0)
