#include "core/mapped_file.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "core/input_file.h"
#include "core/release_touched.h"

namespace tensorferry {

namespace {
// Live mappings by start address, so that release_consumed can tell a mapped piece (safe to
// drop: read-only, file-backed) from heap memory (dropping would zero it).
struct MappingRegistry {
  std::mutex mutex;
  std::map<const std::byte*, uint64_t> ranges;
};
MappingRegistry& registry() {
  static MappingRegistry r;
  return r;
}
}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  const InputFile file = InputFile::open(path);  // a regular file, or refused
  const uint64_t size = file.size();
  struct stat st {};
  if (::fstat(file.fd(), &st) != 0) throw_io(path, "cannot stat", errno);
  const std::byte* data = nullptr;
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, file.fd(), 0);
    if (p == MAP_FAILED) throw_io(path, "cannot map", errno);
    data = static_cast<const std::byte*>(p);
  }
  // Closing the descriptor (when `file` goes) leaves the mapping, which keeps the file alive.
  if (data) {
    std::lock_guard lock(registry().mutex);
    registry().ranges[data] = size;
  }
  return std::shared_ptr<const MappedFile>(
      new MappedFile(FileIdentity{path, st.st_dev, st.st_ino}, data, size));
}

MappedFile::~MappedFile() {
  if (!data_) return;
  {
    std::lock_guard lock(registry().mutex);
    registry().ranges.erase(data_);
  }
  ::munmap(const_cast<std::byte*>(data_), size_);
}

std::span<const std::byte> MappedFile::slice(uint64_t offset, uint64_t length,
                                             std::string_view what,
                                             const std::string& tensor) const {
  if (offset > size_ || length > size_ - offset) {
    throw_bad_input(identity_.path, offset,
                    std::string(what) + " needs " + std::to_string(length) +
                        " bytes but the file is " + std::to_string(size_) +
                        " bytes long (truncated or corrupt)",
                    tensor);
  }
  return {data_ + offset, static_cast<size_t>(length)};
}

namespace {
void advise(const std::byte* data, uint64_t size, uint64_t offset, uint64_t length, int advice) {
  if (!data || offset >= size || length == 0) return;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  uint64_t begin = offset / page * page;
  uint64_t end = std::min(size, offset + length);
  if (end <= begin) return;
  ::madvise(const_cast<std::byte*>(data) + begin, end - begin, advice);
}
}  // namespace

void MappedFile::release(uint64_t offset, uint64_t length) const {
  // Only whole pages inside the range may be dropped; MADV_DONTNEED on a private read-only
  // mapping just unmaps them from this process, the page cache keeps them.
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  uint64_t begin = (offset + page - 1) / page * page;
  uint64_t end = std::min(size_, offset + length) / page * page;
  if (end > begin) advise(data_, size_, begin, end - begin, MADV_DONTNEED);
}

void MappedFile::unmap_around(uint64_t offset, uint64_t length) const {
  constexpr uint64_t kRegion = 2 << 20;
  if (!data_ || offset >= size_) return;
  const uint64_t begin = offset / kRegion * kRegion;
  const uint64_t last = std::min(size_, offset + length);
  const uint64_t end = std::min(size_, (last + kRegion - 1) / kRegion * kRegion);
  advise(data_, size_, begin, end - begin, MADV_DONTNEED);
}

void MappedFile::prefetch(uint64_t offset, uint64_t length) const {
  advise(data_, size_, offset, length, MADV_WILLNEED);
}

bool MappedFile::cached(uint64_t offset, uint64_t length) const {
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t begin = offset / page * page;
  const uint64_t end = std::min(size_, offset + length);
  if (!data_ || end <= begin) return true;
  std::vector<unsigned char> resident((end - begin + page - 1) / page);
  if (::mincore(const_cast<std::byte*>(data_) + begin, end - begin, resident.data()) != 0)
    return true;  // cannot tell: the mapping serves it as before
  return std::all_of(resident.begin(), resident.end(), [](unsigned char r) { return r & 1; });
}

