"""Split a Hugo content file into front matter and body, and parse the three front-matter formats.

Errors must name the line in the *file*, not in the front-matter block, because an editor opens
the file; every parser's position is therefore shifted by the delimiter line. We split by hand,
exactly where Hugo splits (python-frontmatter's boundary patterns also accept ``-----`` openers
and need JSON braces on lines of their own, which Hugo does not), and parse YAML through
python-frontmatter's :class:`~frontmatter.default_handlers.YAMLHandler` with a loader that keeps
Hugo's view of dates; TOML goes through the standard ``tomllib`` (python-frontmatter's TOML
handler needs the third-party ``toml`` package).

YAML timestamps are kept as strings so that dates go through :mod:`.dates`, the one place
that decides what Hugo accepts as a date. Keys are lower-cased at every level, because
Hugo's front matter and ``.Params`` are case-insensitive.

One post must not be able to exhaust the machine, so reading front matter is bounded:

- a front matter over :data:`MAX_FRONT_MATTER_BYTES` is refused before it is parsed;
- YAML aliases are allowed, as Hugo allows them (``<<: *defaults`` is legitimate YAML), but
  all aliases of one front matter together may repeat at most :data:`MAX_ALIASED_VALUES`
  values, and an alias inside the value it names (``&a [*a]``) is refused. A ~700-byte
  "billion laughs" block of nested aliases expands to 10^9 values: it once took 107 s and
  5.9 GB, and is now refused at the alias that crosses the limit, with its line. (Hugo's Go
  YAML refuses "excessive aliasing" too.) The check reads the parser's events, and only when
  the block has a ``*`` at all; the fast path (:mod:`.fast_yaml`) declines every anchor and
  alias, so they always get here;
- lower-casing keys keeps shared values shared (an alias is lowered once, never copied);
- nesting deeper than the parsers can follow is an error naming the front matter, not a crash.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from typing import TYPE_CHECKING, Any, NamedTuple

from digestmail.content import fast_yaml

if TYPE_CHECKING:
    import yaml


@functools.cache
def _yaml_reader() -> tuple[Any, type[Any]]:
    """python-frontmatter's YAMLHandler and a loader for it, built on the first post that the
    fast path (:mod:`digestmail.content.fast_yaml`) hands over: a site whose front matter is all
    plain never imports PyYAML, which saves a tenth of ``digestmail posts``' start-up."""
    import yaml
    from frontmatter.default_handlers import YAMLHandler

    base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class HugoYamlLoader(base):  # type: ignore[valid-type,misc]
        """Safe YAML (C speed when available) that leaves timestamps as their source text."""

    def timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
        return str(loader.construct_scalar(node))  # type: ignore[arg-type]

    HugoYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", timestamp_as_text)
    return YAMLHandler(), HugoYamlLoader


MAX_FRONT_MATTER_BYTES = 64 * 1024
"""The largest front matter read (64 KiB, in UTF-8 bytes): metadata of a post is rarely 2 KiB,
and every parser's cost grows with it; long text belongs in the body."""

MAX_ALIASED_VALUES = 1_000
"""How many values all YAML aliases of one front matter may repeat together (each alias counts
every value of what it names). Real front matter repeats a handful; a bomb repeats billions."""


# tomllib ends its messages with "(at line 3, column 14)" or "(at end of document)".
_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


