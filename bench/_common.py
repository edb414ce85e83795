"""What the benchmark scripts share: the random-model generator and the /usr/bin/time wrapper."""
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("TENSORFERRY_BIN", ROOT / "build" / "tensorferry"))
PY = sys.executable

# Builds a model with transformers (random weights, std 0.02, embeddings tied as the class ties
# them) and writes config.json plus the requested single-file containers, unsharded:
# "safetensors" (model.safetensors, tied tensors once, as save_pretrained writes it) and/or
# "bin" (pytorch_model.bin, torch.save of the full state dict).
_MAKE_MODEL = textwrap.dedent("""
    import json, os, sys
    os.environ["USE_TF"] = "0"
    import torch
    from pathlib import Path
    from safetensors.torch import save_file
    from transformers import GPT2Config, GPT2LMHeadModel, BertConfig, BertForPreTraining
    from transformers.modeling_utils import no_init_weights
    family, kwargs, out = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
    containers = sys.argv[4].split(",")
    torch.manual_seed(0)
    with no_init_weights():
        model = (GPT2LMHeadModel(GPT2Config(**kwargs)) if family == "gpt2"
                 else BertForPreTraining(BertConfig(**kwargs)))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02)
    model.tie_weights()
    out.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(out)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if "bin" in containers:
        torch.save(state, out / "pytorch_model.bin")
    if "safetensors" in containers:
        seen, unique = set(), {}
        for k, v in state.items():
            if v.data_ptr() not in seen:
                seen.add(v.data_ptr())
                unique[k] = v
        save_file(unique, out / "model.safetensors", metadata={"format": "pt"})
    print(json.dumps({"params": sum(p.numel() for p in model.parameters())}))
""")


def make_model(family, config_kwargs, out, containers=("safetensors",)):
    """Writes a random `family` ("gpt2" or "bert") model into folder `out` (see _MAKE_MODEL)."""
    subprocess.run([PY, "-c", _MAKE_MODEL, family, json.dumps(config_kwargs), str(out),
                    ",".join(containers)], check=True)


def timed(cmd, log=None, ok_codes=(0,)):
    """Runs cmd under /usr/bin/time. Returns (wall s, peak RSS MiB, exit code, stdout).

    Peak RSS is the "Maximum resident set size" of /usr/bin/time -v (the largest of the process
    and its waited-for children). stderr goes to `log` when given. Raises when the exit code is
    not in ok_codes (pass None to accept any, e.g. to record an out-of-memory kill)."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *map(str, cmd)], capture_output=True, text=True)
    seconds = time.perf_counter() - start  # finer than time's 10 ms; includes its fork (~1 ms)
    if log is not None:
        Path(log).write_text(proc.stderr)
    if ok_codes is not None and proc.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                           f"{proc.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return seconds, rss / 1024, proc.returncode, proc.stdout


def cpu_seconds(time_v_output):
    """User + system CPU seconds from the text /usr/bin/time -v printed."""
    return sum(float(x) for x in
               re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", time_v_output))


def machine_load():
    """The 1/5/15-minute load averages, for the record (other jobs may share the machine)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
