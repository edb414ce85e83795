"""Seed corpora for the fuzz targets: small real files made by the real libraries (torch,
safetensors, TensorFlow, tf-keras, transformers, Python's zipfile), cut the way each target reads
its input.

    $VENV/bin/python fuzz/make_seeds.py OUT_DIR

writes OUT_DIR/<target>/... . TensorFlow and torch run in separate subprocesses.
"""
import io
import json
import pickletools
import shutil
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

TORCH_SEEDS = textwrap.dedent("""
    import os, sys, torch
    from pathlib import Path
    from safetensors.torch import save_file
    out = Path(sys.argv[1])
    for d in ("torch_fuzzer", "safetensors_fuzzer", "safetensors_header_fuzzer",
              "shard_index_fuzzer", "model_config_fuzzer", "tmp"):
        (out / d).mkdir(parents=True, exist_ok=True)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    sd = {"a": base, "t": base.t(), "h": torch.ones(2, dtype=torch.float16),
          "b": torch.zeros(2, dtype=torch.bfloat16), "i": torch.tensor(7), "e": torch.empty(0, 3),
          "v": base[1], "l": torch.arange(3, dtype=torch.int64), "q": torch.tensor([True, False])}
    torch.save(sd, out / "torch_fuzzer" / "new.bin")
    torch.save(sd, out / "torch_fuzzer" / "legacy.bin", _use_new_zipfile_serialization=False)
    torch.save({"state_dict": sd, "epoch": 3}, out / "torch_fuzzer" / "nested.bin")
    contiguous = {k: v.contiguous() for k, v in sd.items() if k != "v"}
    save_file(contiguous, out / "safetensors_fuzzer" / "a.safetensors", metadata={"format": "pt"})
    save_file({"x": base}, out / "safetensors_header_fuzzer" / "one.safetensors")
    save_file(contiguous, out / "safetensors_header_fuzzer" / "all.safetensors",
              metadata={"format": "pt"})
    # transformers writes the configs and the sharded index.
    os.environ["USE_TF"] = "0"
    from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel
    gpt2 = GPT2Config(vocab_size=50, n_positions=16, n_embd=8, n_layer=2, n_head=2)
    bert = BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=16, max_position_embeddings=16)
    # First byte of a model_config_fuzzer input: bit 3 = LLaMA, else bit 0 = BERT; bits 1-2 =
    # convention (0 hf-pytorch).
    (out / "model_config_fuzzer" / "gpt2_config").write_bytes(b"\\x00" + gpt2.to_json_string().encode())
    (out / "model_config_fuzzer" / "bert_config").write_bytes(b"\\x01" + bert.to_json_string().encode())
    from transformers import LlamaConfig
    llama = LlamaConfig(vocab_size=50, hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                        num_attention_heads=2, num_key_value_heads=1,
                        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                      "high_freq_factor": 4.0,
                                      "original_max_position_embeddings": 16})
    (out / "model_config_fuzzer" / "llama_config").write_bytes(b"\\x08" + llama.to_json_string().encode())
    GPT2LMHeadModel(gpt2).save_pretrained(out / "tmp" / "gpt2", max_shard_size="2KB")
    BertModel(bert).save_pretrained(out / "tmp" / "bert", max_shard_size="2KB",
                                    safe_serialization=False)
    for name, path in (("gpt2", "gpt2/model.safetensors.index.json"),
                       ("bert", "bert/pytorch_model.bin.index.json")):
        (out / "shard_index_fuzzer" / name).write_bytes((out / "tmp" / path).read_bytes())
""")

