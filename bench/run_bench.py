"""Speed and memory of tensorferry against `cp` of the same bytes and the Python peer paths, in one
run on one machine (issue 6). Ratios are what count: absolute times on a shared machine vary.

    $VENV/bin/python bench/run_bench.py --size tiny            # seconds; what CI runs
    $VENV/bin/python bench/run_bench.py --size bert-large --size gpt2-xl --results bench/RESULTS.md

Models are generated with the real libraries (random weights) into --work and reused. Each case
runs under /usr/bin/time for wall time and peak RSS; the cache is warmed by reading the input
once before the first case.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("TENSORFERRY_BIN", ROOT / "build" / "tensorferry"))
PY = sys.executable

SIZES = {
    # family, config kwargs
    "tiny-gpt2": ("gpt2", dict(n_embd=64, n_layer=2, n_head=4, vocab_size=1000, n_positions=128)),
    "tiny-bert": ("bert", dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                               intermediate_size=256, vocab_size=1000, max_position_embeddings=128)),
    "gpt2-xl": ("gpt2", dict(n_embd=1600, n_layer=48, n_head=25, vocab_size=50257, n_positions=1024)),
    "bert-large": ("bert", dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                intermediate_size=4096, vocab_size=30522,
                                max_position_embeddings=512)),
}
ALIASES = {"tiny": ["tiny-gpt2", "tiny-bert"]}

MAKE_MODEL = textwrap.dedent("""
    import json, sys, torch
    from pathlib import Path
    from safetensors.torch import save_file
    from transformers import GPT2Config, GPT2LMHeadModel, BertConfig, BertForPreTraining
    from transformers.modeling_utils import no_init_weights
    family, kwargs, out = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
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
    # Both single-file containers, unsharded, as the benchmark's inputs.
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    torch.save(state, out / "pytorch_model.bin")
    unique = {}
    seen = set()
    for k, v in state.items():
        if v.data_ptr() in seen:
            continue
        seen.add(v.data_ptr())
        unique[k] = v
    save_file(unique, out / "model.safetensors", metadata={"format": "pt"})
    print(json.dumps({"params": sum(p.numel() for p in model.parameters())}))
""")

PEER_TORCH_TO_SAFETENSORS = textwrap.dedent("""
    import sys, torch
    from safetensors.torch import save_file
    state = torch.load(sys.argv[1], weights_only=True)
    seen, unique = set(), {}
    for k, v in state.items():
        if v.data_ptr() not in seen:
            seen.add(v.data_ptr()); unique[k] = v.contiguous()
    save_file(unique, sys.argv[2])
""")

PEER_TF_FROM_PT = textwrap.dedent("""
    import os, sys
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    from transformers import TFAutoModelForPreTraining, TFGPT2LMHeadModel, AutoConfig
    src, out = sys.argv[1], sys.argv[2]
    config = AutoConfig.from_pretrained(src)
    cls = TFGPT2LMHeadModel if config.model_type == "gpt2" else TFAutoModelForPreTraining
    model = cls.from_pretrained(src, from_pt=True)
    model.save_pretrained(out)
