"""The benchmark harness runs at a tiny size in CI so that it cannot rot (issue 6). It checks
the harness produces a row for every case; the figures themselves are not asserted."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_bench_harness_runs_at_tiny_size(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run_bench.py"), "--size", "tiny",
                           "--work", str(tmp_path), "--results", str(tmp_path / "RESULTS.md")],
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:] + proc.stdout[-4000:]
    table = (tmp_path / "RESULTS.md").read_text()
    for model in ("tiny-gpt2", "tiny-bert"):
        assert f"#### {model}" in table
    for case in ("cp model.safetensors", "tensorferry inspect", "convert hf-pytorch -> openai-tf1",
                 "convert hf-pytorch -> google-tf1", "convert hf-pytorch -> hf-tf2",
                 "python: torch.load + safetensors save_file",
                 "python: transformers TF from_pt=True"):
        assert case in table, case
