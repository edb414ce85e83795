"""Seed corpora for the fuzz targets: small real files made by the real libraries.

    $VENV/bin/python fuzz/make_seeds.py OUT_DIR

writes OUT_DIR/<target>/... . TensorFlow and torch run in separate subprocesses.
"""
import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

TORCH_SEEDS = textwrap.dedent("""
    import sys, torch
    from pathlib import Path
    from safetensors.torch import save_file
    out = Path(sys.argv[1])
    (out / "torch_fuzzer").mkdir(parents=True, exist_ok=True)
    (out / "safetensors_fuzzer").mkdir(parents=True, exist_ok=True)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    sd = {"a": base, "t": base.t(), "h": torch.ones(2, dtype=torch.float16),
          "b": torch.zeros(2, dtype=torch.bfloat16), "i": torch.tensor(7), "e": torch.empty(0, 3)}
    torch.save(sd, out / "torch_fuzzer" / "new.bin")
    torch.save(sd, out / "torch_fuzzer" / "legacy.bin", _use_new_zipfile_serialization=False)
    torch.save({"state_dict": sd, "epoch": 3}, out / "torch_fuzzer" / "nested.bin")
    save_file({k: v.contiguous() for k, v in sd.items()}, out / "safetensors_fuzzer" / "a.safetensors",
              metadata={"format": "pt"})
""")

TF_SEEDS = textwrap.dedent("""
    import os, struct, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import numpy as np, tensorflow as tf
    from pathlib import Path
    out = Path(sys.argv[1])
    tmp = out / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    for d in ("tf_bundle_fuzzer", "keras_h5_fuzzer"):
        (out / d).mkdir(parents=True, exist_ok=True)
    ckpt = tf.train.Checkpoint(w=tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3)),
                               s=tf.Variable(b"hello"), h=tf.Variable(np.ones(3, np.float16)))
    prefix = ckpt.write(str(tmp / "ckpt"))
    index = Path(prefix + ".index").read_bytes()
    data = Path(prefix + ".data-00000-of-00001").read_bytes()
    (out / "tf_bundle_fuzzer" / "tf2").write_bytes(struct.pack("<I", len(index)) + index + data)
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, input_shape=(2,)),
                                 tf.keras.layers.LayerNormalization()])
    model.save_weights(str(out / "keras_h5_fuzzer" / "model.h5"))
""")


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", TORCH_SEEDS, str(out)], check=True)
    subprocess.run([sys.executable, "-c", TF_SEEDS, str(out)], check=True)
    (out / "shard_index_fuzzer").mkdir(exist_ok=True)
    (out / "shard_index_fuzzer" / "index.json").write_text(json.dumps(
        {"metadata": {"total_size": 24}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                                                        "b": "model-00002-of-00002.safetensors"}}))


if __name__ == "__main__":
    main()
