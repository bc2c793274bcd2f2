"""Outputs appear whole or not at all: written to a temporary file beside the target, flushed to
disk, then renamed over it (a rename within one folder is atomic). A run killed outright (kill -9,
out of memory, power loss) cannot delete its temporary, so the next run over the same outputs does.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
import uuid
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

_TEMPORARY = re.compile(r"^\.(?P<stem>.+)\.(?P<machine>[0-9a-f]{6})-(?P<pid>\d{1,10})-[0-9a-f]{8}\.part$")
LONGEST_STEM = 200
"""Bytes of an output's name kept in its temporary's: with the ~30 added, under the 255 most file
systems allow. A longer name is shortened and made unique by its hash."""
ABANDONED_AFTER = 24 * 3600
"""Seconds after which a temporary of another machine (or container) counts as abandoned: its
process cannot be asked whether it lives, and no image takes a day to write."""


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: a crash never leaves half a file.

    The temporary name is unique per process and call, and the file is created with the normal
    umask-derived permissions (mkstemp would make every output private to its owner). It is
    flushed to disk before the rename, so that after a power cut an output that exists is whole
    (a resumed run with --skip-existing trusts it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    try:
        with open(temporary, "xb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def temporary_path(path: Path, pid: int | None = None, machine: str | None = None) -> Path:
    """Where write_atomic writes `path` first: ".STEM.MACHINE-PID-RANDOM.part" beside it."""
    return path.with_name(f".{_stem(path.name)}.{machine or _machine()}-{pid or os.getpid()}-"
                          f"{uuid.uuid4().hex[:8]}.part")


def _stem(name: str) -> str:
    encoded = os.fsencode(name)
    if len(encoded) <= LONGEST_STEM:
        return name
    return os.fsdecode(encoded[:80]).rstrip("\udcff\ufffd") + "~" + hashlib.sha1(encoded).hexdigest()[:12]


@lru_cache(maxsize=1)
def _machine() -> str:
    """This host and PID namespace, as 6 hex digits: a PID in a temporary's name means something
    only to processes that share both (two containers, or two hosts on NFS, writing one folder)."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return hashlib.sha1(f"{socket.gethostname()}:{namespace}".encode()).hexdigest()[:6]


def remove_abandoned_temporaries(outputs: Iterable[Path]) -> list[Path]:
    """Delete the temporaries write_atomic left beside these outputs in runs that were killed:
    only files it names for one of these outputs; of this machine, only those of processes no
    longer running, so a run writing the same folder beside this one keeps its own; of another
    machine, only those a day old. POSIX only (elsewhere there is no harmless way to ask
    whether a process lives)."""
    if os.name != "posix":
        return []
    wanted: dict[Path, set[str]] = {}
    for output in outputs:
        wanted.setdefault(output.parent, set()).add(_stem(output.name))
    removed = []
    for folder, stems in wanted.items():
        try:
            entries = [entry for entry in os.scandir(folder) if entry.name.endswith(".part")]
        except OSError:  # not there yet: nothing was written to it
            continue
        for entry in entries:
            match = _TEMPORARY.match(entry.name)
            if match and match["stem"] in stems and _abandoned(match["machine"], int(match["pid"]), entry):
                Path(entry.path).unlink(missing_ok=True)
                removed.append(Path(entry.path))
    return removed


def _abandoned(machine: str, pid: int, entry: os.DirEntry) -> bool:
    if machine == _machine():
        return not _running(pid)
    try:
        return time.time() - entry.stat().st_mtime > ABANDONED_AFTER
    except OSError:
        return False


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: no signal, only the check
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # someone else's process; a number no PID can be
        return True
    return True
