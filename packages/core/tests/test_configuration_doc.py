"""docs/configuration.md documents every POOL_OPTIONS key with its real default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dj_db_conn_pool.options import OPTIONS

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


@pytest.fixture(scope="module")
def doc() -> str:
    if not DOC.exists():
        pytest.skip(f"{DOC} is not here (an installed package's tests)")
    return DOC.read_text()


def test_every_key_has_a_section(doc: str) -> None:
    sections = re.findall(r"^### (\w+)$", doc, re.MULTILINE)
    assert sections == list(OPTIONS)


def test_the_table_gives_each_keys_default_and_valid_values(doc: str) -> None:
    rows = {
        key: (default, valid)
        for key, default, valid in re.findall(
            r"^\| `(\w+)` \| `([^`]+)` \| (.+) \|$", doc, re.MULTILINE
        )
    }
    assert list(rows) == list(OPTIONS)
    for key, option in OPTIONS.items():
        default, valid = rows[key]
        assert default == repr(option.default).replace("'", '"'), key
        assert re.sub(r'`"(\w+)"`', r"'\1'", valid) == option.valid, key
