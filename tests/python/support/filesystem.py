"""Small filesystems for output tests: a tmpfs of a chosen size, filled to the last page on
demand, so that a write gets the real ENOSPC a full disk gives.

Mounting needs root (CAP_SYS_ADMIN), as the test machines run; without it the fixture fails
loudly rather than skipping: a full disk cannot be faked by a smaller file-size limit without
changing the error (RLIMIT_FSIZE gives EFBIG, and SIGXFSZ unless ignored).
"""
import errno
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def small_tmpfs(where, size_mb):
    where = Path(where)
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs",
                           str(where)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"cannot mount a {size_mb} MiB tmpfs at {where} (these tests need "
                             f"root to get a real full disk): {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def fill(folder, name="filler"):
    """Writes `folder/name` until the filesystem refuses with ENOSPC, down to single pages, so
    that no write needing a new page can succeed afterwards."""
    path = Path(folder) / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for chunk in (1 << 20, 1 << 12):
            data = b"\xff" * chunk
            while True:
                try:
                    if os.write(fd, data) < chunk:
                        continue  # the next write of this size fails with ENOSPC
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    break
    finally:
        os.close(fd)
    vfs = os.statvfs(folder)
    assert vfs.f_bavail == 0, f"{folder} still has {vfs.f_bavail} blocks free"
    return path


def listing(folder):
    """Every name under `folder`, hidden ones included, relative to it."""
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
