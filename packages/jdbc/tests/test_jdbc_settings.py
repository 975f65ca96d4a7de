"""The JDBC engines without a database server: settings, URLs, placeholders, the JVM, errors."""

from __future__ import annotations

import datetime
import decimal
import importlib
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from jdbc_servers import MARIADB_JAR, require_jar, unavailable

from dj_db_conn_pool.backends.jdbc import config, convert, dbapi, jvm, placeholders
from dj_db_conn_pool.backends.jdbc.mixin import JDBCDatabaseWrapperMixin
from integration.missing_driver import import_error


def read(**settings: Any) -> config.JDBCSettings:
    defaults = {"ENGINE": "dj_db_conn_pool.backends.jdbc", "NAME": "", "HOST": "", "PORT": ""}
    options = settings.pop("OPTIONS", {})
    driver = settings.pop("default_driver", None)
    return config.read({**defaults, **settings, "OPTIONS": options}, "db", driver, ("own",))


@pytest.mark.parametrize(
    ("driver", "host", "port", "name", "url"),
    [
        ("org.postgresql.Driver", "db", "5432", "app", "jdbc:postgresql://db:5432/app"),
        ("org.mariadb.jdbc.Driver", "", "", "app", "jdbc:mariadb://localhost/app"),
        ("com.mysql.cj.jdbc.Driver", "db", "", "", "jdbc:mysql://db/"),
        ("com.oceanbase.jdbc.Driver", "ob", "2883", "t", "jdbc:oceanbase://ob:2883/t"),
        ("oracle.jdbc.OracleDriver", "ora", "1521", "svc", "jdbc:oracle:thin:@//ora:1521/svc"),
        ("oracle.jdbc.OracleDriver", "", "", "tns_alias", "jdbc:oracle:thin:@tns_alias"),
    ],
)
def test_url_is_built_from_host_port_and_name(
    driver: str, host: str, port: str, name: str, url: str
) -> None:
    assert read(HOST=host, PORT=port, NAME=name, OPTIONS={"JDBC_DRIVER": driver}).url == url


def test_a_whole_jdbc_url_wins_over_host_port_and_name() -> None:
    settings = read(
        HOST="ignored",
        OPTIONS={"JDBC_DRIVER": "com.example.Driver", "JDBC_URL": "jdbc:example:db;x=1"},
    )
    assert settings.url == "jdbc:example:db;x=1"


def test_unknown_driver_without_url_says_what_to_set() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"'com.example.Driver'.*Set .*\['JDBC_URL'\]"):
        read(OPTIONS={"JDBC_DRIVER": "com.example.Driver"})


def test_the_generic_engine_needs_a_driver_class() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"\['JDBC_DRIVER'\] = None.*org.postgresql"):
        read()
    assert read(default_driver="org.postgresql.Driver").driver == "org.postgresql.Driver"


def test_socket_path_host_is_refused_with_the_reason() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"\['HOST'\] = '/run/pg' is a socket path"):
        read(HOST="/run/pg", OPTIONS={"JDBC_DRIVER": "org.postgresql.Driver"})


def test_bad_layer_names_the_setting_and_the_valid_values() -> None:
    with pytest.raises(
        ImproperlyConfigured,
        match=r"\['JDBC_DBAPI'\] = 'jdbc' is not valid: expected 'jaydebeapi' or 'jpype'",
    ):
        read(OPTIONS={"JDBC_DRIVER": "org.postgresql.Driver", "JDBC_DBAPI": "jdbc"})
    assert read(default_driver="org.postgresql.Driver").layer == "jaydebeapi"


def test_misspelt_jdbc_key_lists_the_valid_ones() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"unknown key 'JDBC_DRIVERS'.*JDBC_CLASSPATH"):
        read(OPTIONS={"JDBC_DRIVERS": "x"})


def test_other_options_are_driver_properties_as_strings() -> None:
    settings = read(
        USER="app",
        PASSWORD="secret",
        OPTIONS={
            "JDBC_DRIVER": "org.postgresql.Driver",
            "JDBC_CLASSPATH": "/x.jar",
            "ssl": False,
            "connectTimeout": 5,
            "own": "read by Django",  # the engine's own key, not the driver's
        },
    )
    assert settings.properties == {
        "user": "app",
        "password": "secret",
        "ssl": "false",
        "connectTimeout": "5",
    }
    assert settings.classpath == ("/x.jar",)
    with pytest.raises(ImproperlyConfigured, match=r"\['ssl'\] = \{\}: driver properties"):
        read(OPTIONS={"JDBC_DRIVER": "org.postgresql.Driver", "ssl": {}})
    with pytest.raises(ImproperlyConfigured, match=r"JDBC_CLASSPATH'\] = 3 is not valid"):
        read(OPTIONS={"JDBC_DRIVER": "org.postgresql.Driver", "JDBC_CLASSPATH": 3})


