// The shared input checks of issue 13 (core/input_file.h, core/text_nesting.h, core/limits.h):
// special files refused without blocking, the folder link rule, nesting bounded with an offset,
// dimensions that fit int64. The end-to-end cases are in tests/python/torch/test_hostile_paths.py.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/input_file.h"
#include "core/limits.h"
#include "core/mapped_file.h"
#include "core/text_nesting.h"
#include "formats/tf_bundle/checkpoint_state.h"

namespace tensorferry {
namespace {
namespace fs = std::filesystem;

class HostileInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "hostile_inputs.XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override {
    set_follow_symlinks(false);
    fs::remove_all(dir_);
  }
  fs::path write(const fs::path& relative, const std::string& text) {
    const fs::path p = dir_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  fs::path dir_;
};

template <typename F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no error";
  return Error(ErrorKind::kUsage, "none");
}

TEST_F(HostileInputs, SpecialFilesAreBadInputWithoutBlocking) {
  const fs::path fifo = dir_ / "model.safetensors";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {fifo.string(), std::string("/dev/null")}) {
    const Error e = error_of([&] { MappedFile::open(path); });  // would block on the FIFO
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    EXPECT_EQ(error_of([&] { read_input_text(path, 100, "x"); }).kind(), ErrorKind::kBadInput);
  }
  EXPECT_EQ(error_of([&] { find_in_folder(dir_.string(), "model.safetensors"); }).kind(),
            ErrorKind::kBadInput);
  EXPECT_EQ(error_of([&] { MappedFile::open((dir_ / "absent").string()); }).kind(), ErrorKind::kIo);
  EXPECT_FALSE(find_in_folder(dir_.string(), "absent").has_value());
}

TEST_F(HostileInputs, TooLargeTextIsRefusedBeforeReading) {
  const fs::path p = write("config.json", std::string(1000, ' '));
  const Error e = error_of([&] { read_input_text(p.string(), 999, "the config"); });
  EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
  EXPECT_EQ(read_input_text(p.string(), 1000, "the config").size(), 1000u);
}

TEST_F(HostileInputs, LinksAreFollowedOnlyWithinTheFolder) {
  const fs::path model = dir_ / "model";
  write("model/sub/vocab.json", "{}");
  write("outside.json", "{}");
  fs::create_symlink("sub/vocab.json", model / "inside.json");
  fs::create_symlink("../outside.json", model / "outside.json");
  fs::create_symlink("/etc/passwd", model / "passwd.json");
  fs::create_symlink("loop", model / "loop");
  EXPECT_EQ(find_in_folder(model.string(), "inside.json"), (model / "inside.json").string());
  for (const char* name : {"outside.json", "passwd.json", "loop"}) {
    const Error e = error_of([&] { find_in_folder(model.string(), name); });
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << name;
    EXPECT_EQ(e.file(), (model / name).string());
  }
  set_follow_symlinks(true);
  EXPECT_TRUE(find_in_folder(model.string(), "outside.json").has_value());
}

TEST_F(HostileInputs, HubSnapshotsMayLinkIntoTheirBlobs) {
  const fs::path repo = dir_ / "models--org--name";
  write("models--org--name/blobs/abc", "{}");
  write("models--org--other/blobs/def", "{}");
  const fs::path snapshot = repo / "snapshots" / "rev1";
  fs::create_directories(snapshot);
  fs::create_symlink("../../blobs/abc", snapshot / "config.json");
  fs::create_symlink("../../../models--org--other/blobs/def", snapshot / "vocab.json");
  EXPECT_TRUE(find_in_folder(snapshot.string(), "config.json").has_value());
  EXPECT_EQ(error_of([&] { find_in_folder(snapshot.string(), "vocab.json"); }).kind(),
            ErrorKind::kBadInput);
}

TEST(TextNesting, DepthIsBoundedWithTheOffset) {
  const std::string deep = "{\"a\": " + std::string(200, '[') + std::string(200, ']') + "}";
  const Error e = error_of([&] { check_nesting(deep, kJsonNesting, "f.json", 10); });
  EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
  // The outer object is level 1, so the 128th '[' (at 6 + 127) is the first beyond 128.
  EXPECT_EQ(e.offset(), std::optional<uint64_t>(10 + 6 + 127));
  // Brackets inside strings (escaped quotes included) and comments do not count.
  const std::string quoted = "{\"k\": \"" + std::string(500, '[') + "\\\"\", \"x\": 1}";
  EXPECT_EQ(check_nesting(quoted, kJsonNesting, "f.json"), 2u);
  const std::string commented = "# " + std::string(500, '{') + "\nmodel_checkpoint_path: \"a\"";
  EXPECT_EQ(check_nesting(commented, kProtoTextNesting, "checkpoint"), 0u);
  EXPECT_EQ(check_nesting("{}", kJsonNesting, "f"), 0u);
  EXPECT_EQ(check_nesting("{\"a\": [1, 2], \"b\": {\"c\": 1, \"d\": 2}}", kJsonNesting, "f"), 2u);
}

TEST_F(HostileInputs, DeepCheckpointStateFileIsBadInput) {
  std::string text = "model_checkpoint_path: \"m\"\n";
  for (int i = 0; i < 30000; ++i) text += "x { ";
  text += std::string(30000, '}');
  const fs::path p = write("checkpoint", text);
  const Error e = error_of([&] { tf_bundle::read_checkpoint_state(p.string()); });
  EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
  ASSERT_TRUE(e.offset().has_value());
  EXPECT_EQ(*e.offset(), 27u + 4 * 128 + 2);  // the brace of the 129th "x { "
}

TEST(TensorLimits, DimensionsMustFitInt64) {
  EXPECT_NO_THROW(check_tensor_metadata("w", {0, uint64_t{1} << 62}, "f", 8));
  const Error e = error_of([] { check_tensor_metadata("w", {0, uint64_t{1} << 63}, "f", 8); });
  EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
  EXPECT_EQ(e.tensor(), "w");
  EXPECT_EQ(e.offset(), std::optional<uint64_t>(8));
  EXPECT_NO_THROW(check_tensor_count(kMaxTensorCount, "f"));
  EXPECT_EQ(error_of([] { check_tensor_count(kMaxTensorCount + 1, "f"); }).kind(),
            ErrorKind::kBadInput);
}

}  // namespace
}  // namespace tensorferry
