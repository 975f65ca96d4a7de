"""The process's Java VM: started once, with an explicit classpath, through JPype.

The classpath is the jars of OPTIONS['JDBC_CLASSPATH'] plus the CLASSPATH
environment variable (entries ending in `*` stand for every jar of that
folder). An alias that connects after the JVM started adds its jars to the
running JVM (JPype's class loader takes jars at any time). The JVM comes from
JAVA_HOME when set, otherwise from JPype's search of the usual places.

A JVM does not survive fork(): start it in the worker processes, not in a
parent that forks them (gunicorn --preload, Celery prefork).
"""

from __future__ import annotations

import functools
import glob
import logging
import os
import threading
import zipfile
from collections.abc import Sequence

import jpype
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger("dj_db_conn_pool")

_lock = threading.Lock()
_classpath: list[str] = []  # what the JVM was given, in order, with where each came from
_origins: dict[str, str] = {}


def _expand(entry: str) -> list[str]:
    if entry.endswith("*"):
        return sorted(glob.glob(entry[:-1] + "*.jar") + glob.glob(entry[:-1] + "*.JAR"))
    return [entry]


def _environment_classpath() -> list[str]:
    value = os.environ.get("CLASSPATH", "")
    return [jar for entry in value.split(os.pathsep) if entry for jar in _expand(entry)]


def find_class(candidates: Sequence[str], jars: Sequence[str]) -> str | None:
    """Return the first class of `candidates` in these jars or CLASSPATH's, without a JVM."""
    paths = [path for jar in jars for path in _expand(jar)] + _environment_classpath()
    for name in candidates:
        if any(_jar_has(path, name) for path in paths):
            return name
    return None


@functools.lru_cache(maxsize=64)
def _jar_has(path: str, class_name: str) -> bool:
    entry = class_name.replace(".", "/") + ".class"
    try:
        with zipfile.ZipFile(path) as jar:
            return entry in jar.namelist()
    except (OSError, zipfile.BadZipFile):
        return False  # ensure_started() says what is wrong with the path


def searched() -> str:
    """Say which jars the JVM has, and where each came from."""
    if not _classpath:
        return "no jars (OPTIONS['JDBC_CLASSPATH'] and CLASSPATH are empty)"
    return "; ".join(f"{jar} (from {_origins[jar]})" for jar in _classpath)


def ensure_started(jars: Sequence[str], where: str) -> None:
    """Start the JVM with these jars and CLASSPATH's, or add these jars to the running JVM.

    `where` names the setting the jars come from, for error messages.
    """
    missing = [jar for jar in jars for path in _expand(jar) if not os.path.isfile(path)]
    missing += [jar for jar in jars if jar.endswith("*") and not _expand(jar)]
    if missing:
        raise ImproperlyConfigured(
            f"{where}: no jar file at {', '.join(map(repr, missing))}. Give the paths of "
            f"the JDBC driver's jars (Debian installs them under /usr/share/java)."
        )
    wanted = [(path, where) for jar in jars for path in _expand(jar)]
    with _lock:
        if not jpype.isJVMStarted():
            wanted += [
                (path, "the CLASSPATH environment variable") for path in _environment_classpath()
            ]
            _start([path for path, origin in wanted if _add(path, origin)])
            return
        for path, origin in wanted:
            if _add(path, origin):
                jpype.addClassPath(path)
                logger.info("added %s to the running JVM's classpath (from %s)", path, origin)


def _add(path: str, origin: str) -> bool:
    if path in _origins:
        return False
    _origins[path] = origin
    _classpath.append(path)
    return True


_LIBJVM = ("libjvm.so", "libjvm.dylib", "jvm.dll")


def _jvm_path() -> str:
    """Return the JVM library: JAVA_HOME's when set (JPype would quietly look elsewhere)."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        found = sorted(
            (
                path
                for name in _LIBJVM
                for path in glob.glob(f"{java_home}/**/{name}", recursive=True)
            ),
            key=lambda path: "server" not in path,  # the server VM before the client VM
        )
        if not found:
            raise ImproperlyConfigured(
                f"JAVA_HOME={java_home!r} holds no Java VM: searched it for "
                f"{', '.join(_LIBJVM)}. Point JAVA_HOME at a Java runtime, or unset it."
            )
        return found[0]
    try:
        return str(jpype.getDefaultJVMPath())
    except (jpype.JVMNotFoundException, jpype.JVMNotSupportedException) as error:
        raise ImproperlyConfigured(
            f"No Java VM for the JDBC engines: JAVA_HOME is not set, and JPype found none "
            f"through the `java` on PATH or under /usr/lib/jvm, /usr/java, /opt/sun ({error}). "
            f"Install a Java runtime (Debian: default-jre-headless) or set JAVA_HOME."
        ) from error


def _start(classpath: list[str]) -> None:
    jvm_path = _jvm_path()
    # Java strings stay Java objects until the readers convert them: faster.
    jpype.startJVM(jvm_path, classpath=classpath, convertStrings=False)
    logger.info("started the JVM %s with classpath: %s", jvm_path, searched())
