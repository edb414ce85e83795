"""Hostile tensor names in a TF bundle, written by TensorFlow itself (SaveV2 takes any bytes as a
name, UTF-8 or not): plain output shows them escaped (core/printable.h), --json stays valid JSON
and names each tensor as TensorFlow's checkpoint reader does where it can decode the name.
"""
import json

import tensorflow as tf

from support.hostile import check_printable, run_raw

# name bytes -> how plain output shows them
HOSTILE = {
    b"a\x1b[2Jb": "a\\x1b[2Jb",
    b"c\rd": "c\\rd",
    "e\u202ef".encode(): "e\\u{202e}f",
    b"g\x00h": "g\\x00h",
    b"s\xff\xfe": "s\\xff\\xfe",  # not UTF-8: TensorFlow's Python reader cannot decode it either
}


def save_bundle(prefix, names):
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant([float(i), i + 0.5]) for i in range(len(names))])


def test_bundle_names_escaped_in_inspect_and_valid_in_json(tmp_path):
    prefix = str(tmp_path / "model.ckpt")
    save_bundle(prefix, list(HOSTILE))
    text = check_printable(run_raw("inspect", prefix).stdout)
    for shown in HOSTILE.values():
        assert f"\n{shown} " in text, (shown, text)
    # TensorFlow's reader cannot list this bundle (0xff is not UTF-8); the JSON shows U+FFFD.
    names = [t["name"] for t in json.loads(run_raw("inspect", prefix, "--json").stdout)["tensors"]]
    assert names == [n.decode("utf-8", "replace") for n in sorted(HOSTILE)]

    utf8 = str(tmp_path / "utf8.ckpt")
    save_bundle(utf8, [n for n in HOSTILE if n != b"s\xff\xfe"])
    names = [t["name"] for t in json.loads(run_raw("inspect", utf8, "--json").stdout)["tensors"]]
    assert names == [name for name, _ in tf.train.list_variables(utf8)]
