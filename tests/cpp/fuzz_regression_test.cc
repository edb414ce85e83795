// Regression tests for crashes the fuzz targets found (fuzz/RESULTS.md). Each input is also kept
// in fuzz/regressions/<target>/ and replayed by scripts/fuzz.sh.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "formats/sharding.h"
#include "models/config_json.h"
#include "models/family.h"

namespace tensorferry {
namespace {

namespace fs = std::filesystem;

template <typename F>
Error bad_input_from(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
    return e;
  }
  ADD_FAILURE() << "no Error thrown";
  return Error(ErrorKind::kBadInput, "none");
}

// nlohmann's parser throws out_of_range, not parse_error, for a number beyond double's range;
// parse_config_json let it escape, and the CLI reported an internal error instead of bad input.
TEST(FuzzRegression, ConfigNumberOutOfRangeIsBadInput) {
  for (const char* text : {R"({"n_embd": 1e999})", R"({"n_vocab": -9e9999})", "99999e99999"}) {
    const Error e = bad_input_from([&] { parse_config_json(text, "config.json"); });
    EXPECT_EQ(e.file(), "config.json");
  }
  const Error e = bad_input_from([] {
    family_by_name("gpt2")->read_config(Convention::kOpenAiTf1, R"({"n_vocab": 1e999})",
                                        "hparams.json");
  });
  EXPECT_EQ(e.file(), "hparams.json");
}

// The same nlohmann behaviour in the HF shard index reader.
TEST(FuzzRegression, ShardIndexNumberOutOfRangeIsBadInput) {
  const fs::path dir = fs::temp_directory_path() / ("fuzz_regression." + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "model.safetensors.index.json").string();
  std::ofstream(path)
      << R"({"weight_map": {"a": "x.safetensors"}, "metadata": {"total_size": 1e400}})";
  const Error e = bad_input_from([&] { read_shard_index(path); });
  EXPECT_EQ(e.file(), path);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tensorferry
