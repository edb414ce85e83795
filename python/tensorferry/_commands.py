"""convert, verify and diff: the CLI's commands, run in-process by the C++ core, returning the
very document `tensorferry COMMAND ... --json` prints (docs/json.md)."""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, Iterator, Mapping, NamedTuple, Optional, Union

from . import _core
from ._errors import VerifyError

PathLike = Union[str, os.PathLike]


class ProgressEvent(NamedTuple):
    """What a progress callback hears: `event` is "begin" (a pass over tensors starts: `what`,
    the totals), "tensor" (one more done), "step" (a named step, e.g. a verify stage, in `what`)
    or "done"."""

    event: str
    what: str
    tensors_done: int
    tensors_total: int
    bytes_done: int
    bytes_total: int


ProgressCallback = Callable[[ProgressEvent], None]


class Report(Mapping[str, Any]):
    """A command's JSON document (schema `tensorferry.<command>/1`), read as a mapping
    (report["verify"]) or by attribute (report.verify); `exit_code` is the CLI's (0, or 1: a
    verification failed / the checkpoints differ)."""

    def __init__(self, document: Dict[str, Any], exit_code: int):
        self._document = document
        self.exit_code = exit_code

    @property
    def document(self) -> Dict[str, Any]:
        """The JSON document as a plain dict (a copy)."""
        return json.loads(json.dumps(self._document))

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def __getitem__(self, key: str) -> Any:
        return self._document[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._document)

    def __len__(self) -> int:
        return len(self._document)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_document"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"<tensorferry.Report {self._document.get('schema')} exit {self.exit_code}>"


def _callback(progress: Optional[ProgressCallback]) -> Optional[Callable[..., None]]:
    if progress is None:
        return None
    return lambda *fields: progress(ProgressEvent(*fields))


def convert(src: PathLike, dst: PathLike, to: Optional[str] = None, dtype: Optional[str] = None,
            shard_size: Optional[int] = None, dry_run: bool = False, verify: bool = True,
            force: bool = False, *, format: Optional[str] = None, from_: Optional[str] = None,
            max_error: Optional[float] = None, max_rel_error: Optional[float] = None,
            keep_failed: bool = False, allow_expansion: bool = False, dedupe_tied: bool = False,
            progress: Optional[ProgressCallback] = None) -> Report:
    """`tensorferry convert SRC DST`: a container copy, or with `to` (hf-pytorch, hf-tf2,
    openai-tf1, google-tf1, gguf) a model conversion, verified before it is published unless
    `verify=False`. Returns the report (`tensorferry.convert/1`); a model conversion whose
    verify fails publishes nothing and raises VerifyError carrying the report."""
    request = _core.ConvertRequest()
    request.to, request.from_, request.format = to or "", from_ or "", format or ""
    request.dtype, request.shard_size = dtype or "", int(shard_size or 0)
    request.dry_run, request.verify, request.force = dry_run, verify, force
    request.max_error, request.max_rel_error = max_error, max_rel_error
    request.keep_failed, request.allow_expansion = keep_failed, allow_expansion
    request.dedupe_tied = dedupe_tied
    exit_code, text = _core.convert(os.fspath(src), os.fspath(dst), request, _callback(progress))
    report = Report(json.loads(text), exit_code)
    if exit_code == 1:
        failure = (report.get("verify") or {}).get("first_failure") or {}
        stage = failure.get("stage", "a stage")
        raise VerifyError(f"{os.fspath(dst)}: the converted model failed its verify at {stage}",
                          report, os.fspath(dst))
    return report


def verify(a: PathLike, b: PathLike, max_error: float = 1e-5, *, max_rel_error: float = 0.0,
           from_a: Optional[str] = None, from_b: Optional[str] = None,
           allow_missing_heads: bool = False,
           progress: Optional[ProgressCallback] = None) -> Report:
    """`tensorferry verify A B`: reference forward passes on both, compared stage by stage.
    Returns the report (`tensorferry.verify/1`); `report.passed` is the verdict."""
    request = _core.VerifyRequest()
    request.max_error, request.max_rel_error = max_error, max_rel_error
    request.from_a, request.from_b = from_a or "", from_b or ""
    request.allow_missing_heads = allow_missing_heads
    exit_code, text = _core.verify(os.fspath(a), os.fspath(b), request, _callback(progress))
    return Report(json.loads(text), exit_code)


def diff(a: PathLike, b: PathLike, atol: float = 0.0, rtol: float = 0.0, *,
         from_a: Optional[str] = None, from_b: Optional[str] = None) -> Report:
    """`tensorferry diff A B`: tensor by tensor, across formats and conventions. Returns the
    report (`tensorferry.diff/1`); `report.same` is the verdict."""
    exit_code, text = _core.diff(os.fspath(a), os.fspath(b), atol, rtol, from_a or "",
                                 from_b or "")
    return Report(json.loads(text), exit_code)
