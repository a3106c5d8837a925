"""Connector registry: the built-in platforms plus third-party connectors.

Third parties publish a connector class under the entry-point group `loyalsync.connectors`
(name = the platform name used in `shops[].platform`). Built-ins are imported lazily so that
`loyalsync --help` stays fast. A connector class may have a `simulator` attribute naming a
module with `start_simulator(...)` for `loyalsync demo` / `simulate`. `registered(name, cls)`
adds a connector class for the duration of a block (the tests' in-memory connector, or an
application embedding loyalsync), exactly as if it were a plugin.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from loyalsync.core.errors import ConfigError

if TYPE_CHECKING:
    from loyalsync.connectors.base import Connector
    from loyalsync.core.config import OptionSpec, ShopConfig
    from loyalsync.core.platform_spec import PlatformSpec

ENTRY_POINT_GROUP = "loyalsync.connectors"

BUILTINS: dict[str, str] = {
    "shopware": "loyalsync.connectors.shopware.client:ShopwareConnector",
    "jtl": "loyalsync.connectors.jtl.client:JtlConnector",
    "prestashop": "loyalsync.connectors.prestashop.client:PrestaShopConnector",
}
# modules with `serve(customers=, seed=, port=, **options)` and `config_snippet(sim)`
SIMULATORS: dict[str, str] = {
    "shopware": "loyalsync.connectors.shopware.simulator",
    "jtl": "loyalsync.connectors.jtl.simulator",
    "prestashop": "loyalsync.connectors.prestashop.simulator",
}
# classes added by `registered(...)` for the duration of a block
_REGISTERED: dict[str, Any] = {}


# CLI commands a built-in connector contributes (sync/cli.py adds them; sync names no platform).
# A command is a plain function with click options, called as f(app, say, data, **options):
# connectors never import sync, so the CLI's context and output arrive as arguments.
COMMANDS: dict[str, str] = {
    "jtl-register": "loyalsync.connectors.jtl.register_cli:jtl_register",
}


def connector_commands() -> list[tuple[str, Any]]:
    """(name, function) of the commands the built-in connectors contribute."""
    return [(name, _load(target)) for name, target in COMMANDS.items()]


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@lru_cache(maxsize=1)
def _plugins() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep
    return found


def platform_names() -> list[str]:
    """Every platform a config may name: built-ins first, then plugins and registered ones."""
    others = (set(_plugins()) | set(_REGISTERED)) - set(BUILTINS)
    return list(BUILTINS) + sorted(others)


@contextmanager
def registered(platform: str, cls: Any) -> Iterator[Any]:
    """While the block runs, `platform` names the connector class `cls`: listed, its options
    validated by the config loader, built by `build_connector` like any other. A built-in or
    an already registered name cannot be taken over (ConfigError)."""
    if platform in BUILTINS or platform in _REGISTERED:
        raise ConfigError(f"platform {platform!r} is already registered")
    _REGISTERED[platform] = cls
    try:
        yield cls
    finally:
        del _REGISTERED[platform]


def simulator_names() -> list[str]:
    """The built-in platforms that ship a simulator (for `demo` and `simulate`)."""
    return list(SIMULATORS)


def connector_class(platform: str) -> Any:
    """The connector class for a platform name, or ConfigError naming the known ones."""
    if platform in BUILTINS:
        return _load(BUILTINS[platform])
    if platform in _REGISTERED:
        return _REGISTERED[platform]
    plugin = _plugins().get(platform)
    if plugin is None:
        raise ConfigError(f"unknown platform {platform!r}; known: {', '.join(platform_names())}")
    try:
        return plugin.load()
    except Exception as exc:  # a broken plugin must not look like our bug
        raise ConfigError(f"connector plugin {platform!r} failed to load: {exc}") from None


def platform_options() -> dict[str, tuple[OptionSpec, ...]]:
    """Every platform a config may name, with the options its section declares (for the
    config loader, which may not import connectors itself)."""
    return {name: tuple(getattr(connector_class(name), "options", ())) for name in platform_names()}


def platform_specs() -> dict[str, PlatformSpec]:
    """Every platform with its options, slot names and whether it can create personal codes:
    what the CLI hands the config loader (core.platform_spec)."""
    from loyalsync.core.platform_spec import PlatformSpec

    specs = {}
    for name in platform_names():
        cls = connector_class(name)
        caps = getattr(cls, "capabilities", None)
        specs[name] = PlatformSpec(
            options=tuple(getattr(cls, "options", ())),
            slots=tuple(s.name for s in getattr(cls, "slots", ())),
            personal_codes=bool(getattr(caps, "personal_codes", True)),
            many=tuple(s.name for s in getattr(cls, "slots", ()) if s.cardinality == "many"),
        )
    return specs


def starter_config(platform: str) -> str:
    """The shop section (below `platform:`) that `loyalsync init --platform P` writes: the
    connector's own url and credentials lines, then every declared option with its help."""
    cls = connector_class(platform)
    text = getattr(cls, "starter_config", "") or _generic_starter(cls)
    options = tuple(getattr(cls, "options", ()))
    if options:
        text += f"    {platform}:                       # options of this platform\n"
        for spec in options:
            text += f"      # {spec.help}\n      {spec.name}: {_yaml_value(spec.default)}\n"
    return text


def _generic_starter(cls: Any) -> str:
    keys = tuple(getattr(cls, "credential_keys", ()))
    lines = "".join(f"      {k}: ${{{k.upper()}}}\n" for k in keys) or "      {}\n"
    return f"    url: https://shop.example.com\n    credentials:\n{lines}"


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(json.dumps(v) for v in value) + "]"
    if value is None:
        return "null"
    return json.dumps(value) if isinstance(value, str) else str(value)


def simulator_module(platform: str) -> Any:
    """The simulator module of a built-in platform (for `demo`, `simulate` and tests)."""
    if platform not in SIMULATORS:
        known = ", ".join(SIMULATORS)
        raise ConfigError(f"no simulator for platform {platform!r}; available: {known}")
    return importlib.import_module(SIMULATORS[platform])


def build_connector(shop: ShopConfig, **http_kwargs: Any) -> Connector:
    """Build the connector for one configured shop with its HTTP client."""
    from loyalsync.connectors.http import HttpPolicy, make_session

    cls = connector_class(shop.platform)
    secrets = tuple(v for v in shop.credentials.values() if isinstance(v, str))
    policy = HttpPolicy(
        shop=shop.name,
        base_url=shop.url,
        read_timeout=shop.timeout,
        verify_tls=shop.verify_tls,
        requests_per_second=shop.requests_per_second,
        secrets=secrets,
        error_parser=getattr(cls, "parse_error", None),
        rate_limit_wait=getattr(cls, "rate_limit_wait", None),
    )
    http = make_session(policy, **http_kwargs)
    connector: Connector = cls(shop, http)
    return connector
