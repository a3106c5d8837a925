"""Configuration: YAML -> frozen dataclasses, with `${ENV}` interpolation and full validation.

Owns the schema of `loyalsync.yaml` (the dataclasses below, plus the `segmentation:` types in
`core/segments/settings.py`, re-exported here) and one generic builder that walks them. Every
problem found - unknown keys (with a did-you-mean), missing required keys, wrong types, unset
environment variables, duplicate shop names, unknown platforms, invalid segment rules, push
mappings naming segments that cannot exist - is collected and raised together in one
`ConfigError`, each prefixed with its YAML path. Reads files; never touches the network or the
mirror.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml

from loyalsync.core import databases
from loyalsync.core.errors import ConfigError
from loyalsync.core.platform_spec import (
    PlatformSpec,
    groups_mode_problems,
    known_specs,
    platform_notices,
    push_slot_problems,
)
from loyalsync.core.records import GROUPS, TAGS
from loyalsync.core.segments.engine import config_problems
from loyalsync.core.segments.references import segment_problem
from loyalsync.core.segments.settings import AbcConfig as AbcConfig
from loyalsync.core.segments.settings import GeographyConfig as GeographyConfig
from loyalsync.core.segments.settings import LifecycleConfig as LifecycleConfig
from loyalsync.core.segments.settings import LoyaltyConfig as LoyaltyConfig
from loyalsync.core.segments.settings import PredictConfig as PredictConfig
from loyalsync.core.segments.settings import RfmConfig as RfmConfig
from loyalsync.core.segments.settings import RuleConfig as RuleConfig
from loyalsync.core.segments.settings import SegmentationConfig as SegmentationConfig
from loyalsync.core.timetable import ScheduleConfig as ScheduleConfig
from loyalsync.core.timetable import schedule_problems

DEFAULT_CONFIG_NAME = "loyalsync.yaml"
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


# ---------------------------------------------------------------------------------------------
# Schema


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option a connector declares for its platform section (`shops[i].<platform>:`).

    Core validates the section against these specs (it cannot import connectors; the registry
    hands the specs in). `type`: str | int | float | bool | list[str] | choice."""

    name: str
    default: Any
    help: str
    type: str = "str"
    choices: tuple[str, ...] = ()


# what the loader knows of platforms: name -> a PlatformSpec (core/platform_spec.py), or just
# its declared options, or just the names
Platforms = Mapping[str, Any] | typing.Iterable[str]


@dataclass(frozen=True)
class ShopConfig:
    name: str
    platform: str
    url: str
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    currency: str = "EUR"
    requests_per_second: float = 5.0
    timeout: float = 30.0
    verify_tls: bool = True  # false accepts any certificate; warned about on every run
    protected_groups: tuple[str, ...] = ()  # group names or ids whose members are never touched
    valid_states: tuple[str, ...] = ()  # order states that count; empty: the platform default
    lag_minutes: int = 10  # incremental pulls re-read this much before the cursor
    page_size: int = 500
    deletion_scan_days: int = 7  # full id scan for deleted customers at most this often
    database: str | None = None  # this shop's own mirror file (wins over the top-level one)
    # pulls fetch the next page while saving one, customers and orders side by side (one HTTP
    # client, one rate limit); false: one entity after the other, one page at a time
    pipeline: bool = True
    # the platform section (`shops[i].<platform>:`), validated against the connector's
    # declared OptionSpecs, defaults filled in
    options: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # credentials never reach a repr
        return f"ShopConfig(name={self.name!r}, platform={self.platform!r}, url={self.url!r})"


GROUPS_MODES = ("first", "all")


@dataclass(frozen=True)
class GroupMapping:
    segment: str
    group: str


@dataclass(frozen=True)
class TagMapping:
    segment: str
    tag: str


@dataclass(frozen=True)
class ValueMapping:
    """`push.slots.<slot>[i]`: a segment's customers carry `value` in that slot."""

    segment: str
    value: str


@dataclass(frozen=True)
class DiscountCampaign:
    name: str
    segment: str
    percent: float | None = None
    amount: float | None = None
    valid_days: int = 30
    cooldown_days: int = 90
    code_prefix: str = "LS"


