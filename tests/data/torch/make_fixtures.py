"""Regenerates the small real torch.save files the C++ tests read (tests/cpp/torch_test.cc).

Run with the oracle venv: `$V/bin/python tests/data/torch/make_fixtures.py`. The C++ tests check
exact values, so keep the tensors below in sync with them.
"""
import collections
from pathlib import Path

import torch

here = Path(__file__).resolve().parent
w = torch.arange(6, dtype=torch.float32).reshape(2, 3)
sd = collections.OrderedDict()
sd["w"] = w                                             # [[0,1,2],[3,4,5]]
sd["wt"] = w.t()                                        # non-contiguous, shares w's storage
sd["row"] = w[1]                                        # storage offset 3
sd["h"] = torch.arange(4, dtype=torch.float16)          # 0,1,2,3
sd["i"] = torch.tensor([-1, 2**40], dtype=torch.int64)
sd["u16"] = torch.tensor([1, 2, 65535], dtype=torch.uint16)  # _rebuild_tensor_v3
sd["s"] = torch.tensor(7.5)                             # 0-d
sd["e"] = torch.zeros(0, 2)                             # empty
torch.save(sd, here / "small.pt")
torch.save(sd, here / "small_legacy.pt", _use_new_zipfile_serialization=False)
