// Reading a tensor bundle: the index table lists every tensor (dtype, shape, shard, offset, size,
// checksum); the data shards hold the bytes. Everything the index says is checked against the
// shards' sizes when the bundle is opened; each tensor's checksum is checked when it is read.
#include <algorithm>
#include <filesystem>
#include <map>

#include "core/bytes.h"
#include "core/crc.h"
#include "core/error.h"
#include "core/input_file.h"
#include "core/limits.h"
#include "core/mapped_file.h"
#include "formats/tf_bundle/bundle.pb.h"
#include "formats/tf_bundle/bundle_files.h"
#include "formats/tf_bundle/checkpoint_state.h"
#include "formats/tf_bundle/string_tensor.h"
#include "formats/tf_bundle/table_reader.h"
#include "formats/tf_bundle/tensor_roles.h"
#include "formats/tf_bundle/tf_bundle.h"
#include "formats/tf_bundle/trackable_object_graph.pb.h"

namespace tensorferry {
namespace tf_bundle {
namespace {
namespace fs = std::filesystem;

constexpr uint64_t kMaxRank = 254;  // TensorShape::IsValid
constexpr uint64_t kMaxObjectGraphBytes = 1ull << 30;

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// TensorFlow DataType names for the values tensorferry cannot carry, for error messages.
std::string tf_dtype_description(int value) {
  static const std::map<int, std::string_view> kNames = {{0, "DT_INVALID"},
                                                         {11, "DT_QINT8"},
                                                         {12, "DT_QUINT8"},
                                                         {13, "DT_QINT32"},
                                                         {15, "DT_QINT16"},
                                                         {16, "DT_QUINT16"},
                                                         {20, "DT_RESOURCE"},
                                                         {21, "DT_VARIANT"},
                                                         {26, "DT_FLOAT8_E4M3FNUZ"},
                                                         {27, "DT_FLOAT8_E4M3B11FNUZ"},
                                                         {28, "DT_FLOAT8_E5M2FNUZ"},
                                                         {29, "DT_INT4"},
                                                         {30, "DT_UINT4"}};
  auto it = kNames.find(value);
  return (it != kNames.end() ? std::string(it->second) : "DataType") + " (" +
         std::to_string(value) + ")";
}

// Slices of partitioned variables are stored under binary keys (OrderedCode): a 0x00 byte, then
// the full tensor's name with 0x00 and 0xff escaped, ended by 0x00 0x01. Decoded only to name
// the variable in the error.
std::string name_from_slice_key(std::string_view key) {
  std::string name;
  for (size_t i = 1; i < key.size(); ++i) {
    const auto c = static_cast<uint8_t>(key[i]);
    const auto next = i + 1 < key.size() ? static_cast<uint8_t>(key[i + 1]) : 0x01;
    if (c == 0x00 && next == 0x01) break;
    if ((c == 0x00 && next == 0xff) || (c == 0xff && next == 0x00)) ++i;
    name.push_back(static_cast<char>(c));
  }
  return name;
}

// Where a tensor's bytes are and how to check them.
struct StoredTensor {
  int shard = 0;
  uint64_t size = 0;
  uint32_t masked_crc = 0;
  std::optional<StringTensorLayout> strings;  // for DT_STRING
};

class BundleReader final : public CheckpointReader {
 public:
  BundleReader(std::string opened_path, std::string prefix)
      : path_(std::move(opened_path)), prefix_(std::move(prefix)) {
    index_ = MappedFile::open(index_file_name(prefix_));
    const auto table = read_table(*index_);
    if (table.empty() || !table.front().key.empty())
      throw_bad_input(index_->path(), std::nullopt,
                      "has no bundle header (the entry with the empty key); not a TensorFlow "
                      "V2 checkpoint index");
    read_header(table.front());
    for (size_t i = 1; i < table.size(); ++i) add_tensor(table[i]);
    order_by_position();
    assign_roles();
  }

  std::string format() const override { return "tf-bundle"; }
  std::string path() const override { return path_; }
  const std::vector<TensorEntry>& tensors() const override { return entries_; }

