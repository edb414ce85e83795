#include "formats/tf_bundle/tf_bundle.h"

#include <algorithm>
#include <cstdio>

#include "core/bytes.h"
#include "formats/sharding.h"
#include "formats/tf_bundle/bundle_files.h"
#include "formats/tf_bundle/table_format.h"

namespace tensorferry {

bool looks_like_tf_index(std::span<const std::byte> last_bytes_of_file) {
  // Any LevelDB-format table ends like this; within tensorferry's formats only a bundle index does.
  return last_bytes_of_file.size() >= tf_bundle::kFooterSize &&
         load_le<uint64_t>(last_bytes_of_file.data() + last_bytes_of_file.size() - 8) ==
             tf_bundle::kTableMagic;
}

namespace tf_bundle {

std::string data_file_name(const std::string& prefix, uint64_t shard, uint64_t num_shards) {
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, ".data-%05llu-of-%05llu",
                static_cast<unsigned long long>(shard),
                static_cast<unsigned long long>(num_shards));
  return prefix + suffix;
}

std::optional<std::string> prefix_of_data_file(const std::string& path) {
  const size_t data = path.rfind(".data-");
  if (data == std::string::npos || !is_shard_numbering(std::string_view(path).substr(data + 6)))
    return std::nullopt;
  return path.substr(0, data);
}

}  // namespace tf_bundle
}  // namespace tensorferry
