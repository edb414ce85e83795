#include "convert/execute.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "convert/cast.h"
#include "convert/folder_files.h"
#include "convert/layout.h"
#include "core/error.h"
#include "core/output.h"
#include "core/output_lock.h"
#include "core/output_space.h"
#include "formats/tf_bundle/meta_graph.h"
#include "formats/tf_bundle/tf_bundle.h"

namespace tensorferry {
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& path, const std::string& text) {
  OutputFile out(path.string());
  out.write(text);
  out.close();
}

// The config and vocabulary files written beside the weights.
uint64_t side_file_bytes(const Plan& plan) {
  uint64_t total = plan.config_text.size();
  for (const auto& f : plan.files) {
    std::error_code ec;
    const auto size = fs::file_size(f.source, ec);
    if (!ec) total += size;
  }
  return total;
}

}  // namespace

std::unique_ptr<CheckpointWriter> default_writer(const Plan& plan, const fs::path& staging) {
  WriterOptions options;
  options.force = false;  // the staging folder is new; the folder as a whole honours --force
  options.shard_size = plan.shard_size;
  const std::string path = (staging / plan.target_file).string();
  switch (plan.target_format) {
    case Format::kSafetensors:
      // transformers refuses safetensors files whose metadata lacks format "pt" (or tf/flax).
      options.metadata["format"] = "pt";
      return create_checkpoint_writer(plan.target_format, path, options);
    case Format::kTfBundle: {
      // With the `checkpoint` state file naming the prefix relative to the folder ("model.ckpt"),
      // which tf.train.latest_checkpoint reads; a relative path keeps the folder movable.
      TfBundleOptions bundle;
      bundle.write_state_file = true;
      return create_tf_bundle_writer(path, options, bundle);
    }
    case Format::kKerasH5:
      // Top-level layers (the root layer_names attribute as a JSON array), including weightless
      // ones such as BERT's classifier dropout, in the order TF saves them.
      options.metadata["layer_names"] = nlohmann::json(plan.tf2_layers).dump();
      return create_checkpoint_writer(plan.target_format, path, options);
    case Format::kPyTorch:
    case Format::kGguf: return create_checkpoint_writer(plan.target_format, path, options);
  }
  throw_usage("unknown output format");
}

std::span<const std::byte> transform_entry(const PlanEntry& entry,
                                           std::span<const std::byte> source,
                                           std::vector<std::byte>& moved,
                                           std::vector<std::byte>& cast) {
  std::span<const std::byte> bytes = source;
  const size_t in_size = dtype_size(entry.source_dtype);
  if (entry.step == Step::kTranspose) {
    if (bytes.size() != entry.rows * entry.cols * in_size)
      throw Error(ErrorKind::kBadInput, "size does not match its [rows, cols] view", "",
                  entry.source_name);
    moved.resize(bytes.size());
    transpose_2d(bytes.data(), moved.data(), entry.rows, entry.cols, in_size);
    bytes = moved;
  }
  if (entry.target.dtype != entry.source_dtype) {
    const uint64_t count = bytes.size() / in_size;
    cast.resize(count * dtype_size(entry.target.dtype));
    cast_elements(bytes.data(), entry.source_dtype, cast.data(), entry.target.dtype, count);
    bytes = cast;
  }
  if (bytes.size() != entry.target.nbytes)
    throw Error(ErrorKind::kBadInput,
                "has " + std::to_string(bytes.size()) + " bytes after conversion, expected " +
                    std::to_string(entry.target.nbytes),
                "", entry.source_name);
  return bytes;
}

ConvertResult execute_plan(const Plan& plan, CheckpointReader& reader,
                           const WriterFactory& make_writer, const PublishCheck& check,
                           ProgressSink* progress) {
  verify_ties(plan, reader);
  std::vector<TensorInfo> infos;
  std::vector<size_t> last_use(reader.tensors().size(), SIZE_MAX);
  for (size_t i = 0; i < plan.entries.size(); ++i) {
    infos.push_back(plan.entries[i].target);
    if (plan.entries[i].source) last_use[*plan.entries[i].source] = i;
  }
  check_output_space({plan.output, estimate_output_bytes(infos) + side_file_bytes(plan),
                      input_footprint(reader), reader.path(), plan.allow_expansion});
  const OutputLock lock(plan.output);
  AtomicOutput folder(plan.output, AtomicOutput::Kind::kDirectory, plan.force);
  const fs::path staging = folder.staging_path();

  auto writer = make_writer(plan, staging);
  writer->begin(infos);

  ConvertResult result;
  begin_tensor_pass(progress, "writing", infos);
  std::vector<std::byte> scratch, moved, cast;
  const auto& tensors = reader.tensors();
  for (size_t i = 0; i < plan.entries.size(); ++i) {
    const PlanEntry& e = plan.entries[i];
    std::span<const std::byte> out;
    if (e.step == Step::kConstant) {
      out = e.constant;
    } else {
      const size_t src = *e.source;
      const auto bytes = reader.read(src, scratch);
      if (bytes.size() != tensors[src].nbytes)
        throw Error(ErrorKind::kBadInput,
                    "reader returned " + std::to_string(bytes.size()) + " bytes, expected " +
                        std::to_string(tensors[src].nbytes),
                    reader.path(), tensors[src].name);
      try {
        out = transform_entry(e, bytes, moved, cast);
      } catch (const Error& err) {
        throw err.with_context(reader.path(), tensors[src].name);
      }
    }
    writer->write(i, out);
    if (e.source && last_use[*e.source] == i) reader.release(*e.source);
    result.bytes += out.size();
    ++result.tensors;
    if (progress) progress->tensor_done(out.size());
  }

  if (!plan.config_name.empty()) {
    write_text(staging / plan.config_name, plan.config_text);
    result.files.push_back(plan.config_name);
  }
  if (plan.target_format == Format::kTfBundle) {
    result.files.push_back("checkpoint");
    // The graph TF1's Saver would have written with the checkpoint, for import_meta_graph and
    // for tools that look for PREFIX.meta before they load a TF1 folder.
    const std::string meta = plan.target_file + ".meta";
    tf_bundle::write_meta_graph((staging / meta).string(), infos);
    result.files.push_back(meta);
  }
  for (const auto& f : plan.files) {
    copy_folder_file(plan.source.folder, f, staging);
    result.files.push_back(f.target);
  }
  for (const auto& g : plan.generated) {
    write_text(staging / g.name, g.text);
    result.files.push_back(g.name);
  }
  writer->commit();
  result.published = check ? check(plan, staging) : folder.final_path();
  if (!result.published) return result;  // the staging folder goes with `folder`
  folder.commit_as(*result.published);
  return result;
}

}  // namespace tensorferry
