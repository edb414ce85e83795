"""Time of `tensorferry verify` on GPT-2-124M-sized and BERT-base-sized random models, next to
PyTorch's own forward pass on the same inputs, in the same run (issue 5). Not a timed test.

    $VENV/bin/python bench/verify_bench.py                       # prints the table
    $VENV/bin/python bench/verify_bench.py --results bench/RESULTS.md

Models are generated with transformers (random weights, std 0.02) into --work and reused.
Each case runs in its own process under /usr/bin/time (wall time, peak RSS), after the files
were read once to warm the page cache. `verify A A` runs two reference forward passes (one per
checkpoint) over verify's three fixed token sequences (7, 19 and 40 tokens) and compares every
stage; PyTorch runs the same three sequences through the same model once, in float32.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, PY, make_model, timed  # noqa: E402

MODELS = {
    "gpt2-124M": ("gpt2", dict()),  # GPT2Config defaults: 768 wide, 12 layers, 50257 tokens
    "bert-base": ("bert", dict()),  # BertConfig defaults: 768 wide, 12 layers, 30522 tokens
}

# Loads the model and runs the sequences; prints load and forward seconds as JSON.
TORCH_FORWARD = textwrap.dedent("""
    import json, os, sys, time
    os.environ["USE_TF"] = "0"
    t0 = time.perf_counter()
    import torch
    from transformers import GPT2LMHeadModel, BertForPreTraining
    t1 = time.perf_counter()
    family, path, sequences = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    cls = GPT2LMHeadModel if family == "gpt2" else BertForPreTraining
    model = cls.from_pretrained(path).eval()
    t2 = time.perf_counter()
    def run():
        with torch.no_grad():
            for s in sequences:
                kw = {} if family == "gpt2" else {"token_type_ids": torch.tensor([s["token_types"]])}
                model(torch.tensor([s["tokens"]]), output_hidden_states=True, **kw)
    run()
    t3 = time.perf_counter()
    run()  # again, warm: what the forward pass itself costs
    t4 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "load": t2 - t1, "forward": t3 - t2,
                      "warm_forward": t4 - t3, "threads": torch.get_num_threads()}))
""")


def bench(name, work):
    family, kwargs = MODELS[name]
    model = work / name
    if not (model / "model.safetensors").exists():
        print(f"[{name}] generating with transformers ...", flush=True)
        make_model(family, kwargs, model)
    size = (model / "model.safetensors").stat().st_size
    subprocess.run(["cat", str(model / "model.safetensors")], stdout=subprocess.DEVNULL,
                   check=True)
    rows = []
    wall, rss, _, out = timed([BIN, "verify", model, model, "--json"])
    report = json.loads(out)
    assert report["passed"], report["first_failure"]
    sequences = report["sequences"]
    rows.append(("tensorferry verify A A (2 forward passes + compare)", wall, rss, None))
    tokens_args = []
    for s in sequences:
        tokens_args += ["--tokens", ",".join(map(str, s["tokens"]))]
        if "token_types" in s:
            tokens_args += ["--token-types", ",".join(map(str, s["token_types"]))]
    wall, rss, _, _ = timed([BIN, "forward", model, *tokens_args])
    rows.append(("tensorferry forward A (1 pass, fp64)", wall, rss, None))
    wall, rss, _, out = timed([PY, "-c", TORCH_FORWARD, family, model, json.dumps(sequences)])
    t = json.loads(out.strip().splitlines()[-1])
    rows.append((f"PyTorch import + from_pretrained + 2 forward passes (fp32, {t['threads']} threads)",
                 wall, rss, t))
    for label, wall, rss, _ in rows:
        print(f"[{name}] {label}: {wall:.2f} s, {rss:.0f} MiB", flush=True)
    return size, [len(s["tokens"]) for s in sequences], report["seconds"], rows


def render(results, command):
    lines = ["## verify", "",
             f"Run of {datetime.date.today().isoformat()} on {platform.node()}, "
             f"{os.cpu_count()} cores, {platform.platform()}  ",
             f"Command: `{command}`  ",
             "Wall time and peak RSS per process (/usr/bin/time), page cache warm. "
             "`verify A A` reads the checkpoint twice (once per side) and runs two float64 "
             "reference passes; PyTorch runs one float32 pass.", ""]
    for name, (size, lengths, verify_seconds, rows) in results.items():
        lines += [f"### {name} (model.safetensors {size / 1e6:.0f} MB; sequences of "
                  f"{', '.join(map(str, lengths))} tokens)", "",
                  "| case | wall s | peak RSS MiB | detail |", "|---|---|---|---|"]
        for label, wall, rss, t in rows:
            detail = ""
            if t:
                detail = (f"import {t['import']:.2f} s, load {t['load']:.2f} s, "
                          f"first forward {t['forward']:.3f} s, warm forward {t['warm_forward']:.3f} s")
            elif label.startswith("tensorferry verify"):
                detail = f"verify's own clock: {verify_seconds:.2f} s"
            lines.append(f"| {label} | {wall:.2f} | {rss:.0f} | {detail} |")
        lines.append("")
    return "\n".join(lines)


def write_section(path, section):
    """Replaces the "## verify" section of the results file (or appends it)."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(r"^## verify\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(section.rstrip() + "\n\n", text)
    else:
        text = text.rstrip() + "\n\n" + section.rstrip() + "\n"
    path.write_text(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", action="append", choices=sorted(MODELS),
                        help="which model (repeatable); default: all")
    parser.add_argument("--work", type=Path,
                        default=Path.home() / ".cache" / "tensorferry" / "verify-bench")
    parser.add_argument("--results", type=Path, help="write the section into this markdown file")
    args = parser.parse_args()
    results = {name: bench(name, args.work) for name in (args.model or sorted(MODELS))}
    section = render(results, " ".join(["python", "bench/verify_bench.py", *sys.argv[1:]]))
    print(section)
    if args.results:
        write_section(args.results, section)


if __name__ == "__main__":
    main()