@dataclass(frozen=True)
class PushConfig:
    enabled: bool = False  # a fresh install never writes before the admin has seen a plan
    batch_size: int = 200
    max_changes: float = 0.25  # < 1: share of customers per run; >= 1: absolute count
    tag_prefix: str = "ls:"
    # "first": the first matching mapping decides a customer's managed group; "all": every
    # matching one (only where a customer may be in several groups at once: a `many` slot)
    groups_mode: str = "first"
    groups: tuple[GroupMapping, ...] = ()
    tags: tuple[TagMapping, ...] = ()
    discounts: tuple[DiscountCampaign, ...] = ()
    # any other membership slot a platform declares (e.g. categories, a label field)
    slots: dict[str, tuple[ValueMapping, ...]] = field(default_factory=dict)

    def slot_lists(self) -> list[tuple[str, str, str, tuple[tuple[str, str], ...]]]:
        """Per slot the mappings address: (slot, YAML key, plain words for the slot, the
        (segment, value name) pairs in config order); `push.slots` first, sorted by slot,
        then groups and tags (tag names without `tag_prefix`)."""
        return [
            *(
                (slot, f"push.slots.{slot}", f"{slot!r} values",
                 tuple((m.segment, m.value) for m in maps))
                for slot, maps in sorted(self.slots.items())
            ),
            (GROUPS, "push.groups", "customer groups",
             tuple((m.segment, m.group) for m in self.groups)),
            (TAGS, "push.tags", "customer tags", tuple((m.segment, m.tag) for m in self.tags)),
        ]  # fmt: skip

    def segment_references(self) -> list[tuple[str, str]]:
        """(YAML path, segment name) of every mapping, in config order."""
        return [
            *((f"push.groups[{i}].segment", m.segment) for i, m in enumerate(self.groups)),
            *((f"push.tags[{i}].segment", m.segment) for i, m in enumerate(self.tags)),
            *(
                (f"push.slots.{slot}[{i}].segment", m.segment)
                for slot, maps in self.slots.items()
                for i, m in enumerate(maps)
            ),
            *((f"push.discounts[{i}].segment", m.segment) for i, m in enumerate(self.discounts)),
        ]


@dataclass(frozen=True)
class ReportConfig:
    """`loyalsync report`: rows per list and the recommended action per named RFM segment
    (overrides the defaults in core/report/actions.py; keys are segment names)."""

    top: int = 20  # customers in each "top by" table
    list_rows: int = 25  # rows of the inactivity and contact-due lists
    actions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    shops: tuple[ShopConfig, ...]
    database: str = "loyalsync.db"
    segmentation: SegmentationConfig = field(default_factory=SegmentationConfig)
    push: PushConfig = field(default_factory=PushConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    source: str | None = None  # where it was loaded from (not a YAML key)
    notices: tuple[str, ...] = ()  # plain words on features a platform lacks (not a YAML key)

    def shop(self, name: str) -> ShopConfig:
        for shop in self.shops:
            if shop.name == name:
                return shop
        known = ", ".join(s.name for s in self.shops) or "none"
        raise ConfigError(f"unknown shop {name!r} (configured: {known})")

    def select(self, name: str | None) -> tuple[ShopConfig, ...]:
        return (self.shop(name),) if name else self.shops

    def database_for(self, shop: str) -> str:
        """The mirror file of `shop` (core/databases.py: shared, `{shop}` template, own)."""
        return databases.database_for(self.database, shop, self.shop(shop).database)

    def databases(self, shops: tuple[ShopConfig, ...] | None = None) -> dict[str, list[str]]:
        """Mirror file -> its shops (config order); shops sharing a file share its lock."""
        chosen = self.shops if shops is None else shops
        return databases.group_by_file((s.name, self.database_for(s.name)) for s in chosen)


# ---------------------------------------------------------------------------------------------
# Loading


def resolve_path(explicit: str | os.PathLike[str] | None) -> Path:
    """--config, else $LOYALSYNC_CONFIG, else ./loyalsync.yaml."""
    if explicit:
        return Path(explicit)
    if os.environ.get("LOYALSYNC_CONFIG"):
        return Path(os.environ["LOYALSYNC_CONFIG"])
    return Path(DEFAULT_CONFIG_NAME)


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (quotes stripped, comments and blanks ignored)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    platforms: Callable[[], Platforms] | None = None,
) -> Config:
    """Load and validate a config file. `platforms` gives the known platforms and the options
    each declares (the connector registry passes its own); the environment is os.environ plus
    a `.env` file next to the config (the real environment wins)."""
    cfg_path = resolve_path(path)
    if not cfg_path.is_file():
        raise ConfigError(
            f"config file {str(cfg_path)!r} not found (use --config, $LOYALSYNC_CONFIG, "
            f"or `loyalsync init` to write a starter config)"
        )
    try:
        data = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{cfg_path}: not valid YAML: {exc}") from None
    environ = {**read_dotenv(cfg_path.parent / ".env"), **(env if env is not None else os.environ)}
    config = build_config(data, env=environ, platforms=platforms() if platforms else {})
    return _with_source(config, str(cfg_path))


