"""Speed and memory of tensorferry against `cp` of the same bytes and the Python peer paths, in one
run on one machine (issue 6). Ratios are what count: absolute times on a shared machine vary.

    $VENV/bin/python bench/run_bench.py --size tiny            # seconds; what CI runs
    $VENV/bin/python bench/run_bench.py --size bert-large --size gpt2-xl --repeat 3 \
        --results bench/RESULTS.md

Models are generated with the real libraries (random weights) into --work and reused. Each case
runs in its own process under /usr/bin/time -v (wall time, peak RSS); its input is read once
right before it, so every case starts from a warm page cache. Outputs are deleted after each case.

What is compared: tensorferry fsyncs every output before renaming it into place, `cp` does not.
The baseline for the targets is therefore `cp` followed by `sync FILE` (fsync of the copy); plain
`cp` is listed too. "× cp+sync" scales that baseline to the bytes the case wrote.
"""
import argparse
import datetime
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BIN, PY, cpu_seconds, machine_load, make_model, timed  # noqa: E402

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

# The TF1 peer: torch.load, one tf.Variable per distinct tensor (Linear weights transposed to
# TF's [in, out] when the target convention wants that), tf.compat.v1.train.Saver writes the
# bundle. Names are the PyTorch ones with "/" separators: renaming costs nothing next to the data.
PEER_TF1_SAVER = textwrap.dedent("""
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import torch
    import tensorflow as tf
    src, prefix, transpose = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    state = torch.load(src, weights_only=True)
    seen, variables = set(), {}
    for k, v in state.items():
        if v.data_ptr() in seen:
            continue
        seen.add(v.data_ptr())
        a = v.numpy()
        if transpose and a.ndim == 2 and k.endswith(".weight") and "embeddings" not in k:
            a = a.T
        name = k.replace(".", "/")
        variables[name] = tf.Variable(a, name=name.replace("/", "_"))
    del state
    tf.compat.v1.train.Saver(var_list=variables).save(None, prefix)
""")

PEER_TF_FROM_PT = textwrap.dedent("""
    import os, sys
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    from transformers import TFAutoModelForPreTraining, TFGPT2LMHeadModel, AutoConfig
    src, out = sys.argv[1], sys.argv[2]
    config = AutoConfig.from_pretrained(src)
    cls = TFGPT2LMHeadModel if config.model_type == "gpt2" else TFAutoModelForPreTraining
    model = cls.from_pretrained(src, from_pt=True)
    model.save_pretrained(out)
""")


def tree_size(path):
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def warm(*paths):
    """Reads the inputs so that the case starts with them in the page cache."""
    files = []
    for p in paths:
        p = Path(p)
        files += sorted(x for x in p.iterdir() if x.is_file()) if p.is_dir() else [p]
    subprocess.run(["cat", *map(str, files)], stdout=subprocess.DEVNULL, check=True)


