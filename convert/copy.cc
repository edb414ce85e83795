#include "convert/copy.h"

#include <filesystem>

#include "core/error.h"
#include "core/output.h"

namespace tensorferry {
namespace fs = std::filesystem;

CopyReport copy_checkpoint(CheckpointReader& reader, const std::string& output,
                           const CopyOptions& options) {
  const auto& entries = reader.tensors();
  std::vector<TensorInfo> infos(entries.begin(), entries.end());

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

  CopyReport report;
  std::vector<std::byte> scratch;
  for (size_t i = 0; i < entries.size(); ++i) {
    auto bytes = reader.read(i, scratch);
    if (bytes.size() != entries[i].nbytes)
      throw Error(ErrorKind::kBadInput,
                  "reader returned " + std::to_string(bytes.size()) + " bytes, expected " +
                      std::to_string(entries[i].nbytes),
                  reader.path(), entries[i].name);
    writer->write(i, bytes);
    reader.release(i);
    report.bytes += bytes.size();
    ++report.tensors;
  }
  writer->commit();
  if (folder) folder->commit();
  report.written = output;
  return report;
}

}  // namespace tensorferry
