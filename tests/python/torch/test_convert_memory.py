"""Peak memory of a conversion with its default verify (issue 16: at most 256 MiB at any model size).

A BERT with 40 thin layers (158 MB of float32, ~650 tensors) converted to google-tf1: transposes
of every dense kernel, then verify's float64 forward pass over both checkpoints in the same
process. Every small tensor (a bias, a LayerNorm scale) sits beside a large one; reading it maps
the page-cache folio around it (2 MiB with one PMD after a sequential write or read), and when
only the whole pages inside a tensor were released, each small tensor kept its folio mapped in
the conversion and again in the verify pass, and the writer's three 16 MiB buffers stayed
allocated while verify ran: 172 MB here on the old main, 336 MB for BERT-large
(docs/performance.md "Memory"). Now what stays is the writer's buffers, one transposed tensor and
verify's blocks: 66 MB.
"""
import os

os.environ.setdefault("USE_TF", "0")

import torch
from transformers import BertConfig, BertForPreTraining

from support.hostile import RSS_FACTOR, run_limited

# The writer's 3 x 16 MiB buffers, the largest transposed kernel (1 MiB here), verify's blocks
# and stage values (a few MiB at hidden 256), the binary and its libraries (~20 MB): well under
# the 108 MB of the model, which the old peak exceeded.
MAX_RSS_KIB = 100 * 1024


def test_convert_with_verify_keeps_no_tensor_mapped(tmp_path):
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=256, num_hidden_layers=40,
                        num_attention_heads=4, intermediate_size=1024)
    BertForPreTraining(config).eval().save_pretrained(tmp_path / "bert")
    size = os.path.getsize(tmp_path / "bert" / "model.safetensors")
    assert size > MAX_RSS_KIB * 1024, "the model must be larger than the bound to test it"

    run = run_limited("convert", "-q", tmp_path / "bert", tmp_path / "tf1", "--to", "google-tf1",
                      timeout=300)
    assert run.returncode == 0, run.describe()
    assert (tmp_path / "tf1" / "bert_model.ckpt.index").exists(), run.describe()
    assert run.max_rss_kb < MAX_RSS_KIB * RSS_FACTOR, \
        f"peak RSS {run.max_rss_kb} KiB for a {size >> 20} MiB model: " + run.describe()
