#include "convert/gguf_export.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <utility>

#include "convert/cast.h"
#include "convert/execute.h"
#include "convert/gguf_tokenizer.h"
#include "convert/layout.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/release_touched.h"
#include "formats/gguf/gguf_quants.h"
#include "formats/gguf/gguf_writer.h"

namespace tensorferry {
namespace {
namespace fs = std::filesystem;

// llama.cpp's LlamaFileType values for general.file_type.
uint32_t file_type_of(const std::string& outtype) {
  if (outtype == "f16") return 1;
  if (outtype == "q8_0") return 7;
  if (outtype == "bf16") return 32;
  return 0;  // ALL_F32
}

std::string outtype_of(const std::string& requested, const Plan& plan, const CheckpointReader& r) {
  if (!requested.empty()) {
    if (requested != "f32" && requested != "f16" && requested != "bf16" && requested != "q8_0")
      throw_usage("--dtype with --to gguf takes f32, f16, bf16 or q8_0, not \"" + requested + "\"");
    return requested;
  }
  // Like the converter's "auto": the type of the source's weights (the first 2-D one), when
  // GGUF has it; f32 otherwise.
  for (const auto& e : plan.entries) {
    if (!e.source || e.target.shape.size() < 2) continue;
    const DType d = r.tensors()[*e.source].dtype;
    if (d == DType::kF16) return "f16";
    if (d == DType::kBF16) return "bf16";
    return "f32";
  }
  return "f32";
}

// The converter's choice (prepare_tensors): 1-D tensors, norms, non-".weight" tensors and its
// always-f32 list stay f32; q8_0 falls back to f16 for rows that are not whole blocks.
GgmlType output_type(const GgufTensorRule& rule, const std::string& name, const Shape& shape,
                     const std::string& outtype) {
  if (shape.size() <= 1 || name.ends_with("_norm.weight") || !name.ends_with(".weight") ||
      rule.always_f32)
    return GgmlType::kF32;
  if (outtype == "f16") return GgmlType::kF16;
  if (outtype == "bf16") return GgmlType::kBF16;
  if (outtype == "q8_0") return shape.back() % 32 == 0 ? GgmlType::kQ8_0 : GgmlType::kF16;
  return GgmlType::kF32;
}

struct RuleIndex {
  std::map<std::string, std::pair<const GgufTensorRule*, std::string>> by_canonical;

