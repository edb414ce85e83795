"""convert, verify and diff return the document `tensorferry COMMAND ... --json` prints: the
same data, compared key by key with the CLI's (build/tensorferry) for the same inputs, the output
paths aside. Long calls release the GIL and report progress to a callback."""
import json
import threading
import time

import pytest

import tensorferry
from conftest import GPT2, run_cli


def untimed(doc):
    """The document without its wall-clock measurements (verify's "seconds")."""
    if isinstance(doc, dict):
        return {k: untimed(v) for k, v in doc.items() if k != "seconds"}
    if isinstance(doc, list):
        return [untimed(v) for v in doc]
    return doc


def renamed(doc, old, new):
    """The document with every occurrence of the path `old` in its strings written as `new`,
    untimed."""
    return untimed(json.loads(json.dumps(doc).replace(str(old), str(new))))


def cli_json(*args):
    proc = run_cli(*args, "--json")
    return proc.returncode, untimed(json.loads(proc.stdout))


@pytest.mark.parametrize("options,cli_options", [
    ({}, []),
    ({"dtype": "bf16"}, ["--dtype", "bf16"]),
    ({"shard_size": 60000}, ["--shard-size", "60000"]),
    ({"dry_run": True}, ["--dry-run"]),
])
def test_container_conversion_reports_equal_the_clis(tmp_path, options, cli_options):
    src = GPT2 / "pytorch_model.bin"
    report = tensorferry.convert(src, tmp_path / "lib" / "model.safetensors", **options)
    code, expected = cli_json("convert", src, tmp_path / "cli" / "model.safetensors",
                              *cli_options)
    assert report.exit_code == code == 0
    assert renamed(report.document, tmp_path / "lib", tmp_path / "cli") == expected
    assert report.kind == "container" and report["schema"] == "tensorferry.convert/1"


@pytest.mark.parametrize("to", ["openai-tf1", "hf-tf2", "hf-pytorch"])
def test_model_conversion_reports_equal_the_clis(tmp_path, to):
    report = tensorferry.convert(GPT2, tmp_path / "lib", to=to)
    code, expected = cli_json("convert", GPT2, tmp_path / "cli", "--to", to)
    assert report.exit_code == code == 0
    assert renamed(report.document, tmp_path / "lib", tmp_path / "cli") == expected
    assert report.verify["passed"] is True
    dry = tensorferry.convert(GPT2, tmp_path / "dry", to=to, dry_run=True)
    assert dry.verify is None and dry.verify_skipped == "dry run"
    unverified = tensorferry.convert(GPT2, tmp_path / "nv", to=to, verify=False)
    assert unverified.verify_skipped == "--no-verify"


def test_verify_and_diff_reports_equal_the_clis(tmp_path):
    tensorferry.convert(GPT2, tmp_path / "openai", to="openai-tf1")
    report = tensorferry.verify(GPT2, tmp_path / "openai", max_error=1e-4)
    code, expected = cli_json("verify", GPT2, tmp_path / "openai", "--max-error", "1e-4")
    assert (report.exit_code, untimed(report.document)) == (code, expected)
    assert report.passed is True and report.ok
    report = tensorferry.diff(GPT2, tmp_path / "openai")
    code, expected = cli_json("diff", GPT2, tmp_path / "openai")
    assert (report.exit_code, report.document) == (code, expected)
    assert report.same is True


def test_a_failed_verify_and_a_difference_are_reports_not_exceptions(tmp_path):
    src = GPT2 / "pytorch_model.bin"
    tensorferry.convert(src, tmp_path / "f16.safetensors", dtype="f16")
    report = tensorferry.diff(src, tmp_path / "f16.safetensors")
    code, expected = cli_json("diff", src, tmp_path / "f16.safetensors")
    assert report.exit_code == code == 1 and report.document == expected
    assert report.same is False and not report.ok


def test_progress_callback_hears_every_tensor_written(tmp_path):
    events = []
    tensorferry.convert(GPT2 / "pytorch_model.bin", tmp_path / "m.safetensors",
                        progress=events.append)
    begins = [e for e in events if e.event == "begin"]
    tensors = [e for e in events if e.event == "tensor"]
    assert len(begins) == 1 and begins[0].tensors_total == 29
    assert len(tensors) == 29 and tensors[-1].tensors_done == 29
    assert tensors[-1].bytes_done == begins[0].bytes_total == 212480
    assert events[-1].event == "done"
    steps = []  # the same weights: verify compares them and runs no forward pass
    tensorferry.verify(GPT2, GPT2, progress=steps.append)
    assert any(e.event == "step" and "comparing the weights" in e.what for e in steps), steps
    assert not any("logits" in e.what for e in steps), steps
    tensorferry.convert(GPT2, tmp_path / "f16", to="hf-pytorch", dtype="f16")
    steps = []  # a cast: both forward passes run, each stage is heard
    tensorferry.verify(GPT2, tmp_path / "f16", progress=steps.append)
    assert any(e.event == "step" and "logits" in e.what for e in steps), steps


def test_an_exception_in_the_progress_callback_aborts_and_publishes_nothing(tmp_path):
    def stop(event):
        if event.event == "tensor" and event.tensors_done == 3:
            raise KeyboardInterrupt("stop here")

    with pytest.raises(KeyboardInterrupt):
        tensorferry.convert(GPT2 / "pytorch_model.bin", tmp_path / "m.safetensors", progress=stop)
    assert list(tmp_path.iterdir()) == []  # no output, no temporary sibling, no lock left


def test_long_calls_release_the_gil(tmp_path):
    """While a conversion runs on another thread, this thread keeps running Python at a good
    fraction of its own speed: it could hardly run at all if the call held the GIL (it would get
    the GIL only between the calls' Python parts)."""
    from test_zero_copy import write_big_safetensors

    write_big_safetensors(tmp_path / "big.safetensors", 256 << 20)

    def busy(seconds):
        ticks, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            ticks += 1
        return ticks / seconds

    alone = busy(0.3)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (tensorferry.convert(
        tmp_path / "big.safetensors", tmp_path / "half.safetensors", dtype="f16"), done.set()))
    ticks, start = 0, time.perf_counter()
    worker.start()
    while not done.is_set():
        ticks += 1
    seconds = time.perf_counter() - start
    worker.join()
    assert (tmp_path / "half.safetensors").exists()
    assert seconds > 0.05, seconds  # long enough to tell
    assert ticks / seconds > 0.1 * alone, (ticks / seconds, alone)
