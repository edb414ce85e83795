"""Where llama.cpp's own Python code lives: the extracted llama-cpp-python sdist that
scripts/python-env.sh keeps (vendor/llama.cpp: convert_hf_to_gguf.py and the gguf-py package),
exported by scripts/test.sh as TENSORFERRY_LLAMA_CPP. A missing oracle is an error, never a skip."""
import os
import sys
from pathlib import Path


def llama_cpp_dir() -> Path:
    value = os.environ.get("TENSORFERRY_LLAMA_CPP", "")
    path = Path(value)
    if not value or not (path / "convert_hf_to_gguf.py").is_file() or not (path / "gguf-py").is_dir():
        raise RuntimeError(
            f"TENSORFERRY_LLAMA_CPP={value!r} does not name llama.cpp's source (vendor/llama.cpp of "
            "the llama-cpp-python sdist, with convert_hf_to_gguf.py and gguf-py): run "
            "scripts/python-env.sh (scripts/test.sh exports it)")
    return path


def import_gguf():
    """llama.cpp's gguf-py (the version vendored with the converter)."""
    gguf_py = str(llama_cpp_dir() / "gguf-py")
    if gguf_py not in sys.path:
        sys.path.insert(0, gguf_py)
    import gguf
    if not str(Path(gguf.__file__).resolve()).startswith(str(Path(gguf_py).resolve())):
        raise RuntimeError(f"imported gguf from {gguf.__file__}, not from {gguf_py}")
    return gguf
