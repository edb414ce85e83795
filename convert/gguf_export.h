// `tensorferry convert SRC DST --to gguf`: a model folder (any convention of a family with a gguf
// architecture, see models/gguf/) into one GGUF file as llama.cpp's convert_hf_to_gguf.py writes
// it. The source is planned into canonical names like any model conversion (convert/plan.h),
// then every parameter gets its GGUF name, layout step and output type, and streams through
// into the file one tensor at a time.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "convert/plan.h"
#include "formats/gguf/gguf_value.h"
#include "models/gguf/gguf_arch.h"

namespace tensorferry {

struct GgufExportOptions {
  std::optional<Convention> from;
  std::string dtype;  // "" (the source's type), f32, f16, bf16, q8_0
  bool force = false;
};

struct GgufExportTensor {
  std::optional<size_t> plan_entry;  // index into plan.entries; none for a generated tensor
  std::vector<float> generated;      // a generated tensor's values (rope_freqs.weight)
  std::string name;                  // GGUF name
  Shape shape;                       // row-major
  GgmlType type = GgmlType::kF32;
  GgufStep step = GgufStep::kSame;
  uint64_t heads = 0;  // kPermuteRope
};

struct GgufExport {
  Plan plan;
  std::string arch;
  std::string outtype;  // f32, f16, bf16, q8_0
  GgufMetadata metadata;
  std::vector<GgufExportTensor> tensors;
  uint64_t bytes = 0;  // tensor bytes written (0 for a dry run)
};

GgufExport export_gguf(const std::string& input, const std::string& output,
                       const GgufExportOptions& options, bool dry_run);

// The text `convert` prints.
std::string gguf_export_text(const GgufExport& result, bool dry_run);

// llama.cpp's rotary row order from HF's (LlamaModel.permute), and back: within each of `heads`
// groups of rows, HF holds the first halves of the rotary pairs, then the second halves;
// llama.cpp interleaves them. `row_bytes` is the size of one row.
void permute_rope_rows(const std::byte* src, std::byte* dst, uint64_t rows, uint64_t heads,
                       uint64_t row_bytes, bool inverse);
// The HF row that llama.cpp's row `gguf_row` comes from, for heads of `width` rows.
uint64_t hf_rope_row(uint64_t gguf_row, uint64_t width);

}  // namespace tensorferry
