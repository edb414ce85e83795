"""Batch conversion on Ray: one Ray task per line of a JSONL manifest, each calling
tensorferry.convert in the task's worker process (docs/batch.md).

    python -m tensorferry.batch manifest.jsonl [--address HOST:PORT] [--report out.jsonl]
    tensorferry.batch.run("manifest.jsonl", address=None)

A manifest line is one conversion: {"src": ..., "dst": ..., and any keyword of
tensorferry.convert: "to", "dtype", "shard_size", "verify", ...}, optionally an "id". The report
(JSONL, one line per manifest line, in manifest order) says for each: "done" with the
conversion's report, "skipped" when DST already holds a complete output (a rerun does not redo
it), or "failed" with the error (its class, message, path, tensor, offset) or the worker's death
after every retry. A task whose worker dies is retried (max_retries); outputs are published
atomically by tensorferry, so a killed conversion leaves no half-written output, and a retry
that finds the output complete reports it as skipped instead of writing it again.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Union

import tensorferry

_CONVERT_KEYWORDS = {
    "to", "dtype", "shard_size", "dry_run", "verify", "force", "format", "from_",
    "max_error", "max_rel_error", "keep_failed", "allow_expansion", "dedupe_tied",
}


def read_manifest(manifest: Union[str, os.PathLike, Iterable[Dict[str, Any]]]) -> List[Dict]:
    """The manifest's entries, each checked: src and dst present, no unknown option."""
    if isinstance(manifest, (str, os.PathLike)):
        lines = Path(manifest).read_text().splitlines()
        entries = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise tensorferry.UsageError(f"{manifest}: line {number}: not JSON: {e}") from None
    else:
        entries = [dict(e) for e in manifest]
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or "src" not in entry or "dst" not in entry:
            raise tensorferry.UsageError(f"manifest entry {number}: needs \"src\" and \"dst\"")
        unknown = set(entry) - _CONVERT_KEYWORDS - {"src", "dst", "id"}
        if unknown:
            raise tensorferry.UsageError(
                f"manifest entry {number}: unknown option(s) {sorted(unknown)} (valid: src, dst, "
                f"id, {', '.join(sorted(_CONVERT_KEYWORDS))})")
        entry.setdefault("id", str(number))
    return entries


def output_is_complete(entry: Dict[str, Any]) -> bool:
    """Whether DST already holds a complete output: tensorferry publishes outputs atomically, so
    an output that opens as a checkpoint was completely written. With force, never."""
    if entry.get("force") or entry.get("dry_run") or not Path(entry["dst"]).exists():
        return False
    try:
        with tensorferry.open(entry["dst"]):
            return True
    except tensorferry.Error:
        return False


def _journal(journal: Optional[str], entry: Dict[str, Any], event: str) -> None:
    """One line per event ("started", "done", "failed") with the worker's pid: who did what, and proof
    that no conversion completed twice. Appends are atomic for lines this short."""
    if journal:
        line = json.dumps({"id": entry["id"], "event": event, "pid": os.getpid(),
                           "time": time.time()}) + "\n"
        with open(Path(journal) / "journal.jsonl", "a") as f:
            f.write(line)


def convert_entry(entry: Dict[str, Any], journal: Optional[str] = None) -> Dict[str, Any]:
    """One manifest entry, run where this is called (a Ray worker): its report line."""
    started = time.time()
    result: Dict[str, Any] = {"id": entry["id"], "src": entry["src"], "dst": entry["dst"]}
    if output_is_complete(entry):
        return {**result, "status": "skipped", "reason": "the output is complete"}
    _journal(journal, entry, "started")
    options = {k: v for k, v in entry.items() if k in _CONVERT_KEYWORDS}
    try:
        report = tensorferry.convert(entry["src"], entry["dst"], **options)
    except tensorferry.Error as e:
        error = {"class": type(e).__name__, "exit_code": e.exit_code, "message": str(e),
                 "path": e.path, "tensor": e.tensor, "offset": e.offset}
        if isinstance(e, tensorferry.VerifyError) and e.report is not None:
            error["report"] = e.report.document
        _journal(journal, entry, "failed")
        return {**result, "status": "failed", "error": error,
                "seconds": round(time.time() - started, 3)}
    _journal(journal, entry, "done")
    return {**result, "status": "done", "report": report.document,
            "seconds": round(time.time() - started, 3)}