  std::span<const std::byte> read(size_t index, std::vector<std::byte>& scratch) override {
    if (index >= entries_.size()) throw_usage("tensor index out of range");
    const TensorEntry& entry = entries_[index];
    const StoredTensor& stored = stored_[index];
    const auto bytes = stored_bytes(index);
    if (stored.strings) {
      try {
        decode_string_tensor(bytes, *stored.strings, stored.masked_crc, scratch);
      } catch (const Error& e) {
        throw e.with_context(entry.file, entry.name, entry.offset);
      }
      return scratch;
    }
    // In pieces released as they are summed: callers stream the tensor afterwards (convert's
    // writers, verify's blocked products), and a tensor of a few hundred MB must not stay
    // resident between the checksum and its use.
    uint32_t actual = 0;
    for (size_t done = 0; done < bytes.size(); done += kStreamPiece) {
      const auto piece = bytes.subspan(done, std::min(kStreamPiece, bytes.size() - done));
      actual = crc32c_extend(actual, piece);
      release_consumed(piece);
    }
    check_checksum(index, actual);
    return bytes;
  }

  bool stream(size_t index, const PieceConsumer& consume,
              std::vector<std::byte>& scratch) override {
    if (index >= entries_.size()) throw_usage("tensor index out of range");
    if (stored_[index].strings) return CheckpointReader::stream(index, consume, scratch);
    const TensorEntry& entry = entries_[index];
    uint32_t actual = 0;
    const bool whole = shards_.at(stored_[index].shard)
                           ->stream(entry.offset, stored_[index].size, "tensor data", entry.name,
                                    consume, [&](std::span<const std::byte> piece) {
                                      actual = crc32c_extend(actual, piece);
                                    });
    if (whole) check_checksum(index, actual);
    return whole;
  }

  void release(size_t index) override {
    if (index >= entries_.size()) return;
    shards_.at(stored_[index].shard)->release(entries_[index].offset, stored_[index].size);
  }

  std::map<std::string, std::string> metadata() const override {
    return {{"num_shards", std::to_string(num_shards_)},
            {"object_based", object_based_ ? "true" : "false"}};
  }

 private:
  [[noreturn]] void bad_index(uint64_t offset, const std::string& message,
                              const std::string& tensor = {}) const {
    throw_bad_input(index_->path(), offset, message, tensor);
  }

  void read_header(const TableEntry& entry) {
    BundleHeaderProto header;
    if (!header.ParseFromArray(entry.value.data(), static_cast<int>(entry.value.size())))
      bad_index(entry.value_offset, "bundle header is not a valid BundleHeaderProto");
    if (header.num_shards() < 1)
      bad_index(entry.value_offset,
                "bundle header says " + std::to_string(header.num_shards()) + " data shards");
    num_shards_ = header.num_shards();
    if (header.endianness() == 1)
      bad_index(entry.value_offset,
                "bundle was written on a big-endian machine; tensorferry reads little-endian "
                "bundles only");
    if (header.endianness() != 0)
      bad_index(entry.value_offset,
                "bundle header has unknown endianness " + std::to_string(header.endianness()));
    // CheckVersions(version, consumer = kBundleVersion, min_producer = 0).
    if (header.has_version()) {
      const auto& v = header.version();
      if (v.producer() < 0)
        bad_index(entry.value_offset, "bundle producer version " + std::to_string(v.producer()) +
                                          " is older than any reader supports");
      if (v.min_consumer() > kBundleVersion)
        bad_index(entry.value_offset,
                  "bundle needs a reader of version " + std::to_string(v.min_consumer()) +
                      " or newer; tensorferry reads version " + std::to_string(kBundleVersion));
      for (int bad : v.bad_consumers())
        if (bad == kBundleVersion)
          bad_index(entry.value_offset,
                    "bundle disallows readers of version " + std::to_string(kBundleVersion));
    }
  }