@pytest.mark.parametrize(
    ("sql", "params", "expected"),
    [
        ("SELECT %s, %s", [1, "a"], ("SELECT ?, ?", [1, "a"])),
        ("SELECT %(b)s, %(a)s, %(b)s", {"a": 1, "b": 2}, ("SELECT ?, ?, ?", [2, 1, 2])),
        ("SELECT '100%%', %s", (5,), ("SELECT '100%', ?", [5])),
        ("SELECT 1", [], ("SELECT 1", [])),
    ],
)
def test_django_placeholders_become_jdbc_ones(sql: str, params: Any, expected: Any) -> None:
    assert placeholders.convert(sql, params) == expected


@pytest.mark.parametrize(
    ("sql", "params", "message"),
    [
        ("SELECT %s", {"a": 1}, "positional %s placeholders"),
        ("SELECT %(a)s", [1], "need the parameters as a mapping"),
        ("SELECT %(a)s", {"b": 1}, "no parameter named 'a'"),
        ("SELECT %s", [1, 2], "1 placeholders but 2 parameters"),
    ],
)
def test_placeholder_mismatches_are_programming_errors(sql: str, params: Any, message: str) -> None:
    with pytest.raises(dbapi.ProgrammingError, match=message):
        placeholders.convert(sql, params)


ENGINES = {
    "dj_db_conn_pool.backends.jdbc": ("jdbc", None),
    "dj_db_conn_pool.backends.jdbc.oceanbase": ("OceanBase", "com.oceanbase.jdbc.Driver"),
    "dj_db_conn_pool.backends.jdbc.oceanbase.mysql": ("mysql", "com.oceanbase.jdbc.Driver"),
    "dj_db_conn_pool.backends.jdbc.oceanbase.oracle": ("oracle", "com.oceanbase.jdbc.Driver"),
    "dj_db_conn_pool.backends.jdbc.oracle": ("oracle", "oracle.jdbc.OracleDriver"),
}


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_is_a_django_backend_with_jdbc_connections(engine: str) -> None:
    wrapper = importlib.import_module(f"{engine}.base").DatabaseWrapper
    vendor, driver = ENGINES[engine]
    assert issubclass(wrapper, JDBCDatabaseWrapperMixin)
    assert wrapper.vendor == vendor and wrapper.jdbc_driver == driver
    assert wrapper.Database is dbapi
    if vendor in ("mysql", "oracle"):  # Django's own backend for the dialect is beneath
        django_backend = importlib.import_module(f"django.db.backends.{vendor}.base")
        assert issubclass(wrapper, django_backend.DatabaseWrapper)


@pytest.mark.parametrize(
    ("engine", "blocked", "extra"),
    [
        ("dj_db_conn_pool.backends.jdbc.oceanbase.mysql.base", "MySQLdb", "[mysql]"),
        ("dj_db_conn_pool.backends.jdbc.oracle.base", "oracledb", "[oracle]"),
    ],
)
def test_missing_python_driver_says_which_extra_to_install(
    engine: str, blocked: str, extra: str
) -> None:
    stderr = import_error(engine, blocked)
    assert "ImproperlyConfigured" in stderr
    assert f"pip install 'django-db-connection-pool-jdbc{extra}'" in stderr


def test_missing_jar_is_named_before_the_jvm_starts() -> None:
    with pytest.raises(
        ImproperlyConfigured, match=r"X\['JDBC_CLASSPATH'\]: no jar file at '/no/such.jar'"
    ):
        jvm.ensure_started(["/no/such.jar"], "X['JDBC_CLASSPATH']")


def require_jvm() -> None:
    try:
        jvm.ensure_started([], "test")
    except ImproperlyConfigured as error:
        unavailable(f"no Java runtime: {error}")


