"""Read one TOML table into a config dataclass, using only what the dataclass declares.

A key is declared once: as a field of a config dataclass. Its TOML name, whether it is required,
its default, the TOML type it accepts, the allowed values of a ``Literal`` and the range of a
number all come from that field (its type hint, its default and its :class:`Setting` metadata).
So the list of allowed keys in an error message, the defaults users get and the types the rest
of digestmail sees can never drift apart, as they did when a second table repeated them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args, get_origin, get_type_hints

from digestmail.errors import ConfigError

_META = "digestmail.config"


class Invalid(ValueError):
    """Raised by a :attr:`Setting.parse` hook; becomes a :class:`ConfigError` naming the key.

    ``subkey`` names an entry inside the value (a section of ``site.permalinks``).
    """

    def __init__(self, message: str, *, subkey: str = "") -> None:
        self.message = message
        self.subkey = subkey
        super().__init__(message)


def _number(value: float) -> str:
    """``36500``, not ``36500.0``: bounds read the way a user writes them in TOML."""
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True, slots=True)
class Bounds:
    """The range a number must lie in, checked at load time so no command trips over it later.

    ``above`` makes the lower bound exclusive (``more than 0``): a timeout of 0 is no timeout.
    """

    low: float
    high: float
    above: bool = False
    unit: str = ""
    note: str = ""

    def __contains__(self, value: float) -> bool:
        low_ok = value > self.low if self.above else value >= self.low
        return low_ok and value <= self.high  # NaN compares False: never inside

    def describe(self) -> str:
        low = f"more than {_number(self.low)}" if self.above else f"at least {_number(self.low)}"
        text = f"{low} and at most {_number(self.high)}"
        if self.unit:
            text += f" {self.unit}"
        if self.note:
            text += f" ({self.note})"
        return text


# A NamedTuple, not a frozen dataclass: as immutable, and defined at import without compiling
# six generated methods (about 1 ms a class, on every start of the command line).
class Setting(NamedTuple):
    """How one dataclass field is read from TOML; stored in the field's metadata.

    ``key``: the TOML name when it differs from the field's (``from``, a Python keyword);
    ``bounds``: the range of a number; ``parse``: turns a type-checked TOML value into the
    field's value, raising :class:`Invalid` (a time zone name into a ``ZoneInfo``).
    """

    key: str | None = None
    bounds: Bounds | None = None
    parse: Callable[[Any], Any] | None = None
    internal: bool = False
    """Not read from the file at all (a list's key, the config's own path)."""
    nested: bool = False
    """A key of the table whose value the loader reads itself (``[[smtp.relays]]``, an array
    of tables of another dataclass): allowed here, but neither checked nor filled in."""


def setting(
    *,
    key: str | None = None,
    bounds: Bounds | None = None,
    parse: Callable[[Any], Any] | None = None,
) -> dict[str, Setting]:
    """Metadata for ``dataclasses.field(metadata=...)``: one declaration per key."""
    return {_META: Setting(key=key, bounds=bounds, parse=parse)}


INTERNAL: dict[str, Setting] = {_META: Setting(internal=True)}
"""Metadata of a field that is computed by the loader, never read from TOML."""
NESTED: dict[str, Setting] = {_META: Setting(nested=True)}
"""Metadata of a field the loader reads from its own tables (see :attr:`Setting.nested`)."""


# --- TOML types, from the field's type hint --------------------------------------------------


class _Kind(NamedTuple):
    """What TOML value a field type accepts, and how it becomes the field's value."""

    describe: str
    accepts: Callable[[Any], bool]
    convert: Callable[[Any], Any] = lambda value: value


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # TOML true is not 1


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_STRING = _Kind("a string", _is_str)
_KINDS: dict[object, _Kind] = {
    str: _STRING,
    str | None: _STRING,
    int: _Kind("an integer", _is_int),
    float: _Kind("a number", _is_number, float),
    bool: _Kind("true or false", lambda v: isinstance(v, bool)),
    Path: _Kind("a string", _is_str, Path),
    Path | None: _Kind("a string", _is_str, lambda v: Path(v) if v else None),
}


def _kind(hint: Any, setting: Setting, name: str) -> _Kind:
    if hint in _KINDS:
        return _KINDS[hint]
    if setting.nested:
        return _Kind("an array of tables", lambda v: isinstance(v, list))
    origin = get_origin(hint)
    if origin is Literal:
        allowed = get_args(hint)
        return _Kind("one of: " + ", ".join(allowed), lambda v: v in allowed)
    if origin is tuple:
        return _Kind(
            "a list of strings",
            lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
            tuple,
        )
    if origin is Mapping or origin is dict:
        return _Kind("a table", lambda v: isinstance(v, dict), dict)
    if setting.parse is not None:  # e.g. ZoneInfo: written as a string, made by the hook
        return _STRING
    raise TypeError(f"config field {name}: no TOML reading for {hint!r}")  # pragma: no cover


