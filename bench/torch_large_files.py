"""Manual measurement (not part of the test suite): tensorferry on large torch.save files.

    V=$(bash scripts/python-env.sh | tail -1)
    $V/bin/python bench/torch_large_files.py /some/dir/with/space [--zip64]

Writes a ~2 GiB state dict (contiguous f32 tensors, and the same viewed transposed), times
`cp`, `tensorferry inspect` and `tensorferry convert` (peak RSS from /usr/bin/time), and checks
the output with torch.load(mmap=True). With --zip64 it also writes a file beyond 4 GiB (one
4.5 GB tensor between two small ones, so that both ZIP64 sizes and ZIP64 offsets occur), reads
torch's ZIP64 output and checks torch loads tensorferry's.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("TENSORFERRY_BIN", ROOT / "build" / "tensorferry"))


def timed(*cmd):
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *map(str, cmd)], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return elapsed, rss / 1024


def report(label, path, cmd):
    size = path.stat().st_size / 2**30
    elapsed, rss = timed(*cmd)
    print(f"{label:42s} {elapsed:7.2f} s  {size / elapsed:6.2f} GiB/s  peak RSS {rss:7.0f} MiB")


def same(a, b):
    return all(torch.equal(a[k].contiguous().view(torch.uint8) if a[k].dim() else a[k].reshape(1).view(torch.uint8),
                           b[k].contiguous().view(torch.uint8) if b[k].dim() else b[k].reshape(1).view(torch.uint8))
               for k in a) and list(a) == list(b)


def main():
    work = Path(sys.argv[1])
    work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    sd = {f"layer.{i}.weight": torch.randn(4096, 8192) for i in range(16)}  # 16 x 128 MiB
    big = work / "big.pt"
    torch.save(sd, big)
    sd_t = {k: v.t() for k, v in sd.items()}
    big_t = work / "big_transposed.pt"
    torch.save(sd_t, big_t)
    del sd, sd_t
    for p in (big, big_t):
        subprocess.run(["cat", str(p)], stdout=subprocess.DEVNULL, check=True)  # warm the cache
    print(f"input: {big.stat().st_size / 2**30:.2f} GiB, 16 tensors")
    for out in work.glob("out*"):
        out.unlink()
    report("cp (baseline)", big, ["cp", big, work / "out_cp.bin"])
    report("tensorferry inspect", big, [BIN, "inspect", big])
    report("tensorferry convert (contiguous)", big, [BIN, "convert", "-q", big, work / "out.bin"])
    report("tensorferry convert (transposed views)", big_t,
           [BIN, "convert", "-q", big_t, work / "out_t.bin"])
    a = torch.load(big, mmap=True, weights_only=True)
    assert same(a, torch.load(work / "out.bin", mmap=True, weights_only=True))
    a_t = torch.load(big_t, mmap=True, weights_only=True)
    assert same(a_t, torch.load(work / "out_t.bin", mmap=True, weights_only=True))
    print("outputs load in torch (mmap) and equal the inputs")

    if "--zip64" in sys.argv:
        n = 4_500_000_000
        huge = torch.full((n,), 7, dtype=torch.uint8)
        huge[:: 4096] = torch.arange(len(range(0, n, 4096))).to(torch.uint8)
        sd64 = {"head": torch.arange(10.0), "huge": huge, "tail": torch.arange(5, dtype=torch.int64)}
        p64 = work / "zip64.pt"
        torch.save(sd64, p64)
        del huge, sd64
        report("tensorferry convert (4.5 GB tensor, ZIP64)", p64,
               [BIN, "convert", "-q", p64, work / "out64.bin"])
        a = torch.load(p64, mmap=True, weights_only=True)
        assert same(a, torch.load(work / "out64.bin", mmap=True, weights_only=True))
        print("ZIP64: torch's file read, tensorferry's file loads in torch, equal")


if __name__ == "__main__":
    main()