""")


def timed(cmd, log):
    """Runs cmd under /usr/bin/time; returns (wall seconds, peak RSS MiB)."""
    stats = log.with_suffix(".time")
    proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", str(stats), *map(str, cmd)],
                          stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}): "
                           f"{log.read_text()[-3000:]}")
    wall, rss_kib = stats.read_text().split()[-2:]
    return float(wall), int(rss_kib) / 1024


def tree_size(path):
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench_model(name, work, peers):
    family, kwargs = SIZES[name]
    model_dir = work / name / "hf"
    if not (model_dir / "model.safetensors").exists():
        print(f"[{name}] generating with transformers ...", flush=True)
        subprocess.run([PY, "-c", MAKE_MODEL, family, json.dumps(kwargs), model_dir], check=True)
    out = work / name / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    logs = work / name / "logs"
    logs.mkdir(exist_ok=True)
    st = model_dir / "model.safetensors"
    size = st.stat().st_size
    subprocess.run(["cat", str(st), str(model_dir / "pytorch_model.bin")],
                   stdout=subprocess.DEVNULL, check=True)  # warm the page cache

    rows = []

    def case(label, cmd, output, transposes):
        wall, rss = timed(cmd, logs / f"{len(rows)}.log")
        rows.append(dict(model=name, case=label, wall=wall, rss=rss, bytes=tree_size(output),
                         transposes=transposes))
        print(f"[{name}] {label}: {wall:.2f} s, {rss:.0f} MiB", flush=True)

    case("cp model.safetensors", ["cp", st, out / "cp.safetensors"], out / "cp.safetensors", None)
    case("tensorferry inspect model.safetensors", [BIN, "inspect", st], st, None)
    case("tensorferry inspect pytorch_model.bin", [BIN, "inspect", model_dir / "pytorch_model.bin"],
         model_dir / "pytorch_model.bin", None)
    case("tensorferry convert safetensors -> .bin", [BIN, "convert", st, out / "tf.bin"],
         out / "tf.bin", False)
    case("tensorferry convert .bin -> safetensors",
         [BIN, "convert", model_dir / "pytorch_model.bin", out / "tf.safetensors"],
         out / "tf.safetensors", False)
    targets = [("openai-tf1", False)] if family == "gpt2" else [("google-tf1", True)]
    targets.append(("hf-tf2", family == "bert"))
    for target, transposes in targets:
        dst = out / target
        case(f"tensorferry convert hf-pytorch -> {target}",
             [BIN, "convert", model_dir, dst, "--to", target, "--no-verify"], dst, transposes)
    if peers:
        case("python: torch.load + safetensors save_file",
             [PY, "-c", PEER_TORCH_TO_SAFETENSORS, model_dir / "pytorch_model.bin",
              out / "peer.safetensors"], out / "peer.safetensors", False)
        case("python: transformers TF from_pt=True + save_pretrained",
             [PY, "-c", PEER_TF_FROM_PT, model_dir, out / "peer-tf2"], out / "peer-tf2",
             family == "bert")
    shutil.rmtree(out, ignore_errors=True)
    return size, rows


def render(all_rows, sizes, command):
    lines = [f"### Run of {datetime.date.today().isoformat()}", "",
             f"Machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}  ",
             f"Command: `{command}`", ""]
    for name, rows in all_rows.items():
        cp = next(r for r in rows if r["case"].startswith("cp "))
        lines += [f"#### {name} (model.safetensors = {sizes[name] / 1e6:.1f} MB)", "",
                  "| case | wall s | × cp | peak RSS MiB | MB/s written |", "|---|---|---|---|---|"]
        for r in rows:
            ratio = r["wall"] / cp["wall"] if cp["wall"] > 0 else float("nan")
            rate = r["bytes"] / 1e6 / r["wall"] if r["wall"] > 0 else float("nan")
            lines.append(f"| {r['case']} | {r['wall']:.2f} | {ratio:.2f} | {r['rss']:.0f} | "
                         f"{rate:.0f} |")
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", action="append", default=[],
                        help="tiny, tiny-gpt2, tiny-bert, bert-large, gpt2-xl (repeatable)")
    parser.add_argument("--work", type=Path,
                        default=Path.home() / ".cache" / "tensorferry" / "bench")
    parser.add_argument("--no-peers", action="store_true", help="skip the Python peer paths")
    parser.add_argument("--results", type=Path, help="append the table to this markdown file")
    args = parser.parse_args()
    names = []
    for s in args.size or ["tiny"]:
        names += ALIASES.get(s, [s])
    all_rows, sizes = {}, {}
    for name in names:
        if name not in SIZES:
            parser.error(f"unknown size {name}")
        sizes[name], all_rows[name] = bench_model(name, args.work, not args.no_peers)
    table = render(all_rows, sizes, " ".join(["python", *sys.argv]))
    print(table)
    if args.results:
        with open(args.results, "a") as f:
            f.write("\n" + table + "\n")


if __name__ == "__main__":
    main()