def bench_model(name, work, peers, verify, repeat):
    family, kwargs = SIZES[name]
    model_dir = work / name / "hf"
    if not (model_dir / "model.safetensors").exists() or \
            not (model_dir / "pytorch_model.bin").exists():
        print(f"[{name}] generating with transformers ...", flush=True)
        make_model(family, kwargs, model_dir, containers=("bin", "safetensors"))
    # The same model with only the .bin (a folder with both would be read from model.safetensors).
    bin_dir = work / name / "hf-bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for f in ("config.json", "pytorch_model.bin"):
        if not (bin_dir / f).exists():
            (bin_dir / f).symlink_to(model_dir / f)
    out = work / name / "out"
    logs = work / name / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    st, pt = model_dir / "model.safetensors", model_dir / "pytorch_model.bin"
    rows = []

    def case(label, cmd, output, inputs, kind, transposes=None, peer_of=None, ok_codes=(0,)):
        # tensorferry and cp run `repeat` times (fastest wall, largest RSS); the slow peers once.
        walls, rsss, cpus = [], [], []
        for _ in range(repeat if kind in ("cp", "baseline", "inspect", "convert") else 1):
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            warm(*inputs)
            load = machine_load()
            wall, rss, code, _ = timed(cmd, logs / f"{len(rows):02d}.log", ok_codes=ok_codes)
            walls.append(wall)
            rsss.append(rss)
            cpus.append(cpu_seconds((logs / f"{len(rows):02d}.log").read_text()))
            written = tree_size(output) if output else 0
        wall, rss, cpu = min(walls), max(rsss), min(cpus)
        rows.append(dict(case=label, wall=wall, rss=rss, cpu=cpu, bytes=written, kind=kind,
                         code=code, transposes=transposes, peer_of=peer_of, load=load,
                         cmd=" ".join(map(str, cmd))))
        print(f"[{name}] {label}: {wall:.3f} s, {rss:.0f} MiB, exit {code}, load {load}",
              flush=True)
        shutil.rmtree(out, ignore_errors=True)

    case("cp model.safetensors", ["cp", st, out / "cp.safetensors"], out / "cp.safetensors", [st],
         "cp")
    case("cp model.safetensors + sync (fsync of the copy)",
         ["sh", "-c", 'cp "$1" "$2" && sync "$2"', "sh", st, out / "cp.safetensors"],
         out / "cp.safetensors", [st], "baseline")
    case("tensorferry inspect model.safetensors", [BIN, "inspect", st], None, [st], "inspect")
    case("tensorferry inspect pytorch_model.bin", [BIN, "inspect", pt], None, [pt], "inspect")
    case("tensorferry convert model.safetensors -> .bin", [BIN, "convert", "-q", st, out / "x.bin"],
         out / "x.bin", [st], "convert", False)
    case("tensorferry convert pytorch_model.bin -> .safetensors",
         [BIN, "convert", "-q", pt, out / "x.safetensors"], out / "x.safetensors", [pt], "convert",
         False)
    targets = [("openai-tf1", False)] if family == "gpt2" else [("google-tf1", True)]
    targets.append(("hf-tf2", family == "bert"))
    for target, transposes in targets:
        dst = out / target
        case(f"tensorferry convert hf-pytorch -> {target} --no-verify",
             [BIN, "convert", "-q", model_dir, dst, "--to", target, "--no-verify"], dst,
             [model_dir], "convert", transposes)
    if verify:
        for target, transposes in targets:
            dst = out / target
            case(f"tensorferry convert hf-pytorch -> {target} (default: with verify)",
                 [BIN, "convert", "-q", model_dir, dst, "--to", target], dst, [model_dir],
                 "convert+verify", transposes)
    if peers:
        # A peer that is killed (e.g. out of memory) is recorded with its exit code.
        case("python: torch.load + safetensors save_file",
             [PY, "-c", PEER_TORCH_TO_SAFETENSORS, pt, out / "peer.safetensors"],
             out / "peer.safetensors", [pt], "peer", False,
             peer_of="tensorferry convert pytorch_model.bin -> .safetensors", ok_codes=None)
        tf1, transposes = targets[0]
        case(f"python: torch.load + tf.compat.v1.train.Saver (as {tf1})",
             [PY, "-c", PEER_TF1_SAVER, pt, out / "peer-tf1" / "model.ckpt",
              "1" if transposes else "0"], out / "peer-tf1", [pt], "peer", transposes,
             peer_of=f"tensorferry convert hf-pytorch -> {tf1} --no-verify", ok_codes=None)
        case("python: transformers TF from_pt=True + save_pretrained (hf-tf2)",
             [PY, "-c", PEER_TF_FROM_PT, bin_dir, out / "peer-tf2"], out / "peer-tf2", [bin_dir],
             "peer", family == "bert", peer_of="tensorferry convert hf-pytorch -> hf-tf2 --no-verify",
             ok_codes=None)
    shutil.rmtree(out, ignore_errors=True)
    return {"safetensors": st.stat().st_size, "bin": pt.stat().st_size}, rows


