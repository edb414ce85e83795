"""The repaired wheel carries its own HDF5, protobuf and OpenBLAS (auditwheel bundles them into
tensorferry.libs/): with the system's copies made unloadable it still reads, converts and
verifies. How the system copies are hidden: a private mount namespace (unshare -m, as root) in
which every file of the system's libhdf5*, libprotobuf*, libopenblas*/libblas*/liblapack*,
libsz*/libaec* and libgfortran* is bind-mounted over by /dev/null, so the dynamic loader finds
the names (ld.so.cache still lists them) but cannot load them. The control: in the same
namespace the regular build's binary, which links the system copies, cannot start."""
import json
import subprocess
import sys
from pathlib import Path

import tensorferry
from conftest import BIN, GPT2

HIDDEN = ("libhdf5", "libprotobuf", "libopenblas", "libblas", "liblapack", "libsz", "libaec",
          "libgfortran")


def system_library_files():
    """The real files behind every system library of HIDDEN (symlinks resolved)."""
    found = set()
    for folder in (Path("/usr/lib/x86_64-linux-gnu"), Path("/lib/x86_64-linux-gnu"),
                   Path("/usr/lib")):
        if not folder.is_dir():
            continue
        for path in folder.rglob("*.so*"):
            if path.name.startswith(HIDDEN) and path.exists():
                found.add(path.resolve())
    return sorted(found)


def run_hidden(*command):
    files = system_library_files()
    assert any("hdf5" in f.name for f in files) and any("protobuf" in f.name for f in files), \
        "the system HDF5/protobuf this test hides are not installed (scripts/setup.sh)"
    mounts = " && ".join(f"mount --bind /dev/null '{f}'" for f in files)
    script = f"{mounts} && exec \"$@\""
    return subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh", *map(str, command)],
                          capture_output=True, text=True, timeout=600)


CHECK = r'''
import ctypes, json, sys, tensorferry
from pathlib import Path
work = Path(sys.argv[1]); gpt2 = Path(sys.argv[2])
try:
    ctypes.CDLL("libhdf5_serial.so.103"); hidden = False
except OSError:
    hidden = True
tensorferry.convert(gpt2, work / "tf2", to="hf-tf2")            # writes HDF5
tensorferry.convert(gpt2, work / "openai", to="openai-tf1")     # protobuf; verify: OpenBLAS
with tensorferry.open(work / "tf2") as h5, tensorferry.open(work / "openai") as bundle:
    first = h5[h5.keys()[0]]
    counts = [len(h5), len(bundle), float(bundle["model/wte"].sum())]
report = tensorferry.verify(gpt2, work / "tf2")
libs = {}
for line in open("/proc/self/maps"):
    path = line.split()[-1]
    for name in ("libhdf5", "libprotobuf", "libopenblas"):
        if name in Path(path).name:
            libs[name] = path
print(json.dumps({"hidden": hidden, "counts": counts, "passed": report.passed, "libs": libs,
                  "libs_dir": str(Path(tensorferry.__file__).parents[1] / "tensorferry.libs")}))
'''


def test_the_wheel_works_with_the_system_libraries_hidden(tmp_path):
    control = run_hidden(BIN, "--version")
    assert control.returncode == 127 and "error while loading shared libraries" in \
        control.stderr, (control.returncode, control.stderr)
    proc = run_hidden(sys.executable, "-c", CHECK, tmp_path, GPT2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["hidden"] is True
    assert result["passed"] is True and result["counts"][:2] == [28, 28]
    assert set(result["libs"]) == {"libhdf5", "libprotobuf", "libopenblas"}, result["libs"]
    for name, path in result["libs"].items():
        assert path.startswith(result["libs_dir"]), (name, path)


def test_the_console_command_works_with_the_system_libraries_hidden(tmp_path):
    command = Path(sys.executable).parent / "tensorferry"
    proc = run_hidden(command, "convert", GPT2, tmp_path / "bert", "--to", "hf-tf2")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("converted gpt2 hf-pytorch")