def _with_source(config: Config, source: str) -> Config:
    from dataclasses import replace

    base = Path(source).parent
    shops = tuple(
        replace(s, database=databases.resolve(s.database, base)) if s.database else s
        for s in config.shops
    )
    database = databases.resolve(config.database, base)
    return replace(config, source=source, database=database, shops=shops)


def build_config(data: Any, *, env: Mapping[str, str], platforms: Platforms = ()) -> Config:
    """Validate plain data (as parsed from YAML) into a Config, or raise one ConfigError.
    `platforms`: platform name -> the OptionSpecs of its section (or just names: no options)."""
    problems: list[str] = []
    if data is None:
        data = {}
    specs = _platform_specs(platforms)
    data = _interpolate(data, env, "", problems)
    sections = _pop_platform_sections(data, specs, problems)
    config = _build(Config, data, "", problems, skip={"source", "notices"})
    if isinstance(config, Config):
        config = _with_options(config, sections, specs, problems)
        _check_semantics(config, tuple(specs), problems)
        known = known_specs(platforms)
        problems.extend(push_slot_problems(config, known))
        problems.extend(groups_mode_problems(config, known))
        config = dataclasses.replace(config, notices=platform_notices(config, known))
    if problems:
        count = len(problems)
        listing = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(
            f"invalid configuration ({count} problem{'s' if count != 1 else ''}):\n{listing}",
            problems=problems,
        )
    if not isinstance(config, Config):  # _build reports every reason it returns None
        raise ConfigError("invalid configuration")
    return config


def _platform_specs(platforms: Platforms) -> dict[str, tuple[OptionSpec, ...]]:
    if isinstance(platforms, Mapping):
        return {
            str(k): tuple(v.options if isinstance(v, PlatformSpec) else v)
            for k, v in platforms.items()
        }
    return {str(name): () for name in platforms}


def _pop_platform_sections(
    data: Any, specs: Mapping[str, tuple[OptionSpec, ...]], problems: list[str]
) -> dict[int, Any]:
    """Take each shop's platform section (`shops[i].<platform>:`) out before the generic
    build; a platform option written at the shop's top level is pointed at its new place."""
    sections: dict[int, Any] = {}
    shops = data.get("shops") if isinstance(data, dict) else None
    if not isinstance(shops, list):
        return sections
    for i, shop in enumerate(shops):
        if not isinstance(shop, dict) or not isinstance(shop.get("platform"), str):
            continue
        platform = shop["platform"]
        names = {o.name for o in specs.get(platform, ())}
        if platform in shop and platform not in {f.name for f in fields(ShopConfig)}:
            sections[i] = shop.pop(platform)
        for key in [k for k in shop if k in names]:
            problems.append(
                f"shops[{i}].{key}: unknown key (did you mean 'shops[{i}].{platform}.{key}'? "
                f"options of the platform live in its section `{platform}:`)"
            )
            shop.pop(key)
    return sections


