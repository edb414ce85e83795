// The family registry (models/registry.cc) and the separation it relies on: verify's reading of
// a family never sees convert's table of it, so that a mistake in one cannot cancel out against
// the same mistake in the other.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include "models/family.h"
#include "verify/family.h"

namespace tensorferry {
namespace {

namespace fs = std::filesystem;

TEST(FamilyRegistry, EveryFamilyHasBothSidesUnderOneName) {
  std::set<std::string> convert_names, verify_names;
  for (const Family* f : all_families()) convert_names.emplace(f->name());
  for (const verify::Family* f : verify::all_families()) verify_names.emplace(f->name);
  EXPECT_EQ(convert_names, verify_names);
  EXPECT_EQ(convert_names.size(), all_families().size()) << "two families share a name";
  for (const auto& name : convert_names) {
    ASSERT_NE(family_by_name(name), nullptr);
    ASSERT_NE(verify::family_from_name(name), nullptr);
    EXPECT_EQ(verify::family_from_name(name)->name, name);
  }
  EXPECT_EQ(verify::family_from_name("no-such-family"), nullptr);
}

// The files of verify's side (verify/, and models/<family>/*_verify.* and *_forward.cc) include
// nothing of convert's side: not models/family.h, not a family's table or config mapping.
TEST(FamilyRegistry, VerifySideIncludesNoConversionTable) {
  const fs::path root = TENSORFERRY_SOURCE_DIR;
  const std::regex include(R"re(#include\s+"([^"]+)")re");
  auto verify_side = [](const fs::path& p) {
    const std::string name = p.filename().string();
    return name.find("_verify.") != std::string::npos ||
           name.find("_forward.") != std::string::npos;
  };
  int checked = 0;
  for (const auto& e : fs::recursive_directory_iterator(root / "models")) {
    if (!e.is_regular_file() || !verify_side(e.path())) continue;
    std::ifstream in(e.path());
    std::string line;
    while (std::getline(in, line)) {
      std::smatch m;
      if (!std::regex_search(line, m, include)) continue;
      const std::string header = m[1];
      const bool allowed = header.starts_with("verify/") || header.starts_with("core/") ||
                           (header.starts_with("models/") && verify_side(fs::path(header)));
      EXPECT_TRUE(allowed) << e.path() << " includes " << header;
    }
    ++checked;
  }
  EXPECT_GE(checked, 6);  // gpt2, bert, llama: a reading and a forward each
  for (const auto& e : fs::recursive_directory_iterator(root / "verify")) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path());
    std::string line;
    while (std::getline(in, line)) {
      std::smatch m;
      if (!std::regex_search(line, m, include)) continue;
      EXPECT_FALSE(std::string(m[1]).starts_with("models/")) << e.path() << " includes " << m[1];
    }
  }
}

}  // namespace
}  // namespace tensorferry
