"""Outputs appear whole or not at all: written to a temporary file beside the target, then
renamed over it (a rename within one folder is atomic). A run killed outright (kill -9, out of
memory, power loss) cannot delete its temporary, so the next run over the same outputs does.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path

_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-\d+-[0-9a-f]{8}\.part$")


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: a crash never leaves half a file.

    The temporary name is unique per process and thread, and the file is created with the normal
    umask-derived permissions (mkstemp would make every output private to its owner)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:8]}.part")
    try:
        with open(temporary, "xb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def remove_abandoned_temporaries(outputs: Iterable[Path]) -> list[Path]:
    """Delete the temporaries write_atomic left beside these outputs in runs that were killed:
    only files it names (".NAME.PID-THREAD-RANDOM.part") for one of these outputs, and only those
    of processes no longer running, so a run writing the same folder beside this one keeps its
    own. POSIX only (elsewhere there is no harmless way to ask whether a process lives)."""
    if os.name != "posix":
        return []
    wanted: dict[Path, set[str]] = {}
    for output in outputs:
        wanted.setdefault(output.parent, set()).add(output.name)
    removed = []
    for folder, names in wanted.items():
        try:
            entries = [entry for entry in os.scandir(folder) if entry.name.endswith(".part")]
        except OSError:  # not there yet: nothing was written to it
            continue
        for entry in entries:
            match = _TEMPORARY.match(entry.name)
            if match and match["name"] in names and not _running(int(match["pid"])):
                Path(entry.path).unlink(missing_ok=True)
                removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: no signal, only the check
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
