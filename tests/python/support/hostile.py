"""Running tensorferry on inputs that must be refused: bounded in time and memory, and judged on
the exit code, the message and the absence of side effects (a canary file a payload would create).

Every run gets a wall-clock timeout (a hang fails the test), RLIMIT_AS (an unbounded allocation
turns into a failure rather than a swapping machine), and its peak RSS is measured with wait4.
Set TENSORFERRY_TEST_SANITIZED=1 when TENSORFERRY_BIN is an ASan build (scripts/test.sh does):
ASan reserves terabytes of shadow memory, so the address-space limit is dropped, and its shadow
bytes and allocation quarantine add to every process's RSS, so the RSS bounds are scaled by
SANITIZED_RSS_FACTOR. The regular build checks the real bounds.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from conftest import BIN

TIMEOUT_S = 20
# Address space for one run: the binary, its libraries (HDF5, protobuf) and the mmap of the input.
SANITIZED = os.environ.get("TENSORFERRY_TEST_SANITIZED") == "1"
ADDRESS_SPACE = 0 if SANITIZED else 1 << 30
SANITIZED_RSS_FACTOR = 4
RSS_FACTOR = SANITIZED_RSS_FACTOR if SANITIZED else 1
# A refused input must be refused before any large allocation.
MAX_RSS_KB = 200 * 1024
CANARY = "CANARY_PWNED"

BAD_INPUT = 3


@dataclass
class Run:
    args: list
    returncode: int
    stdout: str
    stderr: str
    max_rss_kb: int
    timed_out: bool
    seconds: float = 0.0

    def describe(self):
        return (f"tensorferry {' '.join(map(str, self.args))} -> rc={self.returncode} "
                f"rss={self.max_rss_kb} KiB timed_out={self.timed_out}\n"
                f"stderr: {self.stderr[-3000:]}\nstdout: {self.stdout[-1000:]}")


# The runner between pytest and tensorferry: a fresh interpreter without site packages (~10 MB)
# that forks tensorferry under the limits and reports its wait4 status and peak RSS. Forking
# tensorferry from pytest directly would charge it the RSS of this process (torch, TensorFlow):
# Linux carries ru_maxrss across fork and exec.
_RUNNER = r"""
import os, resource, signal, sys
report, timeout, limit, argv = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
pid = os.fork()
if pid == 0:
    if limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.execv(argv[0], argv)
timed_out = []
def expire(*_):
    timed_out.append(1)
    os.kill(pid, signal.SIGKILL)
signal.signal(signal.SIGALRM, expire)
signal.setitimer(signal.ITIMER_REAL, timeout)
while True:
    try:
        _, status, usage = os.wait4(pid, 0)
        break
    except InterruptedError:
        continue
signal.setitimer(signal.ITIMER_REAL, 0)
with open(report, "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss} {int(bool(timed_out))}")
"""


def run_limited(*args, cwd=None, timeout=TIMEOUT_S):
    """Runs the binary with a timeout and RLIMIT_AS; returns a Run with its peak RSS."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report"
        out, err = Path(tmp) / "out", Path(tmp) / "err"
        with open(out, "wb") as o, open(err, "wb") as e:
            subprocess.run([sys.executable, "-S", "-c", _RUNNER, str(report), str(timeout),
                            str(ADDRESS_SPACE), str(BIN), *map(str, args)],
                           stdout=o, stderr=e, cwd=cwd, timeout=timeout + 30)
        rc, rss, timed_out = report.read_text().split()
        return Run(list(args), int(rc), out.read_text("utf-8", "replace"),
                   err.read_text("utf-8", "replace"), int(rss), timed_out == "1",
                   time.monotonic() - start)


def check_refused(run, path, tensor=None, offset=True, rss_kb=MAX_RSS_KB):
    """A clean refusal: exit 3 (not a signal, not 4), within time and memory, with a message that
    names the file, the tensor (when given) and a byte offset (unless offset=False)."""
    assert not run.timed_out, "hang: " + run.describe()
    assert run.returncode >= 0, f"killed by signal {-run.returncode}: " + run.describe()
    assert run.returncode == BAD_INPUT, run.describe()
    assert run.max_rss_kb < rss_kb * RSS_FACTOR, "too much memory: " + run.describe()
    msg = run.stderr.strip()
    assert msg.startswith("tensorferry: "), run.describe()
    assert Path(path).name in msg, "message does not name the file: " + run.describe()
    if tensor is not None:
        assert f"'{tensor}'" in msg, "message does not name the tensor: " + run.describe()
    if offset:
        assert re.search(r"at byte \d+", msg), "message has no byte offset: " + run.describe()


def check_clean_outcome(run):
    """For inputs that may or may not be valid (a bit flip in a name): exit 0 or 3, never a crash,
    a hang or an I/O error."""
    assert not run.timed_out, "hang: " + run.describe()
    assert run.returncode >= 0, f"killed by signal {-run.returncode}: " + run.describe()
    assert run.returncode in (0, BAD_INPUT), run.describe()
    if run.returncode == BAD_INPUT:
        assert run.stderr.startswith("tensorferry: "), run.describe()


def every_command(path, work):
    """inspect, dump and a container convert of `path`, each in `work` (the canary's folder)."""
    work = Path(work)
    return [
        run_limited("inspect", path, cwd=work),
        run_limited("dump", path, work / "dumped", "--force", cwd=work),
        run_limited("convert", path, work / "converted.safetensors", "--force", cwd=work),
    ]


def assert_no_canary(work):
    hits = [p for p in Path(work).rglob(CANARY + "*")]
    assert not hits, f"the payload ran: {hits}"
    assert not (Path(work) / "converted.safetensors").exists()
    assert not (Path(work) / "dumped").exists()


def flip_bit(data, offset, bit=0):
    out = bytearray(data)
    out[offset] ^= 1 << bit
    return bytes(out)


def check_printable(raw):
    """Plain output a terminal shows as it is (core/printable.h): strict UTF-8, no control byte but
    the line end, no DEL, no C1 control, no bidirectional or invisible format character. Returns
    the text."""
    text = raw.decode("utf-8")
    acting = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F
              or c in "\u202e\u2066\u2069\u200b\u200f\ufeff"]
    assert not acting, text
    return text


def run_raw(*args, rc=0):
    """Runs the binary expecting exit code `rc`; returns the CompletedProcess, stdout and stderr
    as bytes (for check_printable)."""
    result = subprocess.run([str(BIN), *map(str, args)], capture_output=True, timeout=60)
    assert result.returncode == rc, (args, result.returncode, result.stderr, result.stdout)
    return result