def _with_options(
    config: Config,
    sections: Mapping[int, Any],
    specs: Mapping[str, tuple[OptionSpec, ...]],
    problems: list[str],
) -> Config:
    from dataclasses import replace

    shops = []
    for i, shop in enumerate(config.shops):
        where = f"shops[{i}].{shop.platform}"
        options = _build_options(specs.get(shop.platform, ()), sections.get(i), where, problems)
        shops.append(replace(shop, options=options))
    return replace(config, shops=tuple(shops))


_OPTION_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "list[str]": tuple[str, ...],
    "choice": str,
}


def _build_options(
    declared: tuple[OptionSpec, ...], section: Any, where: str, problems: list[str]
) -> dict[str, Any]:
    """Validate one platform section against its declared options; defaults filled in."""
    if section is None:
        section = {}
    if not isinstance(section, dict):
        problems.append(f"{where}: expected a mapping, got {section!r}")
        section = {}
    names = [o.name for o in declared]
    for key in section:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = f"; known: {', '.join(names)}" if names else "; this platform has no options"
            problems.append(f"{where}.{key}: unknown key{hint}{known}")
    options: dict[str, Any] = {}
    for spec in declared:
        if spec.name not in section:
            options[spec.name] = spec.default
            continue
        tp = _OPTION_TYPES.get(spec.type, Any)
        value = _build(tp, section[spec.name], f"{where}.{spec.name}", problems)
        if spec.type == "choice" and value not in spec.choices:
            problems.append(
                f"{where}.{spec.name}: expected one of {', '.join(spec.choices)}, got {value!r}"
            )
        options[spec.name] = value
    return options


def _interpolate(value: Any, env: Mapping[str, str], path: str, problems: list[str]) -> Any:
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(f"{path or '<root>'}: environment variable ${{{name}}} is not set")
            return ""

        return _ENV_RE.sub(sub, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, env, _join(path, str(k)), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return " or ".join(repr(a) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp) if a is not type(None))
    if origin in (tuple, list):
        return "a list"
    if origin is dict:
        return "a mapping"
    if is_dataclass(tp):
        return "a mapping"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _build(
    tp: Any,
    value: Any,
    path: str,
    problems: list[str],
    skip: frozenset[str] | set[str] = frozenset(),
) -> Any:
    """Coerce `value` to type `tp`, appending problems instead of raising."""
    where = path or "<root>"
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _build(inner[0], value, path, problems)
        for candidate in inner:
            trial: list[str] = []
            result = _build(candidate, value, path, trial)
            if not trial:
                return result
        problems.append(f"{where}: expected {_type_name(tp)}, got {value!r}")
        return None
    if origin is Literal:
        if value in get_args(tp):
            return value
        problems.append(f"{where}: expected {_type_name(tp)}, got {value!r}")
        return get_args(tp)[0]
    if origin in (tuple, list):
        if value is None:
            return ()
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list, got {value!r}")
            return ()
        (item_tp, *_) = get_args(tp)
        return tuple(_build(item_tp, v, f"{path}[{i}]", problems) for i, v in enumerate(value))
    if origin is dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a mapping, got {value!r}")
            return {}
        _, val_tp = get_args(tp)
        return {str(k): _build(val_tp, v, _join(path, str(k)), problems) for k, v in value.items()}
    if is_dataclass(tp):
        return _build_dataclass(tp, value, path, problems, skip)
    return _build_scalar(tp, value, where, problems)


def _build_scalar(tp: Any, value: Any, where: str, problems: list[str]) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
        problems.append(f"{where}: expected true or false, got {value!r}")
        return False
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        problems.append(f"{where}: expected an integer, got {value!r}")
        return 0
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        problems.append(f"{where}: expected a number, got {value!r}")
        return 0.0
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        problems.append(f"{where}: expected a string, got {value!r}")
        return ""
    return value


