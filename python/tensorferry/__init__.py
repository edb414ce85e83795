"""tensorferry: carries trained model weights between checkpoint formats (torch.save,
safetensors, TF1/TF2 bundles, Keras/HF .h5, GGUF) with no framework installed.

    import tensorferry
    with tensorferry.open("model.safetensors") as reader:
        array = reader["lm_head.weight"]      # read-only numpy view of the mapped file
    report = tensorferry.convert("gpt2/", "gpt2-openai/", to="openai-tf1")

The same C++ core as the `tensorferry` command (docs/python.md)."""
from ._commands import ProgressEvent, Report, convert, diff, verify
from ._errors import BadInputError, Error, IOError, UsageError, VerifyError
from ._reader import Reader, TensorInfo, open

__version__ = "0.1.0"

__all__ = [
    "BadInputError", "Error", "IOError", "ProgressEvent", "Reader", "Report", "TensorInfo",
    "UsageError", "VerifyError", "convert", "diff", "open", "verify",
]
