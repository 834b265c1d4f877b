"""The YAML fast path never disagrees with PyYAML: it either gives the same mapping or declines."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
import yaml

from digestmail.content import fast_yaml
from digestmail.content.frontmatter import _yaml_reader, lower_keys, split
from tests.helpers.paths import FIXTURES, REPO

VALUES = [
    '"Text mit Ümlaut"',
    "'einfach'",
    '"C# und: Doppelpunkt"',
    '""',
    "''",
    "Freitext ohne Quotes",
    "true",
    "False",
    "yes",
    "Off",
    "null",
    "~",
    "42",
    "-7",
    "0",
    "012",
    "1:20",
    "3.5",
    ".inf",
    "2017-11-10",
    "2017-11-10T09:00:00",
    "2017-11-10 09:00:00 +01:00",
    "2017-11-10T09:00:00Z",
    "2017-11-10 09:00",
    '["a", "b"]',
    '[""]',
    "[a, b]",
    "[]",
    "[ ]",
    "[a,]",
    '["a, b"]',
    "{}",
    '"mit \\"Escape\\""',
    "'it''s'",
    '"a" # Kommentar',
    "Text # Kommentar",
    "&anker Wert",
    "*anker",
    "!tag Wert",
    "| Block",
    "> gefaltet",
    "- Liste",
    "@at",
    "`tick`",
    "Wert:",
    "a: b",
    "ǅ Titelcase",
    "Ende ",
    "Linkerd's proxy!",
    "a: b:c",
    "C# und F#",
    "Text, mit [Klammern] & {mehr}",
    "http://example.org/x",
    "0.25",
    "-1.5",
    "1.",
    "01.5",
    "/docs/getting-started/",
    "./getting-started",
    ".5",
    ".inf",
    ".NaN",
    ".versteckt",
    "8+",
    "10,000+",
    "3D-Druck",
    "1_000",
    "0x1F",
    "0o17",
    "1e3",
    "1.5e+3",
    "2017-11-10T09:00:00 Uhr",
    "🇧🇷",
    "§ 5 Satzung",
    "[a, b] # Kommentar",
    "[a, b #c]",
    "Text #kein Kommentar",
    "Text\t# Tab-Kommentar",
    "# nur Kommentar",
    "(Klammer)",
    "=",
    "<<",
    "-x",
    "+1",
    "_unter",
    "?frage",
]
KEYS = ["title", "Date", "draft_2", "my-key", "2zahl", "mit leer", '"quoted"']


def pyyaml(block: str) -> Any:
    try:
        data = yaml.load(block, Loader=_yaml_reader()[1])
    except yaml.YAMLError:
        return "ERROR"
    if data is None:
        return {}  # an empty block is an empty mapping for both (frontmatter._as_table)
    return lower_keys(data) if isinstance(data, dict) else data


def agrees(block: str) -> None:
    fast = fast_yaml.load(block)
    if fast is not None:
        assert fast == pyyaml(block), block


@pytest.mark.parametrize("value", VALUES)
def test_each_value_form(value: str) -> None:
    agrees(f"title: {value}\n")
    agrees(f"headline:\n  background: {value}\n")
    agrees(f"tags: [{value}]\n")


@pytest.mark.parametrize("key", KEYS)
def test_each_key_form(key: str) -> None:
    agrees(f"{key}: 1\n")


DECLINE = None
"""``fast_yaml.load`` answers ``None`` when the block is outside its subset (PyYAML decides)."""


@pytest.mark.parametrize(
    ("block", "fast"),
    [
        # taken: the subset covers these, and the answer must be PyYAML's
        ("", {}),
        ("# nur ein Kommentar\n", {}),
        ("head:\nnext: 1\n", {"head": None, "next": 1}),
        (
            "d: Erste Zeile\n  zweite's Zeile\n    dritte\nx: 1\n",
            {"d": "Erste Zeile zweite's Zeile dritte", "x": 1},
        ),
        ("d:\n  Nur unten,\n  auf zwei Zeilen.\n", {"d": "Nur unten, auf zwei Zeilen."}),
        ("d:\n  unten\n", {"d": "unten"}),
        ("d: |-\n  Zeile 1\n\n    eingerückt\n\nx: 1\n", {"d": "Zeile 1\n\n  eingerückt", "x": 1}),
        ("d: |\n  Zeile 1\n  Zeile 2\n\n", {"d": "Zeile 1\nZeile 2\n"}),
        ("d: |\n  ohne Zeilenende", {"d": "ohne Zeilenende"}),
        ("p:\n  priority: 1.0\n", {"p": {"priority": 1.0}}),
        ("head:\n  a: 1\n  b:\n    c: 1\n", {"head": {"a": 1, "b": {"c": 1}}}),
        ("head:\n  - a\n  - b\n", {"head": ["a", "b"]}),
        ("head:\n- a\n- b\nnext: 1\n", {"head": ["a", "b"], "next": 1}),
        (
            "params:\n  hero:\n    Title: Ein Held\n    buttons:\n      - text: Los\n"
            "        href: /docs/\n\n      - text: Mehr\n        Variant: secondary\n"
            "  stats:\n  - stat: Jahre\n    value: 8+\n  # Kommentar\n  about:\n"
            "    title: |-\n      Zeile eins\n      Zeile zwei\nx: 1\n",
            {
                "params": {
                    "hero": {
                        "title": "Ein Held",
                        "buttons": [
                            {"text": "Los", "href": "/docs/"},
                            {"text": "Mehr", "variant": "secondary"},
                        ],
                    },
                    "stats": [{"stat": "Jahre", "value": "8+"}],
                    "about": {"title": "Zeile eins\nZeile zwei"},
                },
                "x": 1,
            },
        ),
        (
            "faq:\n  - question: Wer?\n    answer: |\n      Wir.\n",
            {"faq": [{"question": "Wer?", "answer": "Wir.\n"}]},
        ),
        ("d:\n  a:\n  b: 2\n", {"d": {"a": None, "b": 2}}),
        ("d:\n  -   a: 1\n      b: [x, y]\n", {"d": [{"a": 1, "b": ["x", "y"]}]}),
        # declined: each is outside the subset, for the reason given
        ("a: 1\nA: 2\n", DECLINE),  # keys that are duplicates once lower-cased
        ("head:\n  a: 1\n   b: 2\n", DECLINE),  # uneven nested indent (a PyYAML error)
        ("head:\n\ta: 1\n", DECLINE),  # a tab as indent (a PyYAML error)
        ("  eingerueckt: 1\n", DECLINE),  # an indented top-level key
        ("a: 1\n  # eingerueckter Kommentar\n", DECLINE),  # an indented comment
        ("a: 1\n...\n", DECLINE),  # a document end marker
        ("a: [1, 2\n", DECLINE),  # an unclosed flow sequence (a PyYAML error)
        ("d: Text\n  weiter # Kommentar\n", DECLINE),  # a comment after a further line
        ("d: Text\n\n  nach Leerzeile\n", DECLINE),  # a blank line inside a plain text
        ("d: 1\n  2\n", DECLINE),  # a further line after a number
        ('d: "zitiert"\n  weiter\n', DECLINE),  # after a quoted text (a PyYAML error)
        ("d: |2\n  Text\n", DECLINE),  # an indentation indicator
        ("d: >-\n  gefaltet\n", DECLINE),  # a folded block
        ("d: |\n\n  Text\n", DECLINE),  # a literal block opening with a blank line
        ("d: |\n  \tTab\n", DECLINE),  # a tab in a literal block (a PyYAML error here)
        ("d:\n  - a\n  -\n    b: 1\n", DECLINE),  # a block below a bare '-'
        ("d:\n  - - a\n", DECLINE),  # a sequence in a sequence
        ("d:\n  - |\n    Text\n", DECLINE),  # a block text as an entry
        ("d:\n  - Text\n    weiter\n", DECLINE),  # an entry's text over two lines
        ("d:\n  a: Text\n    weiter\n", DECLINE),  # a nested text over two lines
        ("d:\n  - a\n  b: 1\n", DECLINE),  # a key after a sequence at its indent (an error)
        ("d:\n  a: 1\n b: 2\n", DECLINE),  # a key between two indents (an error)
        ("d:\n  - a: 1\n     b: 2\n", DECLINE),  # an entry's keys at uneven indents
        ("d:\n  x: &a 1\n  y: *a\n", DECLINE),  # an anchor and alias, nested
        ("d:\n  a:\n\t- 1\n", DECLINE),  # a tab in front of a nested node
    ],
)
def test_structures(block: str, fast: dict[str, Any] | None) -> None:
    """The fast path takes exactly the blocks it should, and then agrees with PyYAML."""
    got = fast_yaml.load(block)
    if fast is DECLINE:
        assert got is None, f"the fast path should leave {block!r} to PyYAML, gave {got!r}"
    else:
        assert got is not None, f"the fast path should take {block!r}"
        assert got == fast == pyyaml(block), block


def test_random_combinations_agree() -> None:
    rng = random.Random(2017)
    lines = [f"{k}: {v}" for k, v in itertools.product(KEYS[:4], VALUES)]
    lines += ["headline:", "  enabled: false", '  background: ""', "  x: [a, b]", "", "# c"]
    lines += [
        "desc: |",
        "desc: |-",
        "desc:",
        "  weiter geht's",
        "    tiefer",
        "  - x",
        "  ",
        "  # c",
    ]
    lines += ["  C# und: F#", "  http://x.y/z", "  'q'", "  yes", "  12", "  1.5", "   "]
    for _ in range(2000):
        agrees("\n".join(rng.choice(lines) for _ in range(rng.randrange(1, 8))) + "\n")


def _render(rng: random.Random, depth: int, indent: int) -> list[str]:
    """A random block mapping at ``indent``: scalars, literal blocks, mappings and sequences."""
    lines: list[str] = []
    pad = " " * indent
    for _ in range(rng.randrange(1, 4)):
        key = rng.choice(["title", "Text", "url", "items", "a_b", "x-y"]) + str(rng.randrange(3))
        kind = rng.choice(
            ["scalar", "scalar", "literal", "map", "seq"] if depth < 3 else ["scalar"]
        )
        if kind == "scalar":
            lines.append(f"{pad}{key}: {rng.choice(VALUES)}")
        elif kind == "literal":
            lines += [f"{pad}{key}: {rng.choice(['|', '|-'])}", f"{pad}  Zeile", f"{pad}  zwei"]
        elif kind == "map":
            lines.append(f"{pad}{key}:")
            lines += _render(rng, depth + 1, indent + rng.choice([1, 2, 4]))
        else:
            lines.append(f"{pad}{key}:")
            inner = indent + rng.choice([0, 2, 4])  # 0: the sequence at its key's indent
            for _ in range(rng.randrange(1, 4)):
                if rng.random() < 0.5:
                    lines.append(f"{' ' * inner}- {rng.choice(VALUES)}")
                else:
                    entry = _render(rng, depth + 1, inner + 2)
                    entry[0] = f"{' ' * inner}- {entry[0][inner + 2 :]}"
                    lines += entry
        if rng.random() < 0.1:
            lines.append(rng.choice(["", "# Kommentar", pad + "# eingerückt", pad + "  "]))
    return lines


def test_random_nested_blocks_agree() -> None:
    """Mappings and sequences inside each other at random indents, with values of every form;
    and the same blocks with one line moved to another indent, which PyYAML mostly refuses."""
    rng = random.Random(2026)
    taken = 0
    for _ in range(3000):
        lines = _render(rng, 0, 0)
        if rng.random() < 0.3:
            n = rng.randrange(len(lines))
            lines[n] = " " * rng.randrange(5) + lines[n].lstrip(" ")
        block = "\n".join(lines) + "\n"
        agrees(block)
        taken += fast_yaml.load(block) is not None
    assert taken > 600  # the generator reaches the fast path, not only PyYAML's


def test_fast_path_takes_the_seed_shape() -> None:
    block = (
        'title: "Mein Tipp"\ndate: "2017-11-10"\ndraft: false\nauthor: "A B"\n'
        'categories: "veranstaltungstipp"\ntags: [""]\nthumbnail: ""\n'
        'headline:\n  enabled: false\n  background: ""\n'
    )
    assert fast_yaml.load(block) == pyyaml(block)
    assert fast_yaml.load(block) is not None


def test_every_shipped_and_fixture_post_reads_the_same_both_ways() -> None:
    files = [*REPO.glob("content/**/*.md"), *FIXTURES.glob("**/*.md")]
    assert len(files) > 20
    taken = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        if not text.startswith("---\n"):
            continue
        block = text[4 : text.index("\n---", 3) + 1]
        fast = fast_yaml.load(block)
        if fast is not None:
            taken += 1
            assert fast == pyyaml(block), path
            assert split(text).meta == fast
    assert taken > 15
