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


@pytest.mark.parametrize(
    "block",
    [
        "",
        "# nur ein Kommentar\n",
        "a: 1\nA: 2\n",
        "head:\nnext: 1\n",
        "head:\n  a: 1\n   b: 2\n",
        "head:\n  a: 1\n  b:\n    c: 1\n",
        "head:\n  - a\n  - b\n",
        "head:\n\ta: 1\n",
        "  eingerueckt: 1\n",
        "a: 1\n  # eingerueckter Kommentar\n",
        "a: 1\n...\n",
        "a: [1, 2\n",
    ],
)
def test_structures(block: str) -> None:
    agrees(block)


def test_random_combinations_agree() -> None:
    rng = random.Random(2017)
    lines = [f"{k}: {v}" for k, v in itertools.product(KEYS[:4], VALUES)]
    lines += ["headline:", "  enabled: false", '  background: ""', "  x: [a, b]", "", "# c"]
    for _ in range(2000):
        agrees("\n".join(rng.choice(lines) for _ in range(rng.randrange(1, 8))) + "\n")


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