def test_missing_driver_class_lists_the_classpath_searched() -> None:
    require_jvm()
    settings = read(OPTIONS={"JDBC_DRIVER": "com.example.NoSuchDriver", "JDBC_URL": "jdbc:x:"})
    with pytest.raises(ImproperlyConfigured) as error:
        dbapi.connect(settings, dbapi.GENERIC, "DATABASES['db']['OPTIONS']")
    message = str(error.value)
    assert "the JVM has no class 'com.example.NoSuchDriver'" in message
    assert "Its classpath:" in message


def test_a_driver_that_refuses_the_url_says_so() -> None:
    require_jvm()
    if not os.path.isfile(MARIADB_JAR):
        unavailable(f"no JDBC driver jar at {MARIADB_JAR}: apt-get install libmariadb-java")
    settings = read(
        OPTIONS={
            "JDBC_DRIVER": "org.mariadb.jdbc.Driver",
            "JDBC_URL": "jdbc:postgresql://db/x",
            "JDBC_CLASSPATH": [MARIADB_JAR],
        }
    )
    with pytest.raises(
        ImproperlyConfigured, match="does not take the URL 'jdbc:postgresql://db/x'"
    ):
        dbapi.connect(settings, dbapi.GENERIC, "DATABASES['db']['OPTIONS']")
    assert MARIADB_JAR in jvm.searched()


def test_java_home_without_a_jvm_is_refused_naming_it() -> None:
    code = (
        "from dj_db_conn_pool.backends.jdbc import jvm\n"
        "try:\n    jvm.ensure_started([], 'test')\n"
        "except Exception as error:\n    print(type(error).__name__, error)\n"
    )
    env = {**os.environ, "JAVA_HOME": "/nonexistent/jdk"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert "ImproperlyConfigured JAVA_HOME='/nonexistent/jdk' holds no Java VM" in result.stdout


def test_python_values_cross_to_java_and_back() -> None:
    require_jvm()
    aware = datetime.datetime(
        2024, 5, 6, 7, 8, 9, 10, tzinfo=datetime.timezone(datetime.timedelta(hours=-3))
    )
    values = [
        decimal.Decimal("-12.3400"),
        datetime.datetime(2024, 2, 29, 23, 59, 59, 999999),
        aware,
        datetime.date(1, 1, 1),
        datetime.time(0, 0, 0, 1),
        b"\x00\x01",
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        2**70,
    ]
    back = [convert.from_java(convert.to_java(value)) for value in values]
    assert back[:-1] == values[:-1]
    assert back[-1] == decimal.Decimal(2**70)  # beyond a long: a BigDecimal
    assert back[2].utcoffset() == datetime.timedelta(hours=-3)
    with pytest.raises(TypeError, match="no interval type"):
        convert.to_java(datetime.timedelta(1))


def _oceanbase_mysql_driver(monkeypatch: pytest.MonkeyPatch, **options: Any) -> str:
    """Return the driver class jdbc.oceanbase.mysql picks for these OPTIONS."""
    from dj_db_conn_pool.backends.jdbc.oceanbase.mysql.base import DatabaseWrapper

    monkeypatch.delenv("CLASSPATH", raising=False)
    settings = {"ENGINE": "x", "NAME": "t", "HOST": "ob", "PORT": "2881", "OPTIONS": options}
    return DatabaseWrapper(settings, "ob").jdbc_settings().driver


def test_oceanbase_mysql_takes_oceanbases_driver_when_its_jar_is_on_the_classpath(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    jar = tmp_path / "oceanbase-client.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("com/oceanbase/jdbc/Driver.class", b"")
    classpath = [MARIADB_JAR, str(jar)]
    driver = _oceanbase_mysql_driver(monkeypatch, JDBC_CLASSPATH=classpath)
    assert driver == "com.oceanbase.jdbc.Driver"


def test_oceanbase_mysql_falls_back_to_mariadb_connector_j(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jar = require_jar(MARIADB_JAR, "libmariadb-java")
    driver = _oceanbase_mysql_driver(monkeypatch, JDBC_CLASSPATH=jar)
    assert driver == "org.mariadb.jdbc.Driver"


def test_oceanbase_mysql_jdbc_driver_setting_wins_over_the_classpath(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = {"JDBC_CLASSPATH": MARIADB_JAR, "JDBC_DRIVER": "com.mysql.cj.jdbc.Driver"}
    driver = _oceanbase_mysql_driver(monkeypatch, **options)
    assert driver == "com.mysql.cj.jdbc.Driver"
