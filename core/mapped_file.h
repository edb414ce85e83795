// Read-only memory-mapped input. Readers hand out spans of the mapping instead of copying, and
// release pages they have consumed so that streaming a file larger than RAM keeps RSS flat.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace tensorferry {

class MappedFile {
 public:
  // Throws Error(kIo) when the file cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }

  // [offset, offset+length) of the file, or Error(kBadInput) naming `what` (and `tensor`) when the
  // range does not lie inside the file.
  std::span<const std::byte> slice(uint64_t offset, uint64_t length, std::string_view what,
                                   const std::string& tensor = {}) const;

  // Tells the kernel these pages will not be needed again (they stay valid to read).
  void release(uint64_t offset, uint64_t length) const;
  // Asks the kernel to read ahead these pages.
  void prefetch(uint64_t offset, uint64_t length) const;

 private:
  MappedFile(std::string path, const std::byte* data, uint64_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const std::byte* data_;
  uint64_t size_;
};

}  // namespace tensorferry
