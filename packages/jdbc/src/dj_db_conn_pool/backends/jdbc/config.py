"""An alias's JDBC settings: driver class, URL, classpath, DB-API layer, driver properties.

Everything comes from DATABASES[alias]: USER and PASSWORD become the driver's
`user` and `password` properties; OPTIONS keys starting with JDBC_ are ours;
every other OPTIONS key is a driver property (a string, as java.util.Properties
wants), except the few that the Django backend beneath reads itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

LAYERS = ("jaydebeapi", "jpype")
# JayDeBeApi: 2-3x faster per statement than jpype.dbapi2, which asks the driver
# for the parameters' metadata on every execute and batch row (a round trip with
# MariaDB Connector/J and pgjdbc); see bench/jdbc_dbapi.py.
DEFAULT_LAYER = "jaydebeapi"

KEYS = {
    "JDBC_DRIVER": "the driver's class name, such as 'org.postgresql.Driver'",
    "JDBC_URL": "the whole JDBC URL; HOST, PORT and NAME are then not used",
    "JDBC_CLASSPATH": "the driver's jar files: a list of paths, or one path",
    "JDBC_DBAPI": f"the DB-API layer: {' or '.join(map(repr, LAYERS))}",
}

# The URL each known driver takes; HOST, PORT and NAME complete it.
URL_PREFIXES = {
    "org.postgresql.Driver": "jdbc:postgresql://",
    "org.mariadb.jdbc.Driver": "jdbc:mariadb://",
    "com.mysql.cj.jdbc.Driver": "jdbc:mysql://",
    "com.oceanbase.jdbc.Driver": "jdbc:oceanbase://",
    "oracle.jdbc.OracleDriver": "jdbc:oracle:thin:@//",
    "oracle.jdbc.driver.OracleDriver": "jdbc:oracle:thin:@//",
}


@dataclass(frozen=True)
class JDBCSettings:
    """What it takes to open one JDBC connection."""

    driver: str
    url: str
    classpath: tuple[str, ...]
    layer: str
    properties: Mapping[str, str]


def read(
    settings_dict: Mapping[str, Any],
    alias: str,
    default_driver: str | None = None,
    reserved: Iterable[str] = (),
) -> JDBCSettings:
    """Return the alias's JDBC settings, or raise ImproperlyConfigured saying what is wrong.

    `default_driver` is the engine's driver class (None: JDBC_DRIVER is required);
    `reserved` names OPTIONS keys that the Django backend reads, not the driver.
    """
    where = f"DATABASES[{alias!r}]['OPTIONS']"
    options = settings_dict.get("OPTIONS") or {}
    if not isinstance(options, Mapping):
        raise ImproperlyConfigured(f"{where} must be a dict, not {type(options).__name__}.")
    for key in options:
        if isinstance(key, str) and key.startswith("JDBC_") and key not in KEYS:
            valid = "; ".join(f"{name}: {meaning}" for name, meaning in KEYS.items())
            raise ImproperlyConfigured(f"{where}: unknown key {key!r}. Valid JDBC keys: {valid}.")

    driver = options.get("JDBC_DRIVER", default_driver)
    if not isinstance(driver, str) or not driver:
        raise ImproperlyConfigured(
            f"{where}['JDBC_DRIVER'] = {driver!r}: the engine "
            f"{settings_dict.get('ENGINE')!r} needs the driver's class name, such as "
            f"{', '.join(map(repr, URL_PREFIXES))}."
        )
    layer = options.get("JDBC_DBAPI", DEFAULT_LAYER)
    if layer not in LAYERS:
        raise ImproperlyConfigured(
            f"{where}['JDBC_DBAPI'] = {layer!r} is not valid: expected "
            f"{' or '.join(map(repr, LAYERS))}."
        )
    return JDBCSettings(
        driver=driver,
        url=_url(settings_dict, options, driver, alias),
        classpath=_classpath(options.get("JDBC_CLASSPATH"), where),
        layer=layer,
        properties=_properties(settings_dict, options, set(reserved), where),
    )


def _url(
    settings_dict: Mapping[str, Any], options: Mapping[str, Any], driver: str, alias: str
) -> str:
    where = f"DATABASES[{alias!r}]['OPTIONS']"
    url = options.get("JDBC_URL")
    if url is not None:
        if not isinstance(url, str) or not url.startswith("jdbc:"):
            raise ImproperlyConfigured(
                f"{where}['JDBC_URL'] = {url!r} is not valid: expected a string "
                f"starting with 'jdbc:'."
            )
        return url
    prefix = URL_PREFIXES.get(driver)
    if prefix is None:
        raise ImproperlyConfigured(
            f"{where}: no JDBC_URL, and the driver {driver!r} is not one whose URL can be "
            f"built from HOST, PORT and NAME ({', '.join(URL_PREFIXES)}). "
            f"Set {where}['JDBC_URL']."
        )
    host = str(settings_dict.get("HOST") or "")
    port = str(settings_dict.get("PORT") or "")
    name = str(settings_dict.get("NAME") or "")
    if host.startswith("/"):
        raise ImproperlyConfigured(
            f"DATABASES[{alias!r}]['HOST'] = {host!r} is a socket path; JDBC drivers "
            f"connect over TCP: give a host name or address, or the whole {where}['JDBC_URL']."
        )
    if prefix.startswith("jdbc:oracle:") and not host:
        return f"jdbc:oracle:thin:@{name}"  # NAME is a TNS alias or a connect descriptor
    address = f"{host or 'localhost'}:{port}" if port else host or "localhost"
    return f"{prefix}{address}/{name}"


def _classpath(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ImproperlyConfigured(
        f"{where}['JDBC_CLASSPATH'] = {value!r} is not valid: expected a list of jar paths "
        f"or one path."
    )


def _properties(
    settings_dict: Mapping[str, Any], options: Mapping[str, Any], reserved: set[str], where: str
) -> dict[str, str]:
    properties: dict[str, str] = {}
    for name, setting in (("user", "USER"), ("password", "PASSWORD")):
        if settings_dict.get(setting):
            properties[name] = str(settings_dict[setting])
    for key, value in options.items():
        if key in KEYS or key in reserved:
            continue
        if isinstance(value, bool):
            properties[str(key)] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            properties[str(key)] = str(value)
        else:
            raise ImproperlyConfigured(
                f"{where}[{key!r}] = {value!r}: driver properties must be strings, numbers "
                f"or booleans (JDBC passes them as java.util.Properties)."
            )
    return properties