# --- fields of a config dataclass --------------------------------------------------------------


class Field(NamedTuple):
    """One TOML key of a section, as its dataclass declares it."""

    name: str
    key: str
    hint: Any
    kind: _Kind
    setting: Setting
    default: Any
    required: bool


def fields_of(cls: type) -> tuple[Field, ...]:
    """The TOML keys of a config dataclass, in declaration order."""
    hints = get_type_hints(cls)
    out: list[Field] = []
    for item in dataclasses.fields(cls):
        meta: Setting = item.metadata.get(_META, Setting())
        if meta.internal:
            continue
        if item.default is not dataclasses.MISSING:
            default, required = item.default, False
        elif item.default_factory is not dataclasses.MISSING:
            default, required = item.default_factory(), False
        else:
            default, required = None, True
        out.append(
            Field(
                name=item.name,
                key=meta.key or item.name,
                hint=hints[item.name],
                kind=_kind(hints[item.name], meta, item.name),
                setting=meta,
                default=default,
                required=required,
            )
        )
    return tuple(out)


def allowed_keys(cls: type) -> tuple[str, ...]:
    return tuple(sorted(f.key for f in fields_of(cls)))


def sections_of(cls: type) -> dict[str, tuple[type, bool]]:
    """The sections of the top-level config: name -> (dataclass, is a table of named tables).

    Derived from the top-level dataclass too: a field typed as a config dataclass is a section,
    one typed ``Mapping[str, <dataclass>]`` a table of them (``[lists.<name>]``).
    """
    hints = get_type_hints(cls)
    out: dict[str, tuple[type, bool]] = {}
    for item in dataclasses.fields(cls):
        if item.metadata.get(_META, Setting()).internal:
            continue
        hint = hints[item.name]
        if get_origin(hint) is Mapping or get_origin(hint) is dict:
            out[item.name] = (get_args(hint)[1], True)
        else:
            out[item.name] = (hint, False)
    return out


def read_section(
    cls: type, raw: Mapping[str, Any], *, prefix: str, path: Path, project: Path
) -> dict[str, Any]:
    """Check one table against ``cls``'s fields; return field name -> value, defaults filled.

    Order of the checks: unknown keys, then each key's type, presence and range, then the
    conversions (time zone, URL, ...), so the simplest mistake is the one reported. Relative
    paths become paths inside ``project``, given or default.
    """
    fields = fields_of(cls)
    known = {f.key for f in fields}
    for key in raw:
        if key not in known:
            allowed = ", ".join(sorted(known))
            raise ConfigError(
                f"unknown key (allowed here: {allowed})", path=path, key=f"{prefix}.{key}"
            )
    fields = tuple(f for f in fields if not f.setting.nested)
    given: dict[str, Any] = {}
    for f in fields:
        where = f"{prefix}.{f.key}"
        if f.key not in raw:
            if f.required:
                raise ConfigError("missing required key", path=path, key=where)
            continue
        value = raw[f.key]
        if not f.kind.accepts(value):
            if get_origin(f.hint) is Literal:
                allowed = ", ".join(get_args(f.hint))
                raise ConfigError(f"{value!r} is not one of: {allowed}", path=path, key=where)
            raise ConfigError(
                f"must be {f.kind.describe}, not {type(value).__name__} {value!r}",
                path=path,
                key=where,
            )
        check_bounds(f.setting.bounds, value, path=path, key=where)
        given[f.name] = value
    out: dict[str, Any] = {}
    for f in fields:
        if f.name in given:
            value = f.kind.convert(given[f.name])
            if f.setting.parse is not None:
                try:
                    value = f.setting.parse(value)
                except Invalid as exc:
                    key = f"{prefix}.{f.key}" + (f".{exc.subkey}" if exc.subkey else "")
                    raise ConfigError(exc.message, path=path, key=key) from None
        else:
            value = f.default
        if isinstance(value, Path):
            value = project / value
        out[f.name] = value
    return out


def check_bounds(bounds: Bounds | None, value: float, *, path: Path, key: str) -> None:
    """A number outside its range, NaN included (TOML allows ``nan`` and ``inf``)."""
    if bounds is None:
        return
    if isinstance(value, float) and math.isnan(value):
        raise ConfigError(f"not a number (nan); must be {bounds.describe()}", path=path, key=key)
    if value not in bounds:
        raise ConfigError(f"must be {bounds.describe()}, not {value!r}", path=path, key=key)