TF_SEEDS = textwrap.dedent("""
    import os, struct, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import numpy as np, tensorflow as tf
    from pathlib import Path
    out = Path(sys.argv[1])
    tmp = out / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    for d in ("tf_bundle_fuzzer", "keras_h5_fuzzer", "tf_table_fuzzer", "tf_checkpoint_state_fuzzer"):
        (out / d).mkdir(parents=True, exist_ok=True)
    def bundle(name, prefix):
        index = Path(prefix + ".index").read_bytes()
        data = Path(prefix + ".data-00000-of-00001").read_bytes()
        (out / "tf_bundle_fuzzer" / name).write_bytes(struct.pack("<I", len(index)) + index + data)
        (out / "tf_table_fuzzer" / name).write_bytes(index)
        (out / "raw_bundles").mkdir(exist_ok=True)
        (out / "raw_bundles" / (name + ".index")).write_bytes(index)
        (out / "raw_bundles" / (name + ".data")).write_bytes(data)
    # TF2 object-based, with an optimizer (slot variables, counters) and a string variable.
    w = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3))
    opt = tf.keras.optimizers.Adam()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(w * w)
    opt.apply_gradients([(tape.gradient(loss, w), w)])
    ckpt = tf.train.Checkpoint(w=w, s=tf.Variable(b"hello"), h=tf.Variable(np.ones(3, np.float16)),
                               opt=opt)
    bundle("tf2", ckpt.write(str(tmp / "ckpt")))
    manager = tf.train.CheckpointManager(ckpt, str(tmp / "managed"), max_to_keep=3)
    manager.save(); manager.save()
    (out / "tf_checkpoint_state_fuzzer" / "tf2").write_bytes((tmp / "managed" / "checkpoint").read_bytes())
    # TF1 name-based Saver (absolute paths in the state file, global_step).
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.get_variable("model/h0/w", initializer=np.ones((2, 2), np.float32))
        tf.compat.v1.get_variable("model/b", initializer=np.zeros(3, np.float64))
        tf.compat.v1.get_variable("model/i", initializer=np.array([1, 2], np.int32))
        step = tf.compat.v1.train.get_or_create_global_step()
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, str(tmp / "tf1" / "model.ckpt"), global_step=0)
            prefix = saver.save(sess, str(tmp / "tf1" / "model.ckpt"), global_step=1)
    bundle("tf1", prefix)
    (out / "tf_checkpoint_state_fuzzer" / "tf1").write_bytes((tmp / "tf1" / "checkpoint").read_bytes())
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, input_shape=(2,)),
                                 tf.keras.layers.LayerNormalization()])
    model.save_weights(str(out / "keras_h5_fuzzer" / "model.h5"))
""")

# Google's bert_config.json and OpenAI's hparams.json as their releases ship them (the libraries
# that read them have no writer); the prefix byte picks the convention (see model_config_fuzzer).
GOOGLE_BERT_CONFIG = {
    "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
    "max_position_embeddings": 512, "num_attention_heads": 12, "num_hidden_layers": 12,
    "type_vocab_size": 2, "vocab_size": 30522}
