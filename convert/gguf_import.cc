#include "convert/gguf_import.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "convert/cast.h"
#include "convert/gguf_export.h"
#include "convert/layout.h"
#include "core/error.h"
#include "core/output.h"
#include "formats/gguf/gguf_reader.h"
#include "formats/safetensors/safetensors.h"
#include "models/family.h"
#include "models/gguf/gguf_arch.h"
#include "models/gguf/gguf_rope.h"

namespace tensorferry {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int32_t kControl = 3, kUserDefined = 4;

struct ImportTensor {
  size_t index = 0;  // GGUF reader index
  std::string hf_name;
  Shape shape;  // HF (row-major, canonical) shape
  GgufStep step = GgufStep::kSame;
  uint64_t heads = 0;
};

DType dtype_of_file_type(const GgufMetadata& m) {
  const GgufValue* v = find_value(m, "general.file_type");
  if (!v) return DType::kF32;
  if (v->integer == 1) return DType::kF16;
  if (v->integer == 32) return DType::kBF16;
  return DType::kF32;
}

const std::string& text_of(const GgufMetadata& m, const std::string& key, const std::string& file) {
  const GgufValue* v = find_value(m, key);
  if (!v || v->type != GgufValueType::kString)
    throw_bad_input(file, std::nullopt, "GGUF metadata " + key + " is missing or not a string");
  return v->text;
}

// The HF PyTorch name template of a canonical parameter, from the family table.
std::string hf_template(const Family& family, std::string_view canonical) {
  for (const auto& row : family.params())
    if (row.canonical == canonical)
      return std::string(row.stored[static_cast<size_t>(Convention::kHfPyTorch)].name);
  return {};
}

void write_text(const fs::path& path, const std::string& text) {
  OutputFile out(path.string());
  out.write(text);
  out.close();
}

// tokenizer.json and tokenizer_config.json of a byte-level BPE vocabulary.
void write_tokenizer(const GgufMetadata& m, const fs::path& staging, uint64_t context,
                     std::vector<std::string>& files) {
  const GgufValue* tokens = find_value(m, "tokenizer.ggml.tokens");
  const GgufValue* types = find_value(m, "tokenizer.ggml.token_type");
  const GgufValue* model = find_value(m, "tokenizer.ggml.model");
  if (!tokens || !model || model->text != "gpt2") return;
  json vocab = json::object(), added = json::array();
  for (size_t i = 0; i < tokens->elements.size(); ++i) {
    const std::string& t = tokens->elements[i].text;
    const int64_t type = types && i < types->elements.size() ? types->elements[i].as_signed() : 1;
    vocab[t] = i;
    if (type == kControl || type == kUserDefined)
      added.push_back({{"id", i},
                       {"content", t},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", type == kUserDefined},
                       {"special", type == kControl}});
  }
  json merges = json::array();
  if (const GgufValue* mv = find_value(m, "tokenizer.ggml.merges"))
    for (const auto& e : mv->elements) merges.push_back(e.text);
  const json byte_level = {{"type", "ByteLevel"},
                           {"add_prefix_space", false},
                           {"trim_offsets", true},
                           {"use_regex", true}};
  json tokenizer = {{"version", "1.0"},
                    {"truncation", nullptr},
                    {"padding", nullptr},
                    {"added_tokens", added},
                    {"normalizer", nullptr},
                    {"pre_tokenizer", byte_level},
                    {"post_processor", byte_level},
                    {"decoder", byte_level},
                    {"model",
                     {{"type", "BPE"},
                      {"dropout", nullptr},
                      {"unk_token", nullptr},
                      {"continuing_subword_prefix", ""},
                      {"end_of_word_suffix", ""},
                      {"fuse_unk", false},
                      {"byte_fallback", false},
                      {"ignore_merges", false},
                      {"vocab", vocab},
                      {"merges", merges}}}};
  write_text(staging / "tokenizer.json",
             tokenizer.dump(2, ' ', false, json::error_handler_t::replace));
  files.push_back("tokenizer.json");

  json config = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                 {"model_max_length", context},
                 {"clean_up_tokenization_spaces", false}};
  for (const auto& [type, key] :
       std::initializer_list<std::pair<const char*, const char*>>{{"bos", "bos"},
                                                                  {"eos", "eos"},
                                                                  {"unk", "unknown"},
                                                                  {"sep", "seperator"},
                                                                  {"pad", "padding"},
                                                                  {"mask", "mask"}}) {
    const GgufValue* id = find_value(m, std::string("tokenizer.ggml.") + key + "_token_id");
    if (id && id->integer < tokens->elements.size())
      config[std::string(type) + "_token"] = tokens->elements[id->integer].text;
    if (const GgufValue* add = find_value(m, std::string("tokenizer.ggml.add_") + type + "_token"))
      config[std::string("add_") + type + "_token"] = add->integer != 0;
  }
  if (const GgufValue* t = find_value(m, "tokenizer.chat_template"))
    config["chat_template"] = t->text;
  write_text(staging / "tokenizer_config.json",
             config.dump(2, ' ', false, json::error_handler_t::replace));
  files.push_back("tokenizer_config.json");
}

