"""What the pool reads from the client library that mysqlclient does not expose.

- Whether a transaction may be open, without a round trip: every OK packet
  from the server carries a status word, which the client library keeps in its
  MYSQL struct; MariaDB Connector/C hands it out through mariadb_get_infov().
  A ctypes call costs a few µs at every return in a real request loop (its
  code runs cold after each wait on the server), so the word is read where it
  lies, in mysqlclient's own copy of the struct, once its place is confirmed
  (_find_status); otherwise through the call. Built against Oracle's
  libmysqlclient, which lacks that function, the flag is unknown and the pool
  rolls back on every return to be safe. The word is the last OK packet's, not
  the server's state: an ERR packet carries none, and a multi-statement's word
  is its first result's. So "no transaction" is proven only by the
  in-transaction bit clear, the autocommit bit set (with autocommit off, a
  failed first statement opens an InnoDB transaction the word never shows) and
  no more results pending.
- mysql_reset_connection() (COM_RESET_CONNECTION), for RESET_ON_RETURN="session".
"""

from __future__ import annotations

import ctypes
import functools
import platform
from collections.abc import Sequence
from typing import Any

from MySQLdb import _mysql

_SERVER_STATUS = ctypes.c_int(30)  # MARIADB_CONNECTION_SERVER_STATUS, enum mariadb_value in mysql.h
_SERVER_STATUS_IN_TRANS = 1  # mariadb_com.h
_SERVER_STATUS_AUTOCOMMIT = 2
_SERVER_MORE_RESULTS_EXIST = 8
# The bits that prove no transaction is open: only autocommit's, of these three.
_PROOF_MASK = _SERVER_STATUS_IN_TRANS | _SERVER_STATUS_AUTOCOMMIT | _SERVER_MORE_RESULTS_EXIST

_get_infov: Any
_library = ctypes.CDLL(_mysql.__file__)  # its symbols include the client library's
try:
    # Called at every return where the struct cannot be read; it only reads memory,
    # so through PyDLL, which keeps the GIL (a CDLL call lets it go, and taking it
    # back costs a thread switch when other threads wait for it).
    _get_infov = ctypes.PyDLL(_mysql.__file__).mariadb_get_infov
except AttributeError:  # not linked against MariaDB Connector/C
    _get_infov = None
else:
    _get_infov.restype = ctypes.c_ubyte  # my_bool: 0 on success
_reset_connection = _library.mysql_reset_connection
_reset_connection.argtypes = [ctypes.c_void_p]
_reset_connection.restype = ctypes.c_int

_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


_POINTER = "_dj_db_conn_pool_native"
_NOT_LOOKED = -1
# Where server_status lies in mysqlclient's MYSQL struct (bytes from its start),
# looked for on the first connection; None where no single place fits.
_status_offset: int | None = _NOT_LOOKED


def _native(connection: Any) -> Any:
    """Return the connection's MYSQL pointer, kept on the connection after the first time.

    The MYSQL struct lives inside mysqlclient's connection object, so its address
    holds as long as the object; once closed, _get_native_connection() raises.
    """
    pointer = connection.__dict__.get(_POINTER) if connection.open else None
    if pointer is None:
        pointer = connection.__dict__[_POINTER] = _capsule_pointer(
            connection._get_native_connection(), b"_mysql.connection.native_connection"
        )
    return pointer


class _Asked:
    """The status word as mariadb_get_infov() tells it: one C call at every read."""

    __slots__ = ("_read", "_word")

    def __init__(self, pointer: int) -> None:
        self._word = ctypes.c_uint(0)
        # Arguments bound once: ctypes does not take them apart at every call.
        self._read = functools.partial(
            _get_infov, ctypes.c_void_p(pointer), _SERVER_STATUS, ctypes.byref(self._word)
        )

    def ask(self) -> int | None:
        """Return the word, or None where the call fails."""
        return self._word.value if self._read() == 0 else None

    @property
    def value(self) -> int:
        """Return the word; where the call fails, one that says a transaction is open."""
        status = self.ask()
        return _SERVER_STATUS_IN_TRANS if status is None else status


def _neighbours(connection: Any, status: int) -> tuple[int, int, int, int]:
    """Return what MYSQL holds around server_status, as mysqlclient and the call tell it.

    mysql.h declares protocol_version, field_count, server_status,
    server_language and warning_count as consecutive unsigned ints (all of
    Connector/C 3.x); mysqlclient reads all but server_language for us.
    """
    return (
        connection.get_proto_info(),
        connection.field_count(),
        status,
        connection.warning_count(),
    )


def _fits(words: Sequence[int], i: int, known: tuple[int, int, int, int]) -> bool:
    return (words[i - 2], words[i - 1], words[i], words[i + 2]) == known


def _find_status(connection: Any, pointer: int, known: tuple[int, int, int, int]) -> int | None:
    """Return server_status's offset in the struct if exactly one place fits its neighbours.

    The struct is a member of mysqlclient's connection object (the capsule
    points into it), so reading up to the object's end reads only its memory.
    """
    basicsize = _mysql.connection.__basicsize__
    start = pointer - id(connection)  # CPython: id() is the object's address
    if platform.python_implementation() != "CPython" or not 0 < start < basicsize:
        return None
    words = list((ctypes.c_uint * ((basicsize - start) // 4)).from_address(pointer))
    found = [i for i in range(2, len(words) - 2) if _fits(words, i, known)]
    return found[0] * 4 if len(found) == 1 else None


def status_word(connection: Any) -> Any:
    """Return the connection's status word reader (its `value`), made once per connection.

    A c_uint over the struct's own field where the offset found on the first
    connection fits this one's neighbours too, else the call (_Asked).
    """
    global _status_offset
    pointer = _native(connection)
    asked = _Asked(pointer)
    word: Any = asked
    status = asked.ask()
    if status is not None:
        known = _neighbours(connection, status)
        if _status_offset == _NOT_LOOKED:
            _status_offset = _find_status(connection, pointer, known)
        if _status_offset is not None:
            words = list((ctypes.c_uint * 5).from_address(pointer + _status_offset - 8))
            if _fits(words, 2, known):
                word = ctypes.c_uint.from_address(pointer + _status_offset)
    connection._dj_db_conn_pool_status_word = word
    return word


if _get_infov is not None:

    def transaction_open(dbapi_connection: Any) -> bool:
        """Return False only if the status word proves no transaction is open."""
        try:  # an attribute of the connection's: the quickest read, once it is there
            word = dbapi_connection._dj_db_conn_pool_status_word
        except AttributeError:
            word = status_word(dbapi_connection)
        # Closed: "may be open", and the rollback that follows fails, so the pool discards it.
        return word.value & _PROOF_MASK != _SERVER_STATUS_AUTOCOMMIT or not dbapi_connection.open

else:  # not MariaDB Connector/C: the flag is unknown, so roll back on every return

    def transaction_open(dbapi_connection: Any) -> bool:
        """Return True: a transaction may be open."""
        return True


def reset_connection(connection: Any) -> None:
    """Reset the session as if newly logged in, keeping the connection open."""
    if _reset_connection(_native(connection)) != 0:
        raise connection.OperationalError(connection.errno(), connection.error())