bool MappedFile::stream(uint64_t offset, uint64_t length, std::string_view what,
                        const std::string& tensor, const PieceConsumer& consume,
                        const PieceHook& on_read) const {
  const auto whole = slice(offset, length, what, tensor);
  const bool all = stream_pieces(whole, offset, consume, on_read);
  // The pieces from the mapping released their whole pages as they went; the large folios
  // around the range's ends stay mapped unless dropped too.
  release_ends(whole);
  return all;
}

bool MappedFile::stream_pieces(std::span<const std::byte> whole, uint64_t offset,
                               const PieceConsumer& consume, const PieceHook& on_read) const {
  const uint64_t length = whole.size();
  for (uint64_t done = 0; done < length;) {
    const uint64_t n = std::min<uint64_t>(kStreamPiece, length - done);
    if (!direct_refused_.load(std::memory_order_relaxed) && !cached(offset + done, n)) {
      // The whole run of pieces the cache does not hold in one call, so that reading the next
      // piece overlaps the consumer's work on this one.
      uint64_t run = n;
      while (done + run < length) {
        const uint64_t next = std::min<uint64_t>(kStreamPiece, length - done - run);
        if (cached(offset + done + run, next)) break;
        run += next;
      }
      const DirectRead read =
          read_direct(identity_, offset + done, run, kStreamPiece, consume, on_read);
      if (read.stopped) return false;
      done += read.handed;
      if (read.handed < run)  // refused: the rest from the mapping
        direct_refused_.store(true, std::memory_order_relaxed);
      continue;
    }
    const auto piece = whole.subspan(done, n);
    if (on_read) on_read(piece);
    const bool more = consume(piece);
    release_consumed(piece);
    if (!more) return false;
    done += n;
  }
  return true;
}

void release_around(std::span<const std::byte> piece) {
  if (piece.empty()) return;
  constexpr uint64_t kRegion = 2 << 20;
  std::lock_guard lock(registry().mutex);
  auto it = registry().ranges.upper_bound(piece.data());
  if (it == registry().ranges.begin()) return;
  --it;
  const std::byte* map_begin = it->first;
  const uint64_t map_size = it->second;
  const uint64_t offset = static_cast<uint64_t>(piece.data() - map_begin);
  if (offset >= map_size || piece.size() > map_size - offset) return;
  // The mapping starts page-aligned, not 2 MiB-aligned: align the region in addresses.
  const auto address = reinterpret_cast<uintptr_t>(piece.data());
  const auto map_address = reinterpret_cast<uintptr_t>(map_begin);
  const uintptr_t begin = std::max(map_address, address / kRegion * kRegion);
  const uintptr_t end = std::min<uintptr_t>(
      map_address + map_size, (address + piece.size() + kRegion - 1) / kRegion * kRegion);
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t first = (begin + page - 1) / page * page;
  if (end > first) ::madvise(reinterpret_cast<void*>(first), end - first, MADV_DONTNEED);
}

void release_consumed(std::span<const std::byte> piece) {
  if (piece.size() < (64 << 10)) return;  // not worth a syscall
  const std::byte* begin = piece.data();
  std::lock_guard lock(registry().mutex);
  auto it = registry().ranges.upper_bound(begin);
  if (it == registry().ranges.begin()) return;
  --it;
  const std::byte* map_begin = it->first;
  const uint64_t map_size = it->second;
  const uint64_t offset = static_cast<uint64_t>(begin - map_begin);
  if (offset >= map_size || piece.size() > map_size - offset) return;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t first = (offset + page - 1) / page * page;
  const uint64_t last = (offset + piece.size()) / page * page;
  if (last > first)
    ::madvise(const_cast<std::byte*>(map_begin) + first, last - first, MADV_DONTNEED);
}

}  // namespace tensorferry