// The file's tensors that describe the model rather than hold its weights.
GgufFileTensors file_tensors(GgufReader& reader, const std::string& input) {
  GgufFileTensors facts;
  for (size_t i = 0; i < reader.tensors().size(); ++i) {
    const TensorEntry& t = reader.tensors()[i];
    facts.untied_head = facts.untied_head || t.name == "output.weight";
    if (t.name != kGgufRopeFreqs) continue;
    if (t.dtype != DType::kF32 || t.shape.size() != 1)
      throw_bad_input(input, t.offset, "GGUF: expected a 1-D f32 tensor", t.name);
    std::vector<std::byte> scratch;
    const std::span<const std::byte> bytes = reader.read(i, scratch);
    if (bytes.size() != t.shape[0] * sizeof(float))
      throw_bad_input(input, t.offset, "GGUF: tensor data size does not match its shape", t.name);
    facts.rope_freqs.resize(t.shape[0]);
    std::memcpy(facts.rope_freqs.data(), bytes.data(), bytes.size());
    reader.release(i);
  }
  return facts;
}

}  // namespace

bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

GgufImportResult import_gguf(const std::string& input, const std::string& output,
                             const GgufImportOptions& options) {
  GgufReader reader(input);
  const GgufMetadata& m = reader.header().metadata;
  GgufImportResult result;
  result.arch = text_of(m, "general.architecture", input);
  const GgufArchitecture* arch = gguf_architecture_reading(result.arch);
  const Family* family = arch ? family_by_name(arch->family()) : nullptr;
  if (!arch || !family)
    throw_usage(input + ": GGUF architecture \"" + result.arch +
                "\" has no hf-pytorch convention in tensorferry (gpt2, llama and qwen2 have)");
  result.family = std::string(family->name());
  const GgufFileTensors facts = file_tensors(reader, input);

  json hf = [&] {
    try {
      return arch->hf_config(m, facts);
    } catch (const Error& e) {
      throw e.with_context(input);
    }
  }();
  const GgufValue* tokens = find_value(m, "tokenizer.ggml.tokens");
  if (!hf.contains("vocab_size"))
    hf["vocab_size"] = tokens ? tokens->elements.size() : reader.tensors().front().shape.front();
  for (const char* type : {"bos", "eos"})
    if (const GgufValue* id = find_value(m, std::string("tokenizer.ggml.") + type + "_token_id"))
      hf[std::string(type) + "_token_id"] = id->integer;
  const ModelConfig config = family->read_config(Convention::kHfPyTorch, hf.dump(), input);
  result.hf_class = hf["architectures"][0].get<std::string>();
  const HfClass* hf_class = family->find_hf_class(result.hf_class);
  if (!hf_class) throw_usage(result.hf_class + " is not in the " + result.family + " table");
  result.dtype = options.dtype.value_or(dtype_of_file_type(m));

  // GGUF name -> rule, for every layer.
  std::map<std::string, std::pair<const GgufTensorRule*, std::string>> by_gguf;
  for (const auto& rule : arch->rules(config)) {
    const bool per_layer = rule.canonical.find("{i}") != std::string_view::npos;
    const std::string hf_name = hf_template(*family, rule.canonical);
    if (hf_name.empty()) continue;
    for (uint64_t i = 0; i < (per_layer ? config.symbols.at('L') : 1); ++i)
      by_gguf[expand_template(rule.gguf, static_cast<int>(i), "", "")] = {
          &rule, expand_template(hf_name, static_cast<int>(i), hf_class->base_prefix, "")};
  }
  std::vector<ImportTensor> tensors;
  std::vector<TensorInfo> infos;
  for (size_t i = 0; i < reader.tensors().size(); ++i) {
    const TensorEntry& t = reader.tensors()[i];
    auto it = by_gguf.find(t.name);
    if (t.name == kGgufRopeFreqs) continue;  // rebuilt as config.json's rope_scaling
    if (it == by_gguf.end()) {
      result.skipped.push_back(t.name + ": no " + result.family + " parameter has this GGUF name");
      continue;
    }
    const auto& [rule, hf_name] = it->second;
    if (!is_floating(t.dtype))
      throw_bad_input(input, t.offset, "GGUF: expected a floating-point tensor", t.name);
    ImportTensor x{i, hf_name, t.shape, rule->step, 0};
    if (rule->step == GgufStep::kTranspose) {
      if (x.shape.size() != 2)
        throw_bad_input(input, t.offset, "GGUF: expected 2 dimensions", t.name);
      std::swap(x.shape[0], x.shape[1]);
    }
    if (rule->step == GgufStep::kPermuteRope) {
      x.heads = config.hf.at(std::string(rule->heads)).get<uint64_t>();
      if (x.heads == 0 || x.shape.empty() || x.shape[0] % (2 * x.heads) != 0)
        throw_bad_input(input, t.offset, "GGUF: rows are not pairs of the heads in the metadata",
                        t.name);
    }
    infos.push_back({hf_name, result.dtype, x.shape, *dense_byte_size(result.dtype, x.shape)});
    tensors.push_back(std::move(x));
  }

  const fs::path parent = fs::absolute(output).parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw_io(parent.string(), "cannot create the folder for the output", ec.value());
  AtomicOutput folder(output, AtomicOutput::Kind::kDirectory, options.force);
  WriterOptions writer_options;
  writer_options.metadata["format"] = "pt";
  auto writer = create_safetensors_writer((folder.staging_path() / "model.safetensors").string(),
                                          writer_options);
  writer->begin(infos);
  std::vector<std::byte> scratch, moved, cast;
  for (size_t k = 0; k < tensors.size(); ++k) {
    const ImportTensor& x = tensors[k];
    const TensorEntry& t = reader.tensors()[x.index];
    std::span<const std::byte> bytes = reader.read(x.index, scratch);
    const size_t size = dtype_size(t.dtype);
    if (x.step == GgufStep::kTranspose) {
      moved.resize(bytes.size());
      transpose_2d(bytes.data(), moved.data(), t.shape[0], t.shape[1], size);
      bytes = moved;
    } else if (x.step == GgufStep::kPermuteRope && !bytes.empty()) {  // no rows: nothing moves
      moved.resize(bytes.size());
      permute_rope_rows(bytes.data(), moved.data(), x.shape[0], x.heads, bytes.size() / x.shape[0],
                        true);
      bytes = moved;
    }
    if (t.dtype != result.dtype) {
      cast.resize(bytes.size() / size * dtype_size(result.dtype));
      cast_elements(bytes.data(), t.dtype, cast.data(), result.dtype, bytes.size() / size);
      bytes = cast;
    }
    writer->write(k, bytes);
    reader.release(x.index);
    result.bytes += bytes.size();
    ++result.tensors;
  }
  writer->commit();
  write_text(folder.staging_path() / "config.json",
             family->write_config(Convention::kHfPyTorch, config, hf_class));
  result.files.push_back("config.json");
  write_tokenizer(m, folder.staging_path(),
                  hf.value("n_positions", hf.value("max_position_embeddings", 0)), result.files);
  folder.commit();
  return result;
}

std::string gguf_import_text(const std::string& input, const std::string& output,
                             const GgufImportResult& r) {
  std::ostringstream out;
  out << "converted " << r.family << " gguf (" << input << ", " << r.arch << ") -> hf-pytorch ("
      << r.hf_class << ", model.safetensors, " << dtype_name(r.dtype) << ") at " << output << "\n";
  out << "wrote " << r.tensors << " tensors (" << r.bytes << " bytes)\n";
  out << "files:";
  for (const auto& f : r.files) out << " " << f;
  out << "\n";
  if (!r.skipped.empty()) {
    out << "skipped (" << r.skipped.size() << "):\n";
    for (const auto& s : r.skipped) out << "  " << s << "\n";
  }
  return out.str();
}

}  // namespace tensorferry
