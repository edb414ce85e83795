#include "convert/copy.h"

#include <filesystem>

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

CopyReport copy_checkpoint(CheckpointReader& reader, const std::string& output,
                           const CopyOptions& options) {
  const auto& entries = reader.tensors();
  CopyReport report;
  std::vector<size_t> copied;  // reader indices, in the order the writer gets them
  std::vector<TensorInfo> infos;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (auto why = copy_skips(entries[i], options.output_format)) {
      report.skipped.push_back(entries[i].name + ": " + *why);
      continue;
    }
    copied.push_back(i);
    infos.push_back(entries[i]);
  }
  check_output_space({output, estimate_output_bytes(infos), input_footprint(reader), reader.path(),
                      options.allow_expansion});
  const OutputLock lock(output);

  std::unique_ptr<AtomicOutput> folder;
  std::string target = output;
  WriterOptions writer_options = options.writer;
  if (options.output_is_folder) {
    folder = std::make_unique<AtomicOutput>(output, AtomicOutput::Kind::kDirectory,
                                            options.writer.force);
    target = (folder->staging_path() / default_file_name(options.output_format)).string();
    writer_options.force = false;
  }
  auto writer = create_checkpoint_writer(options.output_format, target, writer_options);
  writer->begin(infos);

  begin_tensor_pass(options.progress, "writing", infos);
  std::vector<std::byte> scratch;
  for (size_t k = 0; k < copied.size(); ++k) {
    const size_t i = copied[k];
    auto bytes = reader.read(i, scratch);
    if (bytes.size() != entries[i].nbytes)
      throw Error(ErrorKind::kBadInput,
                  "reader returned " + std::to_string(bytes.size()) + " bytes, expected " +
                      std::to_string(entries[i].nbytes),
                  reader.path(), entries[i].name);
    writer->write(k, bytes);
    reader.release(i);
    report.bytes += bytes.size();
    ++report.tensors;
    if (options.progress) options.progress->tensor_done(bytes.size());
  }
  writer->commit();
  if (folder) folder->commit();
  report.written = output;
  return report;
}

}  // namespace tensorferry