class FrontMatterError(ValueError):
    """Front matter that cannot be parsed; ``line`` is 1-based in the whole file."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


# A NamedTuple, not a frozen dataclass: as immutable, and defined at import without compiling
# six generated methods (about 1 ms a class, on every start of the command line).
class Document(NamedTuple):
    """A content file split in two; ``meta`` has lower-cased keys."""

    format: str
    """``yaml``, ``toml``, ``json`` or ``none``."""
    meta: dict[str, Any]
    body: str


def lower_keys(value: Any, _done: dict[int, Any] | None = None) -> Any:
    """Lower-case mapping keys at every level, as Hugo does for front matter.

    A dict or list reached twice (a YAML alias shares it) is lowered once and shared again in
    the result: copying it per alias is what made a few hundred bytes of aliases cost gigabytes.
    """
    if not isinstance(value, dict | list):
        return value
    done: dict[int, Any] = {} if _done is None else _done
    if id(value) in done:  # ids are stable: the whole input stays alive during the walk
        return done[id(value)]
    if isinstance(value, dict):
        lowered: dict[str, Any] = {}
        done[id(value)] = lowered
        for key, item in value.items():
            lowered[str(key).lower()] = lower_keys(item, done)
        return lowered
    items: list[Any] = []
    done[id(value)] = items
    items.extend(lower_keys(item, done) for item in value)
    return items


def _closing(text: str, delimiter: str, start: int) -> tuple[int, int] | None:
    """Offsets of the closing delimiter line (its start, and the start of the next line)."""
    pos = start
    while True:
        found = text.find(delimiter, pos)
        if found == -1:
            return None
        line_start = found == 0 or text[found - 1] == "\n"
        end = found + len(delimiter)
        rest_end = text.find("\n", end)
        rest = text[end:] if rest_end == -1 else text[end:rest_end]
        if line_start and not rest.strip():
            return found, (len(text) if rest_end == -1 else rest_end + 1)
        pos = end


def _as_table(data: Any, fmt: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FrontMatterError(f"{fmt} front matter must be a mapping of keys to values", 2)
    lowered: dict[str, Any] = lower_keys(data)
    return lowered


def _culprit_is_context(exc: yaml.MarkedYAMLError) -> bool:
    """Whether the error's *context* mark is the line to fix, not the problem mark.

    An unclosed quote, a key without ':' and an unclosed ``[``/``{`` are noticed lines later
    (often at the end of the block), so the parser's problem mark points past the culprit; its
    context mark points at the opening quote, the key or the bracket. Everything else (bad
    indentation, a tab, a bad escape, a duplicate anchor) is noticed where it is.
    """
    context = exc.context or ""
    problem = exc.problem or ""
    if exc.context_mark is None:
        return False
    if context.startswith("while scanning a quoted scalar"):
        return "end of stream" in problem or "document separator" in problem
    return context.startswith(("while scanning a simple key", "while parsing a flow"))


def _yaml_error(exc: yaml.MarkedYAMLError, block: str) -> FrontMatterError:
    """The error at the file line the editor must change; the other position in the text."""
    # File line = block line + 2 (0-based mark, plus the opening '---'). A problem noticed at
    # the closing delimiter is reported on the block's last line, the last one to edit.
    last = block.count("\n") + 1 if block.endswith("\n") else block.count("\n") + 2
    problem = exc.problem or exc.context or "invalid YAML"
    if _culprit_is_context(exc) and exc.context_mark is not None:
        line = min(exc.context_mark.line + 2, last)
        if exc.problem_mark is not None:
            noticed = min(exc.problem_mark.line + 2, last + 1)
            problem = f"{problem} (line {noticed})"
        return FrontMatterError(
            f"YAML front matter: {problem} {exc.context} that starts here", line
        )
    mark = exc.problem_mark or exc.context_mark
    line = min(mark.line + 2, last) if mark is not None else 1
    return FrontMatterError(f"YAML front matter: {problem}", line)


def _check_aliases(block: str, loader: type[Any]) -> None:
    """Refuse aliases that repeat more than :data:`MAX_ALIASED_VALUES` values, or themselves.

    Works on the parser's events, before anything is built: each anchor's size (its values,
    with the aliases inside it expanded) is known when its collection ends, and each alias adds
    its anchor's size to the total and to the collection it sits in, so nested aliases count
    as what they would become. An undefined alias is left to the loader's own error.
    """
    import yaml

    sizes: dict[str, int] = {}
    open_collections: list[tuple[str | None, list[int]]] = []  # (anchor, [size so far])
    repeated = 0
    for event in yaml.parse(block, Loader=loader):
        size = 0
        if isinstance(event, yaml.AliasEvent):
            mark = event.start_mark
            anchor, line = str(event.anchor), (mark.line + 2 if mark is not None else 1)
            if any(anchor == name for name, _ in open_collections):
                raise FrontMatterError(
                    f"YAML front matter: alias *{anchor} is inside the value &{anchor} it "
                    "repeats, so that value never ends; write the value out",
                    line,
                )
            size = sizes.get(anchor, 0)
            repeated += size
            if repeated > MAX_ALIASED_VALUES:
                raise FrontMatterError(
                    f"YAML front matter: alias *{anchor} brings the values that aliases repeat "
                    f"to {repeated:,}, more than the {MAX_ALIASED_VALUES:,} allowed; write the "
                    "values out instead of repeating them with & and *",
                    line,
                )
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = size
        elif isinstance(event, yaml.CollectionStartEvent):
            open_collections.append((event.anchor, [1]))
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor_name, (size,) = open_collections.pop()
            if anchor_name is not None:
                sizes[anchor_name] = size
        if size and open_collections:
            open_collections[-1][1][0] += size


def _parse_yaml(block: str) -> dict[str, Any]:
    simple = fast_yaml.load(block)  # never fails: it declines what it cannot read for sure
    if simple is not None:
        return simple  # keys already lower-cased
    import yaml

    handler, loader = _yaml_reader()
    try:
        if "*" in block:  # no '*', no alias: the usual front matter skips the extra pass
            _check_aliases(block, loader)
        data = handler.load(block, Loader=loader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, block) from exc
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"YAML front matter: {exc}", 1) from exc
    return _as_table(data, "YAML")


def _toml_error(message: str, block: str) -> FrontMatterError:
    """tomllib's message with its position moved into the file: line up front, column kept."""
    found = _TOML_POSITION.search(message)
    reason = (message[: found.start()] if found else message).strip() or "invalid TOML"
    if found is None:
        return FrontMatterError(f"TOML front matter: {reason}", 1)
    if found.group(1) is None:  # at the end: the last line of the block is the one to look at
        last = block.rstrip("\n").count("\n") + 2
        return FrontMatterError(
            f"TOML front matter: {reason} (at the end of the front matter)", last
        )
    line, column = int(found.group(1)) + 1, found.group(2)
    return FrontMatterError(f"TOML front matter: {reason} (column {column})", line)


def _parse_toml(block: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(block)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(str(exc), block) from exc
    return _as_table(data, "TOML")


_JSON_DECODER = json.JSONDecoder()


def _split_json(text: str) -> Document:
    try:
        data, end = _JSON_DECODER.raw_decode(text)
    except json.JSONDecodeError as exc:
        raise FrontMatterError(f"JSON front matter: {exc.msg}", exc.lineno) from exc
    _check_size(text[:end], "JSON", 1)  # after parsing: the post's own cap bounded that
    body = text[end:]
    newline = body.find("\n")
    if newline != -1 and not body[:newline].strip():
        body = body[newline + 1 :]
    return Document("json", _as_table(data, "JSON"), body)


def _check_size(front: str, name: str, line: int) -> None:
    """Refuse a front matter over :data:`MAX_FRONT_MATTER_BYTES` (counted in UTF-8 bytes)."""
    if len(front) * 4 <= MAX_FRONT_MATTER_BYTES:  # surely small: skip encoding it
        return
    size = len(front.encode("utf-8", "surrogatepass"))
    if size > MAX_FRONT_MATTER_BYTES:
        raise FrontMatterError(
            f"{name} front matter is {size:,} bytes, more than the "
            f"{MAX_FRONT_MATTER_BYTES:,} ({MAX_FRONT_MATTER_BYTES // 1024} KiB) allowed; "
            "keep metadata short and put long text in the body",
            line,
        )


def _too_deep(name: str, line: int) -> FrontMatterError:
    return FrontMatterError(
        f"{name} front matter is nested too deeply to read (lists or tables inside each other "
        "hundreds of levels deep); flatten it",
        line,
    )


def split(text: str) -> Document:
    """Split a whole file (already decoded) into front matter and body.

    Raises :class:`FrontMatterError` with the file's line number when the front matter is
    unterminated, too big, too deeply nested, or does not parse.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:  # Windows and old Mac line ends, as universal newlines would read them
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    for delimiter, parse, name in (("---", _parse_yaml, "YAML"), ("+++", _parse_toml, "TOML")):
        if text.startswith(delimiter):
            first_end = text.find("\n")
            if first_end == -1 or text[len(delimiter) : first_end].strip():
                continue
            closing = _closing(text, delimiter, first_end + 1)
            if closing is None:
                raise FrontMatterError(
                    f"{name} front matter opened with {delimiter} on line 1 is never closed", 1
                )
            block = text[first_end + 1 : closing[0]]
            _check_size(block, name, 1)
            fmt = "yaml" if delimiter == "---" else "toml"
            try:
                meta = parse(block)
            except RecursionError as exc:  # tomllib and lower_keys recurse per level
                raise _too_deep(name, 2) from exc
            return Document(fmt, meta, text[closing[1] :])
    if text.startswith("{"):
        try:
            return _split_json(text)
        except RecursionError as exc:  # the json module's documented answer to deep nesting
            raise _too_deep("JSON", 1) from exc
    return Document("none", {}, text)
