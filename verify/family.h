// verify's reading of one model family, as data: its parameter tables per convention, how its
// framework reads its config, and its reference forward pass, assembled from the shared blocks
// of verify/blocks.h. Each family fills one in its own folder (models/<family>/<family>_verify.cc
// and <family>_forward.cc) from the framework's model code, without looking at the conversion
// table beside it (docs/adding-a-family.md); models/registry.cc lists them.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "verify/convention.h"
#include "verify/model_config.h"

namespace tensorferry::verify {

class ConfigReader;
struct Pass;

class Family {
 public:
  using Tables = std::array<const std::vector<ParamSpec>*, std::size(kAllConventions)>;
  using ConfigFiles = std::array<std::vector<std::string_view>, std::size(kAllConventions)>;
  using ReadConfig = ModelConfig (*)(Convention convention, const ConfigReader& r);
  using KnownExtra = bool (*)(Convention convention, const std::string& key);
  using Run = void (*)(Pass& pass);

  std::string_view name;  // "gpt2", "bert", "llama"
  // The parameter table of each convention (by Convention); nullptr when the family has none.
  Tables tables;
  // The token-embedding table: its stored name tells the conventions and families apart.
  Param token_table;
  // The prefix HF PyTorch head classes put before the base model's names ("bert.").
  std::string_view hf_base_prefix;
  // The config files each convention keeps next to its weights, the usual one first.
  ConfigFiles config_files;
  // Reads the config as the convention's framework does; `r` names the file in its errors.
  ReadConfig read_config;
  // The family's stored tensors that no forward pass reads (buffers, tied aliases), by key.
  KnownExtra known_extra;
  // The stages after the layers, in the order the pass produces them.
  std::vector<std::string> output_stages;
  // The forward pass, recording its stages in `pass` (verify/blocks.h; verify/forward.h
  // run_forward checks the tokens first).
  Run run;

  // The table of `convention`; empty when the family has none.
  const std::vector<ParamSpec>& params(Convention convention) const;
  // The conventions that have a table.
  std::vector<Convention> conventions() const;
};

// Every family verify knows (models/registry.cc), and lookup by name.
const std::vector<const Family*>& all_families();
const Family* family_from_name(std::string_view name);

}  // namespace tensorferry::verify