def render(all_rows, sizes, command, label=None):
    title = f"### Run of {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"
    lines = [title + (f": {label}" if label else ""), "",
             f"Machine: {platform.node()}, {os.cpu_count()} cores, "
             f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, "
             f"{platform.platform()}  ",
             f"Command: `{command}`  ",
             "Wall time and peak RSS (`/usr/bin/time -v`) per process, input read just before "
             "each case (warm cache); cp and tensorferry cases: fastest wall and largest RSS of "
             "--repeat runs, Python peers: one run. tensorferry fsyncs its outputs, so the baseline is "
             "`cp` + `sync FILE`. × cp+sync = wall / (baseline wall × bytes written / bytes the "
             "baseline wrote). CPU s: user+sys of the process (smallest of the runs); on a "
             "shared disk it varies less than wall time. Load = 1/5/15-min load average when the case started (other "
             "jobs share the machine).", ""]
    for name, rows in all_rows.items():
        base = next(r for r in rows if r["kind"] == "baseline")
        base_rate = base["bytes"] / base["wall"]
        size = sizes[name]
        lines += [f"#### {name} (model.safetensors {size['safetensors'] / 1e6:.1f} MB, "
                  f"pytorch_model.bin {size['bin'] / 1e6:.1f} MB)", "",
                  "| case | transposes | wall s | × cp+sync | CPU s (user+sys) | peak RSS MiB | "
                  "MB/s written | load |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            ratio = "" if not r["bytes"] or r["kind"] == "baseline" else \
                f"{r['wall'] / (r['bytes'] / base_rate):.2f}"
            rate = f"{r['bytes'] / 1e6 / r['wall']:.0f}" if r["bytes"] else ""
            tr = {None: "", True: "yes", False: "no"}[r["transposes"]]
            exit_note = f" (exit {r['code']})" if r["code"] != 0 else ""
            lines.append(f"| {r['case']}{exit_note} | {tr} | {r['wall']:.3f} | {ratio} | "
                         f"{r['cpu']:.2f} | {r['rss']:.0f} | {rate} | {r['load']} |")
        peers = [r for r in rows if r["peer_of"]]
        if peers:
            lines += ["", "| Python peer | tensorferry case | wall ratio (peer / tensorferry) | "
                      "peak RSS ratio |", "|---|---|---|---|"]
            by_case = {r["case"]: r for r in rows}
            for p in peers:
                t = by_case[p["peer_of"]]
                lines.append(f"| {p['case']} | {t['case']} | {p['wall'] / t['wall']:.1f}× | "
                             f"{p['rss'] / t['rss']:.1f}× |")
        lines.append("")
    return "\n".join(lines)


def write_section(path, run):
    """Adds `run` above the earlier runs of the "## convert" section of the results file (created
    before "## verify" when missing)."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    header = "## convert\n\n"
    at = text.find(header)
    if at >= 0:
        at += len(header)
        first_run = text.find("### Run of", at)  # below a summary written by hand, if any
        next_section = text.find("\n## ", at)
        if first_run >= 0 and (next_section < 0 or first_run < next_section):
            at = first_run
        text = text[:at] + run.rstrip() + "\n\n" + text[at:]
    else:
        at = text.find("\n## ")
        section = header + run.rstrip() + "\n"
        text = (text.rstrip() + "\n\n" + section if at < 0
                else text[:at + 1] + "\n" + section + "\n" + text[at + 1:])
    path.write_text(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", action="append", default=[],
                        help="tiny, tiny-gpt2, tiny-bert, bert-large, gpt2-xl (repeatable)")
    parser.add_argument("--work", type=Path,
                        default=Path.home() / ".cache" / "tensorferry" / "bench")
    parser.add_argument("--no-peers", action="store_true", help="skip the Python peer paths")
    parser.add_argument("--no-verify", action="store_true",
                        help="skip the convert cases with the default verify")
    parser.add_argument("--label", help="a note for the run's heading (e.g. which build)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each cp/tensorferry case; the fastest counts")
    parser.add_argument("--results", type=Path,
                        help="write the tables as the '## convert' section of this markdown file")
    args = parser.parse_args()
    names = []
    for s in args.size or ["tiny"]:
        names += ALIASES.get(s, [s])
    for name in names:
        if name not in SIZES:
            parser.error(f"unknown size {name}")
    all_rows, sizes = {}, {}
    for name in names:
        sizes[name], all_rows[name] = bench_model(name, args.work, not args.no_peers,
                                                  not args.no_verify, args.repeat)
    run = render(all_rows, sizes, shlex.join(["python", "bench/run_bench.py", *sys.argv[1:]]),
                 args.label)
    print(run)
    if args.results:
        write_section(args.results, run)


if __name__ == "__main__":
    main()
