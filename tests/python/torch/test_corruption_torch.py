"""Corruption corpus for the PyTorch-side formats, from files the real libraries write:
torch.save (zip and legacy) and safetensors (safetensors.torch.save_file).

Truncations land on every structural boundary (each zip local header, payload start and end,
the central directory records and the end record; the safetensors length prefix, header and
every tensor's start and end) plus a sample of other offsets; bit flips land in every zip header
field group, every header byte of a safetensors file (sampled) and every tensor's data.

Zip stores a CRC-32 per record: every data flip must be detected by anything that reads the data
(dump, convert, inspect --check), naming the tensor. Safetensors stores no checksum: a data flip
is invisible by design, and a header flip may still leave a valid file (a changed letter of a
name); either way the run ends cleanly (exit 0 or 3), never with a signal, a hang or exit 4.
"""
import json
import random
import struct
import zipfile

import pytest
import torch
from safetensors.torch import save_file

from conftest import inspect_json
from support.hostile import check_clean_outcome, check_refused, flip_bit, run_limited

SAMPLE = 16


def tensors():
    g = torch.Generator().manual_seed(0)
    return {"emb.weight": torch.randn(32, 8, generator=g),
            "fc.weight": torch.randn(8, 8, generator=g).to(torch.float16),
            "fc.bias": torch.arange(8, dtype=torch.int64),
            "scale": torch.tensor(0.5, dtype=torch.bfloat16)}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("real")
    torch.save(tensors(), d / "zip.pt")
    torch.save(tensors(), d / "legacy.pt", _use_new_zipfile_serialization=False)
    save_file(tensors(), str(d / "model.safetensors"))
    return d


def zip_structure(path):
    """Boundaries: every local header, its payload start and end, every central record, the
    end-of-central-directory record; and the payload spans of the data records."""
    raw = path.read_bytes()
    points, payloads = {0, len(raw) - 22, len(raw) - 1}, []
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            h = info.header_offset
            n, m = struct.unpack_from("<HH", raw, h + 26)
            start = h + 30 + n + m
            points.update({h, h + 4, h + 14, h + 26, h + 30, start, start + info.compress_size})
            payloads.append((info.filename, start, info.compress_size))
    eocd = raw.rindex(b"PK\x05\x06")
    cd = struct.unpack_from("<I", raw, eocd + 16)[0]
    pos = cd
    while raw[pos:pos + 4] == b"PK\x01\x02":
        points.update({pos, pos + 16, pos + 42})
        n, m, k = struct.unpack_from("<HHH", raw, pos + 28)
        pos += 46 + n + m + k
    points.update({cd, eocd, eocd + 8, eocd + 16})
    return sorted(p for p in points if p < len(raw)), payloads


