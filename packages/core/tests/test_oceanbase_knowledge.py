"""What the OceanBase engines know about OceanBase, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from dj_db_conn_pool import oceanbase


@pytest.mark.parametrize(
    ("server_info", "expected"),
    [
        ("5.7.25-OceanBase seekdb-v1.4.0.0", True),
        ("5.7.25-OceanBase_CE-v4.2.1.2", True),
        ("10.11.6-MariaDB-0+deb12u1", False),
        ("8.4.3", False),
    ],
)
def test_oceanbase_is_told_by_its_version_string(server_info: str, expected: bool) -> None:
    assert oceanbase.is_oceanbase(server_info) is expected


def test_ob_version_is_parsed_into_a_comparable_tuple() -> None:
    assert oceanbase.parse_version("4.3.5.3") == (4, 3, 5, 3)
    assert oceanbase.parse_version("4.3.5.3") >= oceanbase.MINIMUM_VERSION
    with pytest.raises(ValueError, match="not an OceanBase version"):
        oceanbase.parse_version("seekdb")


class _DjangoFeatures:
    has_select_for_update_of = True
    minimum_database_version = (8, 0, 11)


class _Features(oceanbase.OceanBaseFeaturesMixin, _DjangoFeatures):
    def __init__(self, connection: Any) -> None:
        self.connection = connection


class _Connection:
    def __init__(self, is_oceanbase: bool) -> None:
        self.is_oceanbase = is_oceanbase


def test_feature_flags_are_oceanbases_only_on_oceanbase() -> None:
    on_oceanbase = _Features(_Connection(is_oceanbase=True))
    elsewhere = _Features(_Connection(is_oceanbase=False))
    assert on_oceanbase.has_select_for_update_of is False
    assert on_oceanbase.minimum_database_version == oceanbase.MINIMUM_VERSION
    assert elsewhere.has_select_for_update_of is True
    assert elsewhere.minimum_database_version == (8, 0, 11)


class _DjangoSchemaEditor:
    def skip_default(self, field: str) -> bool:
        return False

    def _is_limited_data_type(self, field: str) -> bool:
        return field in ("text", "json")


class _SchemaEditor(oceanbase.OceanBaseSchemaEditorMixin, _DjangoSchemaEditor):
    def __init__(self, connection: Any) -> None:
        self.connection = connection


def test_text_and_json_defaults_are_skipped_only_on_oceanbase() -> None:
    on_oceanbase = _SchemaEditor(_Connection(is_oceanbase=True))
    elsewhere = _SchemaEditor(_Connection(is_oceanbase=False))
    assert on_oceanbase.skip_default("json") is True
    assert on_oceanbase.skip_default("int") is False
    assert elsewhere.skip_default("json") is False