  void add_tensor(const TableEntry& row) {
    const std::string& name = row.key;
    if (name.front() == '\0')
      bad_index(row.value_offset,
                "slice of partitioned variable '" + name_from_slice_key(name) +
                    "'; tensorferry does not read partitioned variables (restore and re-save "
                    "them unpartitioned with TensorFlow)");
    BundleEntryProto proto;
    if (!proto.ParseFromArray(row.value.data(), static_cast<int>(row.value.size())))
      bad_index(row.value_offset, "index entry is not a valid BundleEntryProto", name);
    if (proto.slices_size() > 0)
      bad_index(row.value_offset,
                "partitioned variable stored in " + std::to_string(proto.slices_size()) +
                    " slices; tensorferry does not read partitioned variables",
                name);

    TensorEntry entry;
    entry.name = name;
    const auto dtype = dtype_from_tf(proto.dtype());
    if (!dtype)
      bad_index(row.value_offset,
                "dtype " + tf_dtype_description(proto.dtype()) + " is not supported", name);
    entry.dtype = *dtype;
    if (proto.shape().unknown_rank()) bad_index(row.value_offset, "shape has unknown rank", name);
    if (static_cast<uint64_t>(proto.shape().dim_size()) > kMaxRank)
      bad_index(row.value_offset,
                "shape has rank " + std::to_string(proto.shape().dim_size()) + " (at most 254)",
                name);
    for (const auto& dim : proto.shape().dim()) {
      if (dim.size() < 0)
        bad_index(row.value_offset, "shape has negative dimension " + std::to_string(dim.size()),
                  name);
      entry.shape.push_back(static_cast<uint64_t>(dim.size()));
    }
    check_tensor_count(entries_.size() + 1, index_->path(), row.value_offset);
    check_tensor_metadata(name, entry.shape, index_->path(), row.value_offset);
    const auto count = num_elements(entry.shape);
    if (!count || *count > static_cast<uint64_t>(INT64_MAX))
      bad_index(row.value_offset, "shape " + shape_to_string(entry.shape) + " is too large", name);
    if (proto.shard_id() < 0 || proto.shard_id() >= num_shards_)
      bad_index(row.value_offset,
                "shard id " + std::to_string(proto.shard_id()) + " is outside 0.." +
                    std::to_string(num_shards_ - 1),
                name);
    if (proto.offset() < 0 || proto.size() < 0)
      bad_index(row.value_offset, "negative data offset or size", name);

    StoredTensor stored;
    stored.shard = proto.shard_id();
    stored.size = static_cast<uint64_t>(proto.size());
    stored.masked_crc = proto.crc32c();
    entry.offset = static_cast<uint64_t>(proto.offset());
    const auto& shard = open_shard(stored.shard, name);
    entry.file = shard.path();
    const auto end = checked_add(entry.offset, stored.size);
    if (!end || *end > shard.size())
      throw_bad_input(shard.path(), entry.offset,
                      "tensor data of " + std::to_string(stored.size) +
                          " bytes runs past the end of the data file (" +
                          std::to_string(shard.size()) + " bytes; truncated?)",
                      name);
    if (entry.dtype == DType::kString) {
      try {
        stored.strings =
            parse_string_tensor(shard.slice(entry.offset, stored.size, "string tensor"), *count);
      } catch (const Error& e) {
        throw e.with_context(shard.path(), name, entry.offset);
      }
      entry.nbytes = stored.strings->encoded_size();
    } else {
      entry.nbytes = *dense_byte_size(entry.dtype, entry.shape);  // fits: <= size <= file size
      if (entry.nbytes != stored.size)
        bad_index(row.value_offset,
                  "size " + std::to_string(stored.size) + " in the index, but " +
                      std::string(dtype_name(entry.dtype)) + shape_to_string(entry.shape) +
                      " takes " + std::to_string(entry.nbytes) + " bytes",
                  name);
    }
    entries_.push_back(std::move(entry));
    stored_.push_back(stored);
  }

  const MappedFile& open_shard(int shard, const std::string& tensor) {
    auto& file = shards_[shard];
    if (!file) {
      const std::string path =
          data_file_name(prefix_, static_cast<uint64_t>(shard), static_cast<uint64_t>(num_shards_));
      // Found by name beside the index: a special file or a link leaving the folder is
      // refused (core/input_file.h).
      const fs::path name(path);
      const auto found = find_in_folder(name.parent_path().string(), name.filename().string());
      if (!found)
        throw_bad_input(path, std::nullopt, "data file is missing (the checkpoint is incomplete)",
                        tensor);
      file = MappedFile::open(*found);
    }
    return *file;
  }

