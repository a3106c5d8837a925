"""The options the commands share, defined once: `--config`, `-q`, `-v` (accepted before or
after the command name), `--shop`, `--json`, `--as-of` and `--dry-run`, and `command()`, the
decorator every command is made with.

Parsing only: values land in the AppContext or arrive parsed (`--as-of` as a UTC datetime, its
errors naming the option). No command logic here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from loyalsync.sync.context import AppContext
from loyalsync.sync.logs import setup_logging
from loyalsync.sync.output import SAY

F = TypeVar("F", bound=Callable[..., Any])


def parse_as_of(value: str | None) -> datetime | None:
    """A date (midnight UTC) or an ISO datetime; naive values are UTC. Raises ValueError."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected YYYY-MM-DD or an ISO datetime, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def date_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    try:
        return parse_as_of(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def app_of(ctx: click.Context) -> AppContext:
    return ctx.ensure_object(AppContext)


def apply_verbosity(app: AppContext) -> None:
    """-q wins over -v: only warnings and errors, and no summaries on stdout."""
    app.verbosity = -1 if app.quiet else app.verbose
    setup_logging(app.verbosity, app.log_format)
    SAY.quiet = app.quiet


def _set_config(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        app_of(ctx).config_path = value


def _set_verbose(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        app = app_of(ctx)
        app.verbose = max(app.verbose, value)
        apply_verbosity(app)


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        app = app_of(ctx)
        app.quiet = True
        apply_verbosity(app)


def config_option(envvar: str | None = None) -> Callable[[F], F]:
    return click.option(
        "--config",
        metavar="PATH",
        envvar=envvar,
        expose_value=False,
        callback=_set_config,
        is_eager=True,
        help="Config file (default: $LOYALSYNC_CONFIG, else ./loyalsync.yaml).",
    )


verbose_option = click.option(
    "-v",
    "--verbose",
    count=True,
    expose_value=False,
    callback=_set_verbose,
    help="More log output (-vv: HTTP details).",
)
quiet_option = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    expose_value=False,
    callback=_set_quiet,
    help="Print nothing on success: only warnings and errors (data asked for is still printed).",
)


def shop_option(help: str = "Only this shop (default: every configured shop).") -> Any:
    return click.option("--shop", metavar="NAME", help=help)


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
as_of_option = click.option(
    "--as-of",
    "as_of",
    metavar="DATE",
    callback=date_callback,
    help="Evaluate as of this date (default: now). Segments are a function of data and date.",
)
since_option = click.option(
    "--since",
    metavar="DATE",
    callback=date_callback,
    help="Only records created or changed since DATE.",
)


def common_options(f: F, envvar: str | None = None) -> F:
    """--config, -v and -q: on the group and on every command, so `loyalsync pull -q` works."""
    return config_option(envvar)(verbose_option(quiet_option(f)))


def command(name: str | None = None) -> Callable[[Callable[..., Any]], click.Command]:
    """click.command with the shared options and the AppContext passed first."""

    def decorate(f: Callable[..., Any]) -> click.Command:
        return click.command(name=name)(common_options(click.pass_obj(f)))

    return decorate