OPENAI_HPARAMS = {"n_vocab": 50257, "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12}


def leveldb_entries(index):
    """(key, value) of every entry of a LevelDB table (uncompressed blocks, as TF writes them)."""
    def varint(buf, pos):
        result = shift = 0
        while True:
            b = buf[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return result, pos

    def block(offset, size):
        data = index[offset:offset + size]
        restarts = struct.unpack_from("<I", data, len(data) - 4)[0]
        end = len(data) - 4 - 4 * restarts
        pos, key = 0, b""
        while pos < end:
            shared, pos = varint(data, pos)
            unshared, pos = varint(data, pos)
            value_size, pos = varint(data, pos)
            key = key[:shared] + data[pos:pos + unshared]
            pos += unshared
            yield key, data[pos:pos + value_size]
            pos += value_size

    footer = index[-48:]
    _, pos = varint(footer, 0)
    _, pos = varint(footer, pos)
    index_offset, pos = varint(footer, pos)
    index_size, _ = varint(footer, pos)
    for _, handle in block(index_offset, index_size):
        offset, pos = varint(handle, 0)
        size, _ = varint(handle, pos)
        yield from block(offset, size)


def tf_index_seed(index, data):
    """The tf_index_fuzzer layout of a real bundle (see that file)."""
    out = struct.pack("<H", len(data)) + data
    for key, value in leveldb_entries(index):
        out += bytes([len(key)]) + key + struct.pack("<H", len(value)) + value
    return out


def pickles(stream):
    """The byte ranges of consecutive pickles in `stream`."""
    f = io.BytesIO(stream)
    start = 0
    while start < len(stream):
        for op, _, pos in pickletools.genops(f):
            if op.name == "STOP":
                break
        end = f.tell()
        yield stream[start:end]
        start = end
        if len(stream) - start < 2 or stream[start] != 0x80:  # raw storages follow
            return


GGUF_SEEDS = textwrap.dedent("""
    import sys
    from pathlib import Path
    import numpy as np
    out = Path(sys.argv[1]) / "gguf_fuzzer"
    out.mkdir(parents=True, exist_ok=True)
    # gguf-py as vendored with llama.cpp's converter (scripts/python-env.sh records where).
    sys.path.insert(0, str(Path(Path(sys.prefix, ".llama-cpp-src").read_text().strip(), "gguf-py")))
    import gguf
    Q = gguf.GGMLQuantizationType
    x = np.linspace(-1, 1, 2 * 256, dtype=np.float32).reshape(2, 256)
    for name, alignment in (("a.gguf", None), ("aligned64.gguf", 64)):
        w = gguf.GGUFWriter(out / name, "llama")
        if alignment:
            w.add_custom_alignment(alignment)
        w.add_uint32("llama.block_count", 1)
        w.add_float32("llama.rope.freq_base", 10000.0)
        w.add_bool("t.bool", True)
        w.add_array("tokenizer.ggml.tokens", ["a", "b"])
        w.add_array("tokenizer.ggml.token_type", [1, 3])
        w.add_tensor("f32", x)
        w.add_tensor("f16", x.astype(np.float16))
        w.add_tensor("q8_0", gguf.quants.quantize(x, Q.Q8_0), raw_dtype=Q.Q8_0)
        w.add_tensor("q4_0", gguf.quants.quantize(x, Q.Q4_0), raw_dtype=Q.Q4_0)
        w.add_tensor("q4_K", np.zeros((2, 144), np.uint8), raw_dtype=Q.Q4_K)
        w.add_tensor("q6_K", np.zeros((2, 210), np.uint8), raw_dtype=Q.Q6_K)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()

    # A whole (tiny) Llama 3 as llama.cpp's converter writes it, so that gguf -> hf-pytorch gets
    # past the config: hyperparameters, a byte-level BPE tokenizer, every layer's tensors, and
    # rope_freqs.weight for llama3 scaling (factor 8, original context 8192, rotary width 4:
    # divisors 1 and 1 / ((1 - s) / 8 + s), s = (8192 / wavelength - 1) / 3, in f32 steps).
    import math
    import torch
    freqs = 1.0 / (500000.0 ** (torch.arange(0, 4, 2, dtype=torch.float32) / 4))
    wavelength = 2 * math.pi / freqs[1]
    smooth = (8192 / wavelength - 1.0) / 3.0
    divisors = np.array([1.0, float(1 / ((1 - smooth) / 8.0 + smooth))], dtype=np.float32)
    w = gguf.GGUFWriter(out / "llama3.gguf", "llama")
    for key, value in (("block_count", 1), ("context_length", 16), ("embedding_length", 8),
                       ("feed_forward_length", 16), ("attention.head_count", 2),
                       ("attention.head_count_kv", 1), ("vocab_size", 4),
                       ("rope.dimension_count", 4)):
        w.add_uint32(f"llama.{key}", value)
    w.add_float32("llama.rope.freq_base", 500000.0)
    w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_uint32("general.file_type", 0)
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_array("tokenizer.ggml.tokens", ["a", "b", "ab", "<|end|>"])
    w.add_array("tokenizer.ggml.token_type", [1, 1, 1, 3])
    w.add_array("tokenizer.ggml.merges", ["a b"])
    w.add_uint32("tokenizer.ggml.bos_token_id", 3)
    w.add_tensor("rope_freqs.weight", divisors)
    rng = np.random.default_rng(0)
    for name, shape in (("token_embd", (4, 8)), ("blk.0.attn_norm", (8,)),
                        ("blk.0.attn_q", (8, 8)), ("blk.0.attn_k", (4, 8)),
                        ("blk.0.attn_v", (4, 8)), ("blk.0.attn_output", (8, 8)),
                        ("blk.0.ffn_norm", (8,)), ("blk.0.ffn_gate", (16, 8)),
                        ("blk.0.ffn_up", (16, 8)), ("blk.0.ffn_down", (8, 16)),
                        ("output_norm", (8,))):
        w.add_tensor(name + ".weight", rng.standard_normal(shape).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
""")


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", TORCH_SEEDS, str(out)], check=True)
    subprocess.run([sys.executable, "-c", TF_SEEDS, str(out)], check=True)
    subprocess.run([sys.executable, "-c", GGUF_SEEDS, str(out)], check=True)

    # Zip: torch's own archives, plus Python's zipfile with deflate, ZIP64 and a data descriptor.
    (out / "zip_directory_fuzzer").mkdir(exist_ok=True)
    (out / "torch_pickle_fuzzer").mkdir(exist_ok=True)
    for name in ("new.bin", "nested.bin"):
        raw = (out / "torch_fuzzer" / name).read_bytes()
        (out / "zip_directory_fuzzer" / name).write_bytes(raw)
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))
            # The target reads odd-sized inputs as legacy pickles, even-sized as zip ones.
            record = z.read(pkl)
            (out / "torch_pickle_fuzzer" / (name + ".pkl")).write_bytes(
                record if len(record) % 2 == 0 else record + b".")
    legacy = list(pickles((out / "torch_fuzzer" / "legacy.bin").read_bytes()))
    data_pickle = legacy[3]
    (out / "torch_pickle_fuzzer" / "legacy.pkl").write_bytes(
        data_pickle if len(data_pickle) % 2 else data_pickle + b".")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        with z.open("archive/data/0", "w", force_zip64=True) as f:
            f.write(bytes(range(64)))
        z.writestr("archive/version", b"3\n", compress_type=zipfile.ZIP_DEFLATED)
    (out / "zip_directory_fuzzer" / "zipfile64.zip").write_bytes(buf.getvalue())

    (out / "tf_index_fuzzer").mkdir(exist_ok=True)
    for name in ("tf1", "tf2"):
        index = (out / "raw_bundles" / (name + ".index")).read_bytes()
        data = (out / "raw_bundles" / (name + ".data")).read_bytes()
        (out / "tf_index_fuzzer" / name).write_bytes(tf_index_seed(index, data))

    configs = out / "model_config_fuzzer"
    configs.mkdir(exist_ok=True)
    (configs / "openai_hparams").write_bytes(b"\x04" + json.dumps(OPENAI_HPARAMS).encode())
    (configs / "google_bert_config").write_bytes(b"\x07" + json.dumps(GOOGLE_BERT_CONFIG).encode())

    (out / "shard_index_fuzzer" / "index.json").write_text(json.dumps(
        {"metadata": {"total_size": 24}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                                                        "b": "model-00002-of-00002.safetensors"}}))
    nesting_and_folder_seeds(out)
    shutil.rmtree(out / "tmp")
    shutil.rmtree(out / "raw_bundles")