  void check_checksum(size_t index, uint32_t actual) const {
    const TensorEntry& entry = entries_[index];
    const uint32_t expected = crc32c_unmask(stored_[index].masked_crc);
    if (expected != actual)
      throw_bad_input(entry.file, entry.offset,
                      "checksum mismatch (stored CRC32C " + hex32(expected) + ", computed " +
                          hex32(actual) + "): data corrupt",
                      entry.name);
  }

  std::span<const std::byte> stored_bytes(size_t index) const {
    return shards_.at(stored_[index].shard)
        ->slice(entries_[index].offset, stored_[index].size, "tensor data", entries_[index].name);
  }

  // Data-file order, so that reading every tensor in list order streams through each shard.
  void order_by_position() {
    std::vector<size_t> order(entries_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (stored_[a].shard != stored_[b].shard) return stored_[a].shard < stored_[b].shard;
      return entries_[a].offset < entries_[b].offset;
    });
    std::vector<TensorEntry> entries;
    std::vector<StoredTensor> stored;
    for (size_t i : order) {
      entries.push_back(std::move(entries_[i]));
      stored.push_back(stored_[i]);
    }
    entries_ = std::move(entries);
    stored_ = std::move(stored);
  }

  void assign_roles() {
    std::map<std::string, RoleHint> hints;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].name != kObjectGraphKey) continue;
      object_based_ = true;
      hints = roles_from_object_graph(read_object_graph(i));
    }
    for (auto& entry : entries_) {
      auto it = hints.find(entry.name);
      if (it != hints.end()) {
        entry.role = it->second.role;
        entry.note = it->second.note;
      } else {
        entry.role = role_from_name(entry.name);
      }
    }
  }

  TrackableObjectGraph read_object_graph(size_t index) {
    const TensorEntry& entry = entries_[index];
    if (entry.dtype != DType::kString || !entry.shape.empty())
      throw_bad_input(index_->path(), std::nullopt, "object graph is not a scalar string tensor",
                      entry.name);
    if (entry.nbytes > kMaxObjectGraphBytes)
      throw_bad_input(entry.file, entry.offset, "object graph is larger than 1 GiB", entry.name);
    std::vector<std::byte> scratch;
    const auto bytes = read(index, scratch).subspan(8);  // one element: u64 length, then bytes
    TrackableObjectGraph graph;
    if (!graph.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
      throw_bad_input(entry.file, entry.offset, "object graph is not a TrackableObjectGraph",
                      entry.name);
    return graph;
  }

  std::string path_;
  std::string prefix_;
  std::shared_ptr<const MappedFile> index_;
  int num_shards_ = 0;
  std::map<int, std::shared_ptr<const MappedFile>> shards_;  // opened when first referenced
  std::vector<TensorEntry> entries_;
  std::vector<StoredTensor> stored_;  // parallel to entries_
  bool object_based_ = false;
};

}  // namespace
}  // namespace tf_bundle

std::unique_ptr<CheckpointReader> open_tf_bundle(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string prefix = path;
  if (fs::is_directory(path, ec)) {
    prefix = tf_bundle::prefix_from_state_file(path);
  } else if (tf_bundle::ends_with(path, ".index") && fs::exists(path, ec)) {
    prefix = path.substr(0, path.size() - 6);
  } else if (auto p = tf_bundle::prefix_of_data_file(path); p && fs::exists(path, ec)) {
    prefix = *p;
  }
  // exists, not is_regular_file: a FIFO or device there is refused as such when it is opened.
  if (!fs::exists(tf_bundle::index_file_name(prefix), ec))
    throw Error(
        ErrorKind::kIo,
        "no TensorFlow checkpoint here (" + tf_bundle::index_file_name(prefix) + " does not exist)",
        path);
  return std::make_unique<tf_bundle::BundleReader>(path, prefix);
}

}  // namespace tensorferry
