#include "core/output_space.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <set>

#include "core/error.h"
#include "core/output.h"

namespace tensorferry {
namespace fs = std::filesystem;

namespace {

uint64_t saturating_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

std::string mebibytes(uint64_t bytes) {
  if (bytes < (uint64_t{1} << 20)) return std::to_string(bytes) + " bytes";
  return std::to_string(bytes >> 20) + " MiB (" + std::to_string(bytes) + " bytes)";
}

uint64_t regular_file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size)
                                                               : 0;
}

}  // namespace

uint64_t estimate_output_bytes(const std::vector<TensorInfo>& tensors) {
  uint64_t total = 0;
  for (const auto& t : tensors)
    total = saturating_add(total, saturating_add(t.nbytes, kRecordAllowance + t.name.size()));
  return total;
}

uint64_t input_footprint(const CheckpointReader& reader) {
  std::set<std::string> files;
  for (const auto& t : reader.tensors()) files.insert(t.file);
  files.insert(reader.path());  // a shard index or the file itself; a bundle prefix counts 0
  uint64_t total = 0;
  for (const auto& file : files) total = saturating_add(total, regular_file_size(file));
  return total;
}

uint64_t free_bytes_for(const fs::path& path) {
  fs::path existing = absolute_output_path(path);
  std::error_code ec;
  while (!fs::exists(existing, ec) && existing.has_parent_path() &&
         existing.parent_path() != existing)
    existing = existing.parent_path();
  struct statvfs vfs {};
  if (::statvfs(existing.c_str(), &vfs) != 0)
    throw_io(existing.string(), "cannot tell the free space", errno);
  const unsigned __int128 bytes = static_cast<unsigned __int128>(vfs.f_bavail) * vfs.f_frsize;
  return bytes > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(bytes);
}

void check_output_space(const OutputSpaceRequest& request) {
  const uint64_t limit = request.input_bytes > UINT64_MAX / kMaxExpansion
                             ? UINT64_MAX
                             : request.input_bytes * kMaxExpansion;
  if (!request.allow_expansion && request.output_bytes > kExpansionFloor &&
      request.output_bytes > limit)
    throw Error(ErrorKind::kBadInput,
                "the input's tensors would take " + mebibytes(request.output_bytes) +
                    " written out, more than " + std::to_string(kMaxExpansion) + " times the " +
                    mebibytes(request.input_bytes) +
                    " it stores (views of shared storage or zero strides written densely); "
                    "pass --allow-expansion to write it anyway",
                request.input);
  const uint64_t free = free_bytes_for(request.output);
  if (request.output_bytes > free)
    throw Error(ErrorKind::kIo,
                "the output needs about " + mebibytes(request.output_bytes) + " but only " +
                    mebibytes(free) + " are free there; nothing was written",
                absolute_output_path(request.output).string());
}

}  // namespace tensorferry
