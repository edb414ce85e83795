#include "core/checkpoint.h"

#include <algorithm>

#include "core/mapped_file.h"

namespace tensorferry {

bool CheckpointReader::stream(size_t index, const PieceConsumer& consume,
                              std::vector<std::byte>& scratch) {
  const auto bytes = read(index, scratch);
  bool more = true;
  for (size_t done = 0; more && done < bytes.size(); done += kStreamPiece) {
    const auto piece = bytes.subspan(done, std::min(kStreamPiece, bytes.size() - done));
    more = consume(piece);
    release_consumed(piece);
  }
  release(index);
  return more;
}

}  // namespace tensorferry