def nesting_and_folder_seeds(out):
    """Issue 13: text nested past the bound (kMaxTextNesting, core/text_nesting.h) in each text
    format, and model folders whose files are FIFOs or links (model_folder_fuzzer's layout)."""
    deep = "[" * 200 + "]" * 200
    gpt2 = (out / "model_config_fuzzer" / "gpt2_config").read_bytes()
    (out / "model_config_fuzzer" / "deep_unknown_field").write_bytes(
        gpt2[:-1].rstrip(b"\n }") + b', "junk": ' + deep.encode() + b"}")
    (out / "shard_index_fuzzer" / "deep_metadata.json").write_text(
        '{"metadata": {"x": ' + deep + '}, "weight_map": {"a": "m-00001-of-00001.safetensors"}}')
    (out / "tf_checkpoint_state_fuzzer" / "deep_unknown_message").write_text(
        'model_checkpoint_path: "model.ckpt"\n' + "x { " * 200 + "}" * 200)
    folder = out / "model_folder_fuzzer"
    folder.mkdir(exist_ok=True)
    safetensors = next((out / "safetensors_fuzzer").iterdir()).read_bytes()
    kinds = lambda *k: bytes([sum(v << (2 * i) for i, v in enumerate(k)) & 0xFF,
                              sum(v << (2 * i) for i, v in enumerate(k)) >> 8])
    # Names: config.json, model.safetensors, model.safetensors.index.json, shard, checkpoint,
    # vocab.json, merges.txt, tokenizer.json; kinds 0 absent, 1 file, 2 FIFO, 3 link.
    (folder / "safetensors_file").write_bytes(kinds(0, 1) + b"\0" + safetensors)
    (folder / "fifo_shard").write_bytes(kinds(0, 0, 1, 2) + b"\0" + b'{"weight_map": {"w": '
                                        b'"model-00001-of-00001.safetensors"}}')
    (folder / "linked_outside").write_bytes(kinds(0, 3, 0, 0, 0, 3) + b"\1" + safetensors)
    (folder / "linked_inside").write_bytes(kinds(0, 3) + b"\0" + safetensors)
    (folder / "fifo_state_file").write_bytes(kinds(0, 0, 0, 0, 2) + b"\0")
    (folder / "vocab").write_bytes(kinds(1, 0, 0, 0, 0, 1, 0, 1) + b"\0" +
                                   json.dumps({"a": 0, "b": 1}).encode())


if __name__ == "__main__":
    main()
