// convert, verify and diff as library calls. Each runs the very command `tensorferry` runs with
// `--json` and returns its exit code and JSON document (the same document, schemas in the
// installed share/tensorferry/schemas/ and in docs/json.md), so a program gets exactly what the
// CLI reports. Errors are thrown as tensorferry::Error (errors.h): usage mistakes (kUsage), bad
// input (kBadInput) and the operating system's refusals (kIo); a verification that fails is not
// an exception but exit_code 1 with its report.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tensorferry/progress.h"

namespace tensorferry {

struct CommandReport {
  int exit_code = 0;  // 0, or 1: the verification failed / the checkpoints differ
  std::string json;   // the `--json` document (tensorferry.<command>/1)
};

// `tensorferry convert SRC DST` (container copy) or, with `to`, a model conversion.
struct ConvertRequest {
  std::string to;      // hf-pytorch, hf-tf2, openai-tf1, google-tf1, gguf; empty: container copy
  std::string from;    // source convention instead of detecting it
  std::string format;  // output container instead of DST's extension
  std::string dtype;   // f32, f16, bf16 (gguf: also q8_0); empty: bit-exact
  uint64_t shard_size = 0;  // bytes per shard; 0: one file
  bool dry_run = false;
  bool verify = true;  // model conversions: the reference forward pass before publishing
  std::optional<double> max_error, max_rel_error;
  bool keep_failed = false;
  bool force = false;
  bool allow_expansion = false;
  bool dedupe_tied = false;
  ProgressSink* progress = nullptr;
};
CommandReport convert(const std::string& src, const std::string& dst,
                      const ConvertRequest& request = {});

// `tensorferry verify A B`: reference forward passes of both, compared stage by stage.
struct VerifyRequest {
  double max_error = 1e-5;
  double max_rel_error = 0;
  std::string from_a, from_b;  // conventions instead of detecting them
  bool allow_missing_heads = false;
  ProgressSink* progress = nullptr;
};
CommandReport verify_models(const std::string& a, const std::string& b,
                            const VerifyRequest& request = {});

// `tensorferry diff A B`: tensor by tensor, across formats and conventions.
struct DiffRequest {
  double atol = 0, rtol = 0;
  std::string from_a, from_b;
};
CommandReport diff_checkpoints(const std::string& a, const std::string& b,
                               const DiffRequest& request = {});

}  // namespace tensorferry