def safetensors_structure(path):
    raw = path.read_bytes()
    n = struct.unpack_from("<Q", raw)[0]
    header = json.loads(raw[8:8 + n])
    points = {0, 4, 7, 8, 9, 8 + n // 2, 8 + n - 1, 8 + n}
    spans = []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        points.update({8 + n + b, 8 + n + end - 1})
        spans.append((name, 8 + n + b, end - b))
    return sorted(p for p in points if p < len(raw)), spans, n


def sample(raw, seed):
    rng = random.Random(seed)
    return {rng.randrange(len(raw)) for _ in range(SAMPLE)}


@pytest.mark.parametrize("name", ["zip.pt", "legacy.pt", "model.safetensors"])
def test_truncation_at_every_boundary_is_refused(name, files, tmp_path):
    src = files / name
    raw = src.read_bytes()
    if name == "zip.pt":
        cuts = set(zip_structure(src)[0])
    elif name == "model.safetensors":
        cuts = set(safetensors_structure(src)[0])
    else:
        cuts = {0, 1, 2, 10, 11, 12, len(raw) // 2, len(raw) - 1}
    cuts |= sample(raw, 5)
    for cut in sorted(cuts):
        path = tmp_path / name
        path.write_bytes(raw[:cut])
        # inspect --check reads every tensor, as dump and convert do.
        run = run_limited("inspect", "--check", path)
        # An empty file has no offset to point at; everything else names one.
        check_refused(run, path, offset=cut > 0)


def test_zip_every_data_flip_is_detected(files, tmp_path):
    src = files / "zip.pt"
    raw = src.read_bytes()
    _, payloads = zip_structure(src)
    listing = {t["name"]: t for t in inspect_json(src)["tensors"]}
    for record, start, size in payloads:
        if "/data/" not in record:
            continue
        owner = next(n for n, t in listing.items() if start <= t["offset"] < start + size)
        for at in sorted({start, start + size // 2, start + size - 1}):
            path = tmp_path / "flip.pt"
            path.write_bytes(flip_bit(raw, at, at % 8))
            for run in (run_limited("inspect", "--check", path),
                        run_limited("dump", path, tmp_path / "out", "--force"),
                        run_limited("convert", path, tmp_path / "o.safetensors", "--force")):
                check_refused(run, path, tensor=owner)
                assert "CRC-32" in run.stderr, run.describe()
    # Records no tensor refers to are checked by inspect --check too.
    for record, start, size in payloads:
        if record.endswith(("version", "byteorder", "data.pkl", "serialization_id")) and size:
            path = tmp_path / "flip.pt"
            path.write_bytes(flip_bit(raw, start, 1))
            run = run_limited("inspect", "--check", path)
            check_refused(run, path)
            assert "CRC-32" in run.stderr or "version" in run.stderr, run.describe()


def test_zip_header_flips_end_cleanly(files, tmp_path):
    src = files / "zip.pt"
    raw = src.read_bytes()
    points, _ = zip_structure(src)
    flips = {p + d for p in points for d in (0, 6) if p + d < len(raw)}
    flips |= sample(raw, 6)
    original = {}
    for at in sorted(flips):
        path = tmp_path / "flip.pt"
        path.write_bytes(flip_bit(raw, at, (at * 7) % 8))
        run = run_limited("inspect", "--check", "--json", path)
        check_clean_outcome(run)
        if run.returncode == 0:
            # Accepted: then the flip changed nothing anyone reads (the checksummed payloads
            # and every header field the reader validates are intact).
            if not original:
                original = [dict(t, file=None) for t in inspect_json(src)["tensors"]]
            got = [dict(t, file=None) for t in json.loads(run.stdout)["tensors"]]
            assert got == original, f"flip at {at}"


@pytest.mark.parametrize("name", ["legacy.pt", "model.safetensors"])
def test_unchecksummed_flips_end_cleanly(name, files, tmp_path):
    src = files / name
    raw = src.read_bytes()
    if name == "model.safetensors":
        points, spans, n = safetensors_structure(src)
        flips = set(points) | set(range(0, 8 + n, max(1, (8 + n) // 64)))
        flips |= {s + size // 2 for _, s, size in spans}
    else:
        flips = set(range(0, len(raw), max(1, len(raw) // 60)))
    flips |= sample(raw, 7)
    for at in sorted(f for f in flips if f < len(raw)):
        path = tmp_path / name
        path.write_bytes(flip_bit(raw, at, at % 8))
        run = run_limited("dump", path, tmp_path / "out", "--force")
        check_clean_outcome(run)


def test_check_counts_what_it_verified(files):
    """inspect --check on intact files: every zip record's CRC-32 is counted, and formats
    without checksums say so instead of claiming a check."""
    src = files / "zip.pt"
    with zipfile.ZipFile(src) as z:
        records = len(z.infolist())
    doc = json.loads(run_limited("inspect", "--check", "--json", src).stdout)
    assert doc["check"]["zip_crc32_entries"] == records
    assert doc["check"]["tensors_read"] == len(tensors())
    assert doc["check"]["bytes_read"] == sum(t.numel() * t.element_size()
                                             for t in tensors().values())
    for name in ("legacy.pt", "model.safetensors"):
        run = run_limited("inspect", "--check", files / name)
        assert run.returncode == 0, run.describe()
        assert "the format stores no checksums" in run.stdout, run.describe()
