// Dropping what reading a span of a mapped input left mapped in this process.
#pragma once

#include <cstddef>
#include <span>

#include "core/mapped_file.h"

namespace tensorferry {

// For a consumer that has read all of `bytes` and will not read them again: when they lie inside
// a live MappedFile, drops their whole pages and the 2 MiB-aligned regions around their first and
// last byte (release_around), since a fault maps the whole large page-cache folio around the
// touched byte, often with one 2 MiB PMD. Without the ends, every small tensor (a bias, a norm's
// scale) that sits beside an already released large one kept a 2 MiB folio resident: ~140 MB
// over a BERT-large conversion (docs/performance.md "Memory"). Other memory is left alone.
inline void release_touched(std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  release_consumed(bytes);
  release_around(bytes.first(1));
  release_around(bytes.last(1));
}

// The ends alone, for a consumer that released the whole pages piece by piece as it went.
inline void release_ends(std::span<const std::byte> bytes) {
  if (bytes.empty()) return;
  release_around(bytes.first(1));
  release_around(bytes.last(1));
}

}  // namespace tensorferry