  RuleIndex(const std::vector<GgufTensorRule>& rules, uint64_t layers) {
    for (const auto& rule : rules) {
      const bool per_layer = rule.canonical.find("{i}") != std::string_view::npos;
      for (uint64_t i = 0; i < (per_layer ? layers : 1); ++i)
        by_canonical[expand_template(rule.canonical, static_cast<int>(i), "", "")] = {
            &rule, expand_template(rule.gguf, static_cast<int>(i), "", "")};
    }
  }
};

uint64_t heads_of(const ModelConfig& config, std::string_view key) {
  const auto& hf = config.hf;
  const std::string k(key);
  if (hf.contains(k) && hf[k].is_number_unsigned()) return hf[k].get<uint64_t>();
  // num_key_value_heads defaults to num_attention_heads in transformers.
  if (key == "num_key_value_heads") return heads_of(config, "num_attention_heads");
  throw_bad_input("config.json", std::nullopt, "has no " + k);
}

std::vector<GgufExportTensor> map_tensors(const Plan& plan, const GgufArchitecture& arch,
                                          const std::string& outtype) {
  const RuleIndex index(arch.rules(plan.config), plan.config.symbols.at('L'));
  std::vector<GgufExportTensor> out;
  for (auto& g : arch.generated_tensors(plan.config)) {  // the converter writes these first
    GgufExportTensor t;
    t.name = std::move(g.name);
    t.shape = {g.values.size()};
    t.generated = std::move(g.values);
    out.push_back(std::move(t));
  }
  for (size_t i = 0; i < plan.entries.size(); ++i) {
    const PlanEntry& e = plan.entries[i];
    if (!e.source) continue;  // constants (global_step) belong to TF targets only
    auto it = index.by_canonical.find(e.canonical);
    if (it == index.by_canonical.end())
      throw_usage("GGUF (" + arch.arch(plan.config) + ") has no tensor for " + e.canonical);
    const auto& [rule, name] = it->second;
    GgufExportTensor t;
    t.plan_entry = i;
    t.name = name;
    t.step = rule->step;
    t.shape = e.target.shape;
    if (rule->step == GgufStep::kTranspose) {
      if (t.shape.size() != 2) throw_usage(e.canonical + ": only 2-D tensors are transposed");
      std::swap(t.shape[0], t.shape[1]);
    }
    if (rule->step == GgufStep::kPermuteRope) {
      t.heads = heads_of(plan.config, rule->heads);
      if (t.heads == 0 || t.shape.empty() || t.shape[0] % (2 * t.heads) != 0)
        throw_bad_input(plan.source.config_path, std::nullopt,
                        std::string(rule->heads) + " does not divide the rows of " + e.canonical +
                            " into pairs");
    }
    t.type = output_type(*rule, name, t.shape, outtype);
    out.push_back(std::move(t));
  }
  return out;
}

GgufMetadata make_metadata(const Plan& plan, const GgufArchitecture& arch,
                           const std::string& outtype) {
  GgufMetadata m;
  m.emplace_back("general.architecture", GgufValue::of_string(arch.arch(plan.config)));
  m.emplace_back("general.type", GgufValue::of_string("model"));
  const std::string folder = fs::path(plan.source.folder).lexically_normal().filename().string();
  m.emplace_back("general.name", GgufValue::of_string(folder));
  arch.add_hparams(plan.config, m);
  m.emplace_back("general.file_type", GgufValue::of_u32(file_type_of(outtype)));
  m.emplace_back("general.quantization_version", GgufValue::of_u32(2));  // GGML_QUANT_VERSION
  const GgufTokenizerStyle style{arch.tokenizer_model(plan.config), arch.tokenizer_pre(plan.config),
                                 arch.writes_add_space_prefix(plan.config)};
  add_gguf_tokenizer(plan.source.folder, plan.config.hf.at("vocab_size").get<uint64_t>(), style, m);
  return m;
}

// Output type bytes of canonical bytes in `dtype`: cast, then q8_0 blocks (whole rows: a row is
// whole blocks).
std::span<const std::byte> encode(GgmlType type, DType dtype, std::span<const std::byte> bytes,
                                  std::vector<std::byte>& cast, std::vector<std::byte>& quantized) {
  const uint64_t count = bytes.size() / dtype_size(dtype);
  const DType want = ggml_type_info(type).dense.value_or(DType::kF32);
  if (want != dtype) {
    cast.resize(count * dtype_size(want));
    cast_elements(bytes.data(), dtype, cast.data(), want, count);
    bytes = cast;
  }
  if (type == GgmlType::kQ8_0) {
    quantized.resize(count / 32 * 34);
    quantize_q8_0(reinterpret_cast<const float*>(bytes.data()), quantized.data(), count);
    bytes = quantized;
  }
  return bytes;
}

// A cast of `piece` written straight into the file's buffer: no buffer of its own and no copy
// (perf of the f16 export showed a quarter of its samples in that copy). Returns the bytes.
uint64_t cast_into_file(std::span<const std::byte> piece, DType from, DType to, size_t index,
                        GgufFileWriter& writer) {
  const size_t in_size = dtype_size(from), out_size = dtype_size(to);
  const uint64_t count = piece.size() / in_size;
  for (uint64_t done = 0; done < count;) {
    const auto room = writer.part_space(index);
    const uint64_t n = std::min<uint64_t>(room.size() / out_size, count - done);
    if (n == 0) {  // less than an element of room left in the buffer: this one goes aside
      std::byte element[8];
      cast_elements(piece.data() + done * in_size, from, element, to, 1);
      writer.write_part(index, std::span(element, out_size));
      ++done;
      continue;
    }
    cast_elements(piece.data() + done * in_size, from, room.data(), to, n);
    writer.part_written(index, n * out_size);
    done += n;
  }
  return count * out_size;
}

// Output bytes of a piece of canonical bytes in `dtype`, into the file.
uint64_t write_piece(GgmlType type, DType dtype, std::span<const std::byte> piece, size_t index,
                     GgufFileWriter& writer, std::vector<std::byte>& cast,
                     std::vector<std::byte>& quantized) {
  const auto dense = ggml_type_info(type).dense;
  if (dense && *dense != dtype) return cast_into_file(piece, dtype, *dense, index, writer);
  const auto out = encode(type, dtype, piece, cast, quantized);
  writer.write_part(index, out);
  return out.size();
}

// Converted output of about this size is written at a time: memory stays bounded by it, not by
// the largest tensor (an embedding of a large vocabulary is most of a GB in f32).
constexpr uint64_t kPieceBytes = 8 << 20;

struct Buffers {
  std::vector<std::byte> scratch, moved, cast, moved2, cast2, quantized;
};

// One tensor from canonical bytes into the file: transposed whole (GPT-2's Conv1D weights, at
// most a few tens of MB), or row by row in pieces with llama.cpp's rotary row order.
uint64_t write_tensor(const GgufExportTensor& t, DType dtype, std::span<const std::byte> canonical,
                      size_t index, GgufFileWriter& writer, Buffers& b) {
  if (canonical.empty()) {
    writer.write(index, {});
    return 0;
  }
  if (t.step == GgufStep::kTranspose) {
    b.moved2.resize(canonical.size());
    transpose_2d(canonical.data(), b.moved2.data(), t.shape[1], t.shape[0], dtype_size(dtype));
    const auto out = encode(t.type, dtype, b.moved2, b.cast2, b.quantized);
    writer.write(index, out);
    return out.size();
  }
  const uint64_t rows = t.shape.empty() ? 1 : t.shape[0];
  const uint64_t row_bytes = canonical.size() / rows;
  const uint64_t per_piece = std::max<uint64_t>(1, kPieceBytes / row_bytes);
  const uint64_t width = t.heads == 0 ? 0 : rows / t.heads;
  uint64_t written = 0;
  for (uint64_t first = 0; first < rows; first += per_piece) {
    const uint64_t n = std::min(per_piece, rows - first);
    std::span<const std::byte> piece = canonical.subspan(first * row_bytes, n * row_bytes);
    if (t.step == GgufStep::kPermuteRope) {
      b.moved2.resize(n * row_bytes);
      for (uint64_t r = 0; r < n; ++r)
        std::memcpy(b.moved2.data() + r * row_bytes,
                    canonical.data() + hf_rope_row(first + r, width) * row_bytes, row_bytes);
      piece = b.moved2;
    }
    written += write_piece(t.type, dtype, piece, index, writer, b.cast2, b.quantized);
    if (t.step == GgufStep::kSame) release_consumed(piece);
  }
  return written;
}

uint64_t write_file(const GgufExport& result, CheckpointReader& reader, const std::string& output,
                    bool force) {
  GgufFileWriter writer(output, force);
  for (const auto& [key, value] : result.metadata) writer.add(key, value);
  std::vector<GgufTensorDecl> decls;
  for (const auto& t : result.tensors) decls.push_back({t.name, t.type, t.shape});
  writer.begin(std::move(decls));
  Buffers b;
  uint64_t bytes = 0;
  for (size_t i = 0; i < result.tensors.size(); ++i) {
    const GgufExportTensor& t = result.tensors[i];
    if (!t.plan_entry) {
      const std::span<const float> values = t.generated;
      writer.write(i, std::as_bytes(values));
      bytes += values.size_bytes();
      continue;
    }
    const PlanEntry& e = result.plan.entries[*t.plan_entry];
    const auto& source = reader.tensors()[*e.source];
    try {
      const auto stored = reader.read(*e.source, b.scratch);
      const auto canonical = transform_entry(e, stored, b.moved, b.cast);
      bytes += write_tensor(t, e.source_dtype, canonical, i, writer, b);
      reader.release(*e.source);
      release_ends(stored);  // the folios around a small tensor (core/release_touched.h)
    } catch (const Error& err) {
      throw err.with_context(reader.path(), source.name);
    }
  }
  writer.commit();
  return bytes;
}

}  // namespace

uint64_t hf_rope_row(uint64_t gguf_row, uint64_t width) {
  const uint64_t head = gguf_row / width, within = gguf_row % width;
  return head * width + (within % 2) * (width / 2) + within / 2;
}

void permute_rope_rows(const std::byte* src, std::byte* dst, uint64_t rows, uint64_t heads,
                       uint64_t row_bytes, bool inverse) {
  const uint64_t width = rows / heads;
  for (uint64_t gguf_row = 0; gguf_row < rows; ++gguf_row) {
    const uint64_t hf_row = hf_rope_row(gguf_row, width);
    const uint64_t from = inverse ? gguf_row : hf_row, to = inverse ? hf_row : gguf_row;
    std::memcpy(dst + to * row_bytes, src + from * row_bytes, row_bytes);
  }
}

GgufExport export_gguf(const std::string& input, const std::string& output,
                       const GgufExportOptions& options, bool dry_run) {
  const ModelSource source = detect_model(input, options.from);
  const GgufArchitecture* arch = gguf_architecture(source.family->name());
  if (!arch)
    throw_usage(std::string(source.family->name()) +
                " models have no gguf convention (gpt2 and llama have)");
  auto reader = open_checkpoint(source.checkpoint, source.format);
  ModelConvertOptions plan_options;
  plan_options.from = options.from;
  plan_options.to = Convention::kHfPyTorch;
  plan_options.force = options.force;  // the plan refuses an existing output without it
  GgufExport result;
  result.plan = make_plan(source, *reader, output, plan_options);
  verify_ties(result.plan, *reader);
  result.arch = arch->arch(result.plan.config);
  result.outtype = outtype_of(options.dtype, result.plan, *reader);
  result.tensors = map_tensors(result.plan, *arch, result.outtype);
  result.metadata = make_metadata(result.plan, *arch, result.outtype);
  if (dry_run) return result;
  const fs::path parent = fs::absolute(output).parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw_io(parent.string(), "cannot create the folder for the output", ec.value());
  result.bytes = write_file(result, *reader, output, options.force);
  return result;
}

std::string gguf_export_text(const GgufExport& r, bool dry_run) {
  std::ostringstream out;
  const Plan& p = r.plan;
  out << (dry_run ? "plan: " : "converted ") << p.family->name() << " "
      << convention_name(p.source.convention) << " (" << p.source.checkpoint << ", "
      << p.source_format << ") -> gguf (" << r.arch << ", " << r.outtype << ") at " << p.output
      << "\n";
  std::map<std::string, size_t> per_type;
  for (const auto& t : r.tensors) ++per_type[std::string(ggml_type_info(t.type).name)];
  std::string types;
  for (const auto& [name, n] : per_type)
    types += (types.empty() ? "" : ", ") + std::to_string(n) + " " + name;
  if (dry_run) {
    out << "tensors (" << r.tensors.size() << "):\n";
    for (const auto& t : r.tensors) {
      if (t.plan_entry) {
        const PlanEntry& e = p.entries[*t.plan_entry];
        out << "  " << e.source_name << " " << shape_to_string(e.source_shape) << " "
            << dtype_name(e.source_dtype);
      } else {
        out << "  (computed from config.json)";
      }
      out << " -> " << t.name << " " << shape_to_string(t.shape) << " "
          << ggml_type_info(t.type).name
          << (t.step == GgufStep::kTranspose     ? "  transpose"
              : t.step == GgufStep::kPermuteRope ? "  rope permutation"
                                                 : "")
          << "\n";
    }
  } else {
    out << "wrote " << r.tensors.size() << " tensors (" << r.bytes << " bytes: " << types << ")\n";
  }
  size_t tokens = 0;
  if (const GgufValue* v = find_value(r.metadata, "tokenizer.ggml.tokens"))
    tokens = v->elements.size();
  out << "metadata: " << r.metadata.size() << " keys, tokenizer with " << tokens << " tokens\n";
  if (!p.skipped.empty()) {
    out << "skipped (" << p.skipped.size() << "):\n";
    for (const auto& s : p.skipped) out << "  " << s.name << ": " << s.reason << "\n";
  }
  return out.str();
}

}  // namespace tensorferry
