#include "convert/copy.h"

#include <filesystem>

#include "convert/cast.h"
#include "convert/target_check.h"
#include "core/error.h"
#include "core/output.h"
#include "core/output_lock.h"
#include "core/output_space.h"

namespace tensorferry {
namespace fs = std::filesystem;

std::optional<std::string> copy_skips(const TensorEntry& tensor, Format output_format) {
  if (tensor.role != TensorRole::kObjectGraph || output_format == Format::kTfBundle)
    return std::nullopt;
  return "TF2 object graph (checkpoint bookkeeping naming the bundle's keys; " +
         std::string(format_name(output_format)) + " has no use for it)";
}

namespace {

// The name whose existence makes the writer refuse without --force.
std::string published_name(const CopyPlan& plan, const CopyOptions& options) {
  if (options.output_is_folder) return plan.output;
  if (plan.format == Format::kTfBundle)
    return plan.checkpoint.ends_with(".index") ? plan.checkpoint : plan.checkpoint + ".index";
  return plan.checkpoint;
}

TargetAdvice advice_for(Format format) {
  TargetAdvice advice;
  advice.dtype = dtype_alternatives(format) + " would work, or another output format";
  if (format == Format::kKerasH5)
    advice.name = "a model folder converts to Hugging Face's tf_model.h5 names with --to hf-tf2";
  return advice;
}

}  // namespace

CopyPlan plan_copy(const CheckpointReader& reader, const std::string& output,
                   const CopyOptions& options) {
  CopyPlan plan;
  plan.output = output;
  plan.format = options.output_format;
  plan.checkpoint = options.output_is_folder
                        ? (fs::path(output) / default_file_name(plan.format)).string()
                        : output;
  const auto& tensors = reader.tensors();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorEntry& t = tensors[i];
    if (auto why = copy_skips(t, plan.format)) {
      plan.skipped.push_back(t.name + ": " + *why);
      continue;
    }
    TensorInfo target = t;
    target.dtype = cast_target(t.dtype, options.dtype, t.name);
    if (target.dtype != t.dtype)
      target.nbytes = t.nbytes / dtype_size(t.dtype) * dtype_size(target.dtype);
    if (t.shares_storage_with) {
      const SharedTensor shared{t.name, tensors[*t.shares_storage_with].name, target.nbytes,
                                t.same_view, t.same_view && options.dedupe_tied};
      plan.shared.push_back(shared);
      if (shared.left_out) continue;
    }
    plan.sources.push_back(i);
    plan.bytes += target.nbytes;
    plan.targets.push_back(std::move(target));
  }
  check_output_space({output, estimate_output_bytes(plan.targets), input_footprint(reader),
                      reader.path(), options.allow_expansion});
  AtomicOutput::refuse_existing(published_name(plan, options), options.writer.force);
  check_target_holds(plan.format, plan.targets, plan.checkpoint, advice_for(plan.format));
  return plan;
}

CopyReport copy_checkpoint(CheckpointReader& reader, const CopyPlan& plan,
                           const CopyOptions& options) {
  const auto& entries = reader.tensors();
  const OutputLock lock(plan.output);
  std::unique_ptr<AtomicOutput> folder;
  std::string target = plan.checkpoint;
  WriterOptions writer_options = options.writer;
  if (options.output_is_folder) {
    folder = std::make_unique<AtomicOutput>(plan.output, AtomicOutput::Kind::kDirectory,
                                            options.writer.force);
    target = (folder->staging_path() / default_file_name(plan.format)).string();
    writer_options.force = false;
  }
  auto writer = create_checkpoint_writer(plan.format, target, writer_options);
  writer->begin(plan.targets);

  CopyReport report;
  begin_tensor_pass(options.progress, "writing", plan.targets);
  std::vector<std::byte> scratch, cast;
  for (size_t k = 0; k < plan.sources.size(); ++k) {
    const size_t i = plan.sources[k];
    std::span<const std::byte> bytes = reader.read(i, scratch);
    if (bytes.size() != entries[i].nbytes)
      throw Error(ErrorKind::kBadInput,
                  "reader returned " + std::to_string(bytes.size()) + " bytes, expected " +
                      std::to_string(entries[i].nbytes),
                  reader.path(), entries[i].name);
    const TensorInfo& out = plan.targets[k];
    if (out.dtype != entries[i].dtype) {
      cast.resize(out.nbytes);
      cast_elements(bytes.data(), entries[i].dtype, cast.data(), out.dtype,
                    bytes.size() / dtype_size(entries[i].dtype));
      bytes = cast;
    }
    writer->write(k, bytes);
    reader.release(i);
    report.bytes += bytes.size();
    ++report.tensors;
    if (options.progress) options.progress->tensor_done(bytes.size());
  }
  writer->commit();
  if (folder) folder->commit();
  report.written = plan.output;
  return report;
}

}  // namespace tensorferry
