"""Reading and writing the files regimebench owns, safely: records, regime maps, cache sidecars.

Results folders and caches are shared, copied, hand-edited and sometimes hostile, so every file
the package reads or writes goes through the two functions here:

* :func:`read_regular` reads a *regular* file and nothing else. It looks at the path with
  ``lstat`` before opening it, so a FIFO (which would block the reader forever), a device
  (``/dev/zero``: endless bytes), a socket or — unless asked to follow it — a symbolic link is
  refused without being opened; it opens with ``O_NONBLOCK`` (and ``O_NOFOLLOW``), checks the
  opened file again (the path may have been swapped in between), and reads at most ``limit``
  bytes, so a huge file cannot exhaust memory.
* :func:`atomic_write` writes a temporary file beside the target (named after the writing
  process, ``.<name>.<pid>-<random>.tmp``), ``fsync``\\ s it and renames it over the target, so a
  reader sees the whole old file or the whole new one. It refuses a target that exists and is not
  a regular file (``--json /dev/null`` must not replace a device node), and the file gets the
  ordinary mode of a new file (``0666`` minus the umask: ``0644`` usually), not the ``0600`` of a
  raw ``mkstemp``, so a group sharing a results folder can read it.

:func:`temp_file_is_live` is the rule ``bench doctor --fix`` uses before deleting a temporary
file: it is left alone while its writer is alive or while it is younger than
:data:`STALE_TEMP_S`.

Errors are :class:`UnsafeFile` (a ``ValueError``) with a one-line message and a
:class:`FileProblem` naming what is wrong; callers wrap them in their own error types.
"""

from __future__ import annotations

import enum
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["FileProblem", "UnsafeFile", "read_regular", "atomic_write", "check_output_target",
           "file_mode", "temp_file_is_live", "writer_pid", "STALE_TEMP_S", "TEMP_SUFFIX"]

TEMP_SUFFIX = ".tmp"
# A temporary file older than this is no write in progress: records and sidecars are written in
# milliseconds (a 100 kB JSON file and an fsync), cache arrays in seconds; ten minutes leaves room
# for a stalled network file system.
STALE_TEMP_S = 600.0

_WRITER = re.compile(r"\.(\d+)-[^.]*" + re.escape(TEMP_SUFFIX) + "$")


class FileProblem(enum.StrEnum):
    """What is wrong with a file that a reader skips (``bench doctor`` prints the value)."""

    MISSING = "missing"
    UNREADABLE = "unreadable"  # a folder or file this process may not read
    CORRUPT = "corrupt"  # unreadable, not JSON, foreign JSON, or against the record schema
    NEWER = "newer schema"  # written by a newer regimebench: never moved aside
    TOO_LARGE = "too large"
    NOT_REGULAR = "not a file"  # FIFO, device, socket
    LINK = "link"  # a symbolic link: the loaders never follow one
    DUPLICATE = "duplicate"  # the same run and seed as another record
    MISPLACED = "misplaced"  # a record at a path that is not its spec's
    STRAY_TEMP = "stray temp"  # a temporary file of a write that was killed


class UnsafeFile(ValueError):
    """A file that :func:`read_regular` or :func:`atomic_write` refuses (one-line ``str()``)."""

    def __init__(self, message: str, problem: FileProblem = FileProblem.CORRUPT):
        super().__init__(message)
        self.problem = FileProblem(problem)

    def __reduce__(self):  # keep ``problem`` when pickled (executors ship errors back)
        return (type(self), (str(self), self.problem))


def _what(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def read_regular(path: Path | str, limit: int, *, follow_symlinks: bool = False) -> bytes:
    """The bytes of the regular file ``path`` (at most ``limit``); :class:`UnsafeFile` otherwise.

    With ``follow_symlinks`` a symbolic link is followed to its target, which must itself be a
    regular file; without it (what folder walkers use) a link is refused.
    """
    path = Path(path)
    try:
        st = os.stat(path) if follow_symlinks else os.lstat(path)
    except FileNotFoundError:
        raise UnsafeFile(f"{path}: no such file", FileProblem.MISSING) from None
    except OSError as e:
        raise UnsafeFile(f"{path}: cannot read it ({e.strerror or e})") from None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeFile(f"{path}: a symbolic link (to {os.readlink(path)}), not read",
                         FileProblem.LINK)
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFile(f"{path}: {_what(st.st_mode)}, not a regular file; not read",
                         FileProblem.NOT_REGULAR)
    if st.st_size > limit:
        raise UnsafeFile(f"{path}: {st.st_size} bytes, more than the {limit} any such file "
                         "holds; not read", FileProblem.TOO_LARGE)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:  # ELOOP: a link swapped in after lstat
        raise UnsafeFile(f"{path}: cannot open it ({e.strerror or e})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # swapped after the check
            raise UnsafeFile(f"{path}: not a regular file; not read", FileProblem.NOT_REGULAR)
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise UnsafeFile(f"{path}: cannot read it ({e.strerror or e})") from None
    if len(data) > limit:
        raise UnsafeFile(f"{path}: more than the {limit} bytes any such file holds; not read",
                         FileProblem.TOO_LARGE)
    return data


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask can only be read by setting it)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode of an ordinary new file in this process: ``0o666`` minus the umask."""
    return 0o666 & ~_umask()


def check_output_target(path: Path | str) -> None:
    """:class:`UnsafeFile` unless ``path`` is absent or a regular file (what a writer replaces)."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise UnsafeFile(f"cannot write {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        problem = FileProblem.LINK if stat.S_ISLNK(st.st_mode) else FileProblem.NOT_REGULAR
        raise UnsafeFile(f"refusing to write {path}: it exists and is {_what(st.st_mode)}, not "
                         "a regular file (choose another path)", problem)


def atomic_write(path: Path | str, write: Callable[[IO[bytes]], object]) -> Path:
    """Write ``path`` atomically: ``write(f)`` fills a temporary file that replaces ``path``.

    Raises :class:`UnsafeFile` for a target that is not a regular file and ``OSError`` when the
    folder cannot be written (full disk, read-only); no temporary file is left behind either way.
    """
    path = Path(path)
    check_output_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}-",
                               suffix=TEMP_SUFFIX)
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def writer_pid(temp: Path) -> int | None:
    """The pid that created a temporary file of :func:`atomic_write` (``None``: older name)."""
    m = _WRITER.search(Path(temp).name)
    return int(m.group(1)) if m else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists but belongs to someone else
        return True
    return True


def temp_file_is_live(temp: Path, now: float | None = None) -> bool:
    """Whether a temporary file may still be being written: younger than :data:`STALE_TEMP_S`,
    or named after a process that is alive on this machine (a missing file is not live)."""
    try:
        age = (time.time() if now is None else now) - os.lstat(temp).st_mtime
    except FileNotFoundError:
        return False
    if age < STALE_TEMP_S:
        return True
    pid = writer_pid(temp)
    return pid is not None and _alive(pid)
