// libFuzzer target for what lies inside a valid bundle index: the BundleHeaderProto, each
// BundleEntryProto (dtype, shape, shard, offset, size, crc) and, through the data shard, string
// tensors and the TF2 object graph (TrackableObjectGraph -> tensor roles). Mutating a real .index
// rarely gets past the block checksums, so the input is a list of records that this target writes
// into a well-formed table with tensorferry's own TableWriter:
//
//   u16 LE data_size, data_size bytes of data shard, then records of
//   u8 key_size, key, u16 LE value_size, value      (sorted and deduplicated before writing)
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/output.h"
#include "formats/tf_bundle/table_writer.h"
#include "formats/tf_bundle/tf_bundle.h"
#include "fuzz/fuzz_input.h"

namespace {

bool take(const uint8_t*& data, size_t& size, size_t n, std::string& out) {
  if (n > size) return false;
  out.assign(reinterpret_cast<const char*>(data), n);
  data += n;
  size -= n;
  return true;
}

size_t take_u16(const uint8_t*& data, size_t& size) {
  if (size < 2) return 0;
  const size_t v = data[0] | (size_t{data[1]} << 8);
  data += 2;
  size -= 2;
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensorferry;
  std::string shard;
  if (!take(data, size, std::min(take_u16(data, size), size), shard)) return 0;
  std::map<std::string, std::string> records;
  while (size > 0) {
    std::string key, value;
    const size_t key_size = data[0];
    ++data;
    --size;
    if (!take(data, size, key_size, key)) break;
    if (!take(data, size, std::min(take_u16(data, size), size), value)) break;
    records.emplace(std::move(key), std::move(value));
  }
  const auto dir = fuzz::fuzz_dir();
  const std::string prefix = (dir / "model.ckpt").string();
  fuzz::write_input("model.ckpt.data-00000-of-00001",
                    reinterpret_cast<const uint8_t*>(shard.data()), shard.size());
  std::filesystem::remove(prefix + ".index");
  {
    OutputFile out(prefix + ".index");
    tf_bundle::TableWriter table(out);
    for (const auto& [key, value] : records) table.add(key, value);
    table.finish();
    out.close();
  }
  TENSORFERRY_FUZZ_BODY({
    auto reader = open_tf_bundle(prefix);
    fuzz::read_everything(*reader);
  });
}
