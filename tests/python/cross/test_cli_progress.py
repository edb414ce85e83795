"""Issue 12 item 13: progress on a terminal. With stderr on a terminal (a pseudo-terminal here),
convert draws a progress bar (bytes, tensors, rate, ETA) and verify names its stages as they run;
with stderr in a pipe, with -q or with --json nothing of it appears, and stdout is the same either
way."""
import fcntl
import os
import re
import struct
import subprocess
import termios

from conftest import BIN, ROOT

GPT2 = ROOT / "examples" / "gpt2-tiny"
BAR = re.compile(r"writing +\d+% \[[# ]{12}\] [\d.]+ (B|KiB|MiB|GiB)/[\d.]+ (B|KiB|MiB|GiB), "
                 r"(\d+)/(\d+) tensors, (ETA \?|[\d.]+ (B|KiB|MiB|GiB)/s, ETA \S+)")


def run_on_terminal(*args):
    """Runs tensorferry with stderr on a pseudo-terminal; returns (exit code, stdout, what the
    terminal received)."""
    leader, follower = os.openpty()
    # 100 columns: the bar is cut to the terminal's width, and this one must show it whole.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        proc = subprocess.Popen([str(BIN), *map(str, args)], stdout=subprocess.PIPE,
                                stderr=follower, stdin=subprocess.DEVNULL)
        os.close(follower)
        follower = None
        received = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not chunk:
                break
            received += chunk
        stdout = proc.stdout.read().decode()
        proc.wait(timeout=600)
        return proc.returncode, stdout, received.decode()
    finally:
        os.close(leader)
        if follower is not None:
            os.close(follower)


def run_in_pipe(*args):
    proc = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def test_convert_draws_a_bar_and_verify_its_stages_on_a_terminal(tmp_path):
    rc, stdout, terminal = run_on_terminal("convert", GPT2, tmp_path / "a", "--to", "openai-tf1")
    assert rc == 0, terminal
    bars = [m for m in BAR.finditer(terminal)]
    assert bars, terminal
    last = bars[-1]
    assert last.group(3) == last.group(4) == "28"  # every tensor counted
    assert "/s, ETA 0s" in last.group(0)  # the rate and the time left once done
    assert "\r" in terminal and "\x1b[K" in terminal  # redrawn in place
    # The same weights in another convention: verify compares them and needs no forward pass.
    assert "verify: comparing the weights" in terminal and "verify: A " not in terminal
    # The line is erased at the end: the terminal's last bytes clear it.
    assert terminal.endswith("\r\x1b[K")
    # A cast changes the numbers: verify runs both forward passes and names each stage.
    rc, _, cast = run_on_terminal("convert", GPT2, tmp_path / "f16", "--to", "hf-pytorch",
                                  "--dtype", "f16")
    assert rc == 0, cast
    for stage in ["verify: A embeddings", "verify: A logits", "verify: B layer 1 attention: ok",
                  "verify: B logits: ok"]:
        assert stage in cast, stage
    # The report itself is unchanged, and in a pipe stderr stays empty.
    rc, piped, stderr = run_in_pipe("convert", GPT2, tmp_path / "b", "--to", "openai-tf1")
    assert rc == 0 and stderr == ""
    assert piped == stdout.replace(str(tmp_path / "a"), str(tmp_path / "b"))


def test_container_convert_draws_a_bar(tmp_path):
    rc, stdout, terminal = run_on_terminal("convert", GPT2 / "pytorch_model.bin",
                                           tmp_path / "m.safetensors")
    assert rc == 0 and stdout.startswith("wrote 29 tensors")
    assert BAR.search(terminal), terminal
    rc, _, stderr = run_in_pipe("convert", GPT2 / "pytorch_model.bin", tmp_path / "n.safetensors")
    assert rc == 0 and stderr == ""


def test_verify_shows_its_stages_as_they_run(tmp_path):
    rc, stdout, terminal = run_on_terminal("verify", GPT2, GPT2, "--always-forward")
    assert rc == 0 and "OK: 7 stages agree" in stdout
    assert f"verify: opening {GPT2}" in terminal
    assert "verify: A layer 0 attention" in terminal and "verify: B final layer norm: ok" in terminal
    rc, piped, stderr = run_in_pipe("verify", GPT2, GPT2, "--always-forward")
    assert rc == 0 and stderr == "" and piped == stdout
    rc, stdout, terminal = run_on_terminal("verify", GPT2, GPT2)  # identical: no forward pass
    assert rc == 0 and "OK: the forward passes were not run" in stdout
    assert "verify: comparing the weights" in terminal and "verify: A " not in terminal


def test_nothing_with_quiet_or_json(tmp_path):
    for extra in (["-q"], ["--json"]):
        rc, _, terminal = run_on_terminal("convert", GPT2, tmp_path / extra[0].strip("-"),
                                          "--to", "openai-tf1", *extra)
        assert rc == 0 and terminal == "", (extra, terminal)
        rc, _, terminal = run_on_terminal("verify", GPT2, GPT2, *extra)
        assert rc == 0 and terminal == "", (extra, terminal)
    rc, _, terminal = run_on_terminal("convert", GPT2 / "pytorch_model.bin",
                                      tmp_path / "q.safetensors", "-q")
    assert rc == 0 and terminal == ""