def _build_dataclass(
    tp: Any, value: Any, path: str, problems: list[str], skip: frozenset[str] | set[str]
) -> Any:
    where = path or "<root>"
    if value is None:
        value = {}
    if not isinstance(value, dict):
        problems.append(f"{where}: expected a mapping, got {value!r}")
        value = {}
    hints = typing.get_type_hints(tp)
    names = [f.name for f in fields(tp) if f.name not in skip]
    for key in value:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{_join(path, str(key))}: unknown key{hint}")
    kwargs: dict[str, Any] = {}
    for f in fields(tp):
        if f.name in skip:
            continue
        if f.name in value:
            kwargs[f.name] = _build(hints[f.name], value[f.name], _join(path, f.name), problems)
        elif f.default is MISSING and f.default_factory is MISSING:
            problems.append(f"{_join(path, f.name)}: required key is missing")
            kwargs[f.name] = _placeholder(hints[f.name])
    try:
        return tp(**kwargs)
    except TypeError as exc:  # pragma: no cover - schema bug, not user input
        problems.append(f"{where}: {exc}")
        return None


def _placeholder(tp: Any) -> Any:
    origin = get_origin(tp)
    if origin in (tuple, list):
        return ()
    if origin is dict:
        return {}
    return {str: "", int: 0, float: 0.0, bool: False}.get(tp)


def _check_semantics(config: Config, platforms: tuple[str, ...], problems: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, shop in enumerate(config.shops):
        where = f"shops[{i}]"
        if shop.name in seen:
            problems.append(
                f"{where}.name: duplicate shop name {shop.name!r} (also shops[{seen[shop.name]}])"
            )
        seen.setdefault(shop.name, i)
        if shop.platform and shop.platform not in platforms:
            close = difflib.get_close_matches(shop.platform, platforms, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                f"{where}.platform: unknown platform {shop.platform!r}{hint}; "
                f"known: {', '.join(platforms)}"
            )
        if shop.url and not re.match(r"^https?://", shop.url):
            problems.append(f"{where}.url: must start with http:// or https://, got {shop.url!r}")
        if shop.requests_per_second <= 0:
            problems.append(f"{where}.requests_per_second: must be greater than 0")
        if shop.timeout <= 0:
            problems.append(f"{where}.timeout: must be greater than 0")
        if not 1 <= shop.page_size <= 1000:
            problems.append(f"{where}.page_size: must be between 1 and 1000")
    if not config.shops:
        problems.append("shops: at least one shop is required")
    problems.extend(
        databases.layout_problems(config.database, [(s.name, s.database) for s in config.shops])
    )
    problems.extend(_segmentation_problems(config.segmentation))
    push = config.push
    if push.batch_size < 1:
        problems.append("push.batch_size: must be at least 1")
    if push.max_changes <= 0:
        problems.append("push.max_changes: must be greater than 0")
    if push.groups_mode not in GROUPS_MODES:
        close = difflib.get_close_matches(str(push.groups_mode), GROUPS_MODES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"push.groups_mode: expected first or all, got {push.groups_mode!r}{hint}")
    for i, campaign in enumerate(push.discounts):
        if (campaign.percent is None) == (campaign.amount is None):
            problems.append(f"push.discounts[{i}]: give exactly one of percent or amount")
        if campaign.percent is not None and not 0 < campaign.percent <= 100:
            problems.append(f"push.discounts[{i}].percent: must be in (0, 100]")
        if not re.fullmatch(r"[A-Z0-9-]{1,12}", campaign.code_prefix):
            problems.append(
                f"push.discounts[{i}].code_prefix: use 1-12 capital letters, digits or '-'"
            )
    problems.extend(_push_segment_problems(config, problems))
    problems.extend(schedule_problems(config.schedule))


def _segmentation_problems(seg: SegmentationConfig) -> list[str]:
    return [f"segmentation.{p}" for p in config_problems(seg)]


def _push_segment_problems(config: Config, found: list[str]) -> list[str]:
    """Push mappings naming a segment segmentation never produces (they would map nobody).
    A mapping whose segment was already reported (missing, wrong type) is not checked again."""
    problems = []
    for path, name in config.push.segment_references():
        if any(p.startswith(path) for p in found):
            continue
        problem = segment_problem(name, config.segmentation)
        if problem:
            problems.append(f"{path}: {problem}")
    return problems
