"""tensorferry.batch on a local Ray cluster (loopback only, 2 workers): 20 conversions, one
worker killed with SIGKILL in the middle of a conversion. Every conversion ends done or reported
failed, no output is half-written (each one opens and equals its source), none completes twice
(the journal has exactly one "done" per conversion), the killed one was retried, and a rerun
skips every complete output."""
import json
import os
import signal
import struct
import subprocess
import sys
import time

import numpy as np

import tensorferry

CONVERSIONS = 20


def write_source(path, seed, megabytes=24):
    """A safetensors file of f32 tensors big enough that a conversion takes a while."""
    rng = np.random.default_rng(seed)
    arrays = {f"layer{i}.weight": rng.standard_normal((megabytes * 1024 * 1024 // 4 // 8,),
                                                      dtype=np.float32) for i in range(8)}
    header, data, at = {}, [], 0
    for name, array in arrays.items():
        raw = array.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [at, at + len(raw)]}
        data.append(raw)
        at += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for raw in data:
            f.write(raw)


def read_journal(folder):
    path = folder / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def start_batch(manifest, journal, report):
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_DISABLE_DOCKER_CPU_WARNING": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "tensorferry.batch", str(manifest), "--num-cpus", "2",
         "--node-ip-address", "127.0.0.1", "--journal", str(journal), "--report", str(report)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def kill_a_worker_mid_conversion(journal, batch, deadline_s=300):
    """SIGKILLs the worker of the first conversion seen started and not done; returns (id, pid)."""
    deadline = time.time() + deadline_s
    while time.time() < deadline and batch.poll() is None:
        events = read_journal(journal)
        done = {e["id"] for e in events if e["event"] in ("done", "failed")}
        running = [e for e in events if e["event"] == "started" and e["id"] not in done]
        if running:
            victim = running[-1]
            os.kill(victim["pid"], signal.SIGKILL)
            return victim["id"], victim["pid"]
        time.sleep(0.005)
    raise AssertionError(f"no conversion was seen running; batch exit {batch.poll()}")


def test_batch_survives_a_killed_worker_and_reruns_idempotently(tmp_path):
    sources = tmp_path / "src"
    sources.mkdir()
    entries = []
    for i in range(CONVERSIONS):
        src = sources / f"m{i}.safetensors"
        write_source(src, i)
        entries.append({"id": f"c{i}", "src": str(src), "dst": str(tmp_path / "out" / f"m{i}.bin"),
                        "dtype": "f16" if i % 2 else None})
    (tmp_path / "out").mkdir()
    # One that must fail as bad input: reported failed, never retried into success.
    (sources / "bad.safetensors").write_bytes(b"not a checkpoint")
    entries.append({"id": "bad", "src": str(sources / "bad.safetensors"),
                    "dst": str(tmp_path / "out" / "bad.bin")})
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("".join(json.dumps({k: v for k, v in e.items() if v is not None}) + "\n"
                                for e in entries))
    journal = tmp_path / "journal"
    journal.mkdir()
    report = tmp_path / "report.jsonl"

    batch = start_batch(manifest, journal, report)
    victim_id, victim_pid = kill_a_worker_mid_conversion(journal, batch)
    out, err = batch.communicate(timeout=900)
    assert batch.returncode == 1, err[-3000:]  # the bad input failed
    assert out.strip().endswith(f"20 done, 1 failed of {CONVERSIONS + 1} conversions"), out

    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert [line["id"] for line in lines] == [e["id"] for e in entries]
    by_id = {line["id"]: line for line in lines}
    assert by_id["bad"]["status"] == "failed"
    assert by_id["bad"]["error"]["class"] == "BadInputError"
    assert by_id["bad"]["error"]["path"] == str(sources / "bad.safetensors")
    events = read_journal(journal)
    for entry in entries[:-1]:
        line = by_id[entry["id"]]
        assert line["status"] == "done", line
        assert line["report"]["kind"] == "container"
        # Complete and equal to the source, cast or not.
        with tensorferry.open(entry["src"]) as a, tensorferry.open(entry["dst"]) as b:
            assert a.keys() == b.keys()
            for name in a:
                expected = a[name].astype(np.float16) if entry["dtype"] else a[name]
                assert np.array_equal(b[name], expected), (entry["id"], name)
        done = [e for e in events if e["id"] == entry["id"] and e["event"] == "done"]
        assert len(done) == 1, (entry["id"], done)  # never run twice to completion
    victim_events = [e for e in events if e["id"] == victim_id]
    assert [e["event"] for e in victim_events].count("started") >= 2, victim_events
    assert victim_events[0]["pid"] == victim_pid
    assert all(e["pid"] != victim_pid for e in victim_events if e["event"] == "done")
    # Nothing half-written anywhere: only the published outputs (no temporaries, no locks).
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == \
        sorted(f"m{i}.bin" for i in range(CONVERSIONS))

    # A rerun: everything complete is skipped, nothing is converted again.
    before = [e for e in read_journal(journal) if e["event"] == "done"]
    rerun = start_batch(manifest, journal, report)
    out, err = rerun.communicate(timeout=900)
    assert rerun.returncode == 1, err[-3000:]
    assert out.strip().endswith(f"1 failed, 20 skipped of {CONVERSIONS + 1} conversions"), out
    assert [e for e in read_journal(journal) if e["event"] == "done"] == before
