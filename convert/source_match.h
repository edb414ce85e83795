// Recognising source tensors: which row of the family table (parameter, tied alias or buffer) a
// stored name is in the source's convention, and which unmatched names are training state that
// TF1 checkpoints carry beside the weights.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "core/checkpoint.h"
#include "models/family.h"

namespace tensorferry {

struct SourceMatch {
  enum Kind { kParam, kAlias, kBuffer } kind;
  size_t row;  // into the family's params(), aliases() or buffers()
  int layer;   // -1 for rows that are not per layer
};

// Every name the source convention may use for every row of the table.
class SourceIndex {
 public:
  SourceIndex(const Family& family, const ModelConfig& config, Convention c);

  // `name` as stored (after the family's normalize_source_name).
  const SourceMatch* find(const std::string& name) const;
  // Whether `name` has the shape of a per-layer name (with some other layer index).
  bool looks_per_layer(const std::string& name) const;

 private:
  void add(std::string_view tmpl, bool per_layer, SourceMatch match);

  Convention convention_;
  std::vector<std::string> bases_;
  int layers_;
  std::unordered_map<std::string, SourceMatch> map_;
  std::set<std::string> layer_patterns_;
};

}  // namespace tensorferry