def run(manifest: Union[str, os.PathLike, Iterable[Dict[str, Any]]],
        address: Optional[str] = None, report: Optional[Union[str, os.PathLike]] = None,
        max_retries: int = 3, num_cpus: Optional[int] = None, journal: Optional[str] = None,
        node_ip_address: Optional[str] = None) -> List[Dict[str, Any]]:
    """Runs every conversion of `manifest` as a Ray task and returns the report lines (also
    written to `report`, default NAME.report.jsonl next to a manifest NAME.jsonl). `address`: an
    existing Ray cluster ("auto", "HOST:PORT", "ray://HOST:10001"); None starts a local one
    (num_cpus workers, default one per core) for this call. A worker that dies is retried
    `max_retries` times; `journal` (a folder) gets one line per conversion started and done."""
    import ray

    entries = read_manifest(manifest)
    if report is None and isinstance(manifest, (str, os.PathLike)):
        report = Path(manifest).with_name(Path(manifest).stem + ".report.jsonl")
    started_here = not ray.is_initialized()
    if started_here:
        init: Dict[str, Any] = {"address": address, "include_dashboard": False,
                                "log_to_driver": False}
        if address is None:
            init["num_cpus"] = num_cpus
            if node_ip_address:
                init["_node_ip_address"] = node_ip_address
        ray.init(**init)
    try:
        task = ray.remote(max_retries=max_retries, retry_exceptions=False)(convert_entry)
        pending = [task.remote(entry, journal) for entry in entries]
        lines = []
        for entry, ref in zip(entries, pending):
            try:
                lines.append(ray.get(ref))
            except Exception as e:  # the worker died on every try, or Ray lost the task
                lines.append({"id": entry["id"], "src": entry["src"], "dst": entry["dst"],
                              "status": "failed",
                              "error": {"class": type(e).__name__, "message": str(e)[:2000]}})
    finally:
        if started_here:
            ray.shutdown()
    if report is not None:
        with open(report, "w") as f:
            for line in lines:
                f.write(json.dumps(line) + "\n")
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tensorferry.batch",
        description="Run the conversions of a JSONL manifest as Ray tasks (docs/batch.md).")
    parser.add_argument("manifest", help="JSONL: one {\"src\", \"dst\", options...} per line")
    parser.add_argument("--address", help="an existing Ray cluster (default: start a local one)")
    parser.add_argument("--report", help="JSONL report (default: NAME.report.jsonl beside NAME.jsonl)")
    parser.add_argument("--max-retries", type=int, default=3,
                        help="retries of a task whose worker dies (default 3)")
    parser.add_argument("--num-cpus", type=int, help="workers of a local Ray (default: cores)")
    parser.add_argument("--journal", help="folder for a journal of conversions started/done")
    parser.add_argument("--node-ip-address", help="address of a local Ray's node (127.0.0.1)")
    args = parser.parse_args(argv)
    try:
        lines = run(args.manifest, args.address, args.report, args.max_retries, args.num_cpus,
                    args.journal, args.node_ip_address)
    except tensorferry.Error as e:
        print(f"tensorferry.batch: {e}", file=sys.stderr)
        return e.exit_code
    counts: Dict[str, int] = {}
    for line in lines:
        counts[line["status"]] = counts.get(line["status"], 0) + 1
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) +
          f" of {len(lines)} conversions")
    return 0 if not counts.get("failed") else 1


if __name__ == "__main__":
    # The tasks must name this module's functions by their importable name, not as __main__'s.
    from tensorferry.batch import main as batch_main

    sys.exit(batch_main())
