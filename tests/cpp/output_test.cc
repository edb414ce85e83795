#include "core/output.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/output_lock.h"
#include "core/output_space.h"
#include "formats/sharding.h"

namespace tensorferry {
namespace {
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/tensorferry-test-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

size_t count_entries(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(AtomicOutput, NothingVisibleUntilCommit) {
  TempDir tmp;
  const fs::path target = tmp.path() / "out.bin";
  {
    AtomicOutput out(target, AtomicOutput::Kind::kFile, false);
    OutputFile file(out.staging_path().string());
    file.write(std::string_view("hello"));
    file.close();
    EXPECT_FALSE(fs::exists(target));
  }  // destroyed without commit
  EXPECT_FALSE(fs::exists(target));
  EXPECT_EQ(count_entries(tmp.path()), 0u);
}

TEST(AtomicOutput, CommitPublishesAndRefusesOverwriteWithoutForce) {
  TempDir tmp;
  const fs::path target = tmp.path() / "out.bin";
  for (const char* text : {"one", "two"}) {
    AtomicOutput out(target, AtomicOutput::Kind::kFile, /*force=*/true);
    OutputFile file(out.staging_path().string());
    file.write(std::string_view(text));
    file.close();
    out.commit();
    EXPECT_EQ(read_text(target), text);
  }
  try {
    AtomicOutput refused(target, AtomicOutput::Kind::kFile, false);
    FAIL() << "existing output was not refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUsage);
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos);
  }
  EXPECT_EQ(count_entries(tmp.path()), 1u);
}

TEST(AtomicOutput, ReplacesDirectoryAtomically) {
  TempDir tmp;
  const fs::path target = tmp.path() / "model";
  for (const char* text : {"old", "new"}) {
    AtomicOutput out(target, AtomicOutput::Kind::kDirectory, true);
    std::ofstream(out.staging_path() / "weights") << text;
    out.commit();
  }
  EXPECT_EQ(read_text(target / "weights"), "new");
  EXPECT_EQ(count_entries(tmp.path()), 1u);
}

TEST(AtomicOutput, RemovesTemporariesOfDeadProcesses) {
  TempDir tmp;
  const fs::path target = tmp.path() / "model";
  // A pid that cannot be running: beyond pid_max on Linux.
  fs::create_directory(tmp.path() / ".model.tensorferry-tmp-999999999");
  fs::create_directory(tmp.path() / (".model.tensorferry-tmp-" + std::to_string(::getpid())));
  AtomicOutput::remove_stale_temporaries(target);
  EXPECT_FALSE(fs::exists(tmp.path() / ".model.tensorferry-tmp-999999999"));
  EXPECT_TRUE(fs::exists(tmp.path() / (".model.tensorferry-tmp-" + std::to_string(::getpid()))));
}

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

bool is_model_ckpt_data(const std::string& name) { return name.rfind("model.ckpt.data-", 0) == 0; }

TEST(SideBySidePublication, MarkerLivesWhileFilesArePublishedAndRetiresTheOldIndex) {
  TempDir tmp;
  const fs::path index = tmp.path() / "model.ckpt.index";
  touch(index);
  touch(tmp.path() / "model.ckpt.data-00000-of-00003");  // an earlier output's other shards
  touch(tmp.path() / "other.ckpt.data-00000-of-00001");
  const fs::path marker =
      tmp.path() / (".model.ckpt.index.tensorferry-publishing-" + std::to_string(::getpid()));
  SideBySidePublication publication(index, is_model_ckpt_data);
  AtomicOutput new_index(index, AtomicOutput::Kind::kFile, /*force=*/true);
  OutputFile(new_index.staging_path().string()).close();
  const fs::path ours = tmp.path() / "model.ckpt.data-00000-of-00001";
  publication.publish(
      &new_index,
      [&] {
        EXPECT_TRUE(fs::exists(marker));
        EXPECT_FALSE(fs::exists(index));  // gone before any data file is replaced
        touch(ours);
      },
      {ours}, /*force=*/true);
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_TRUE(fs::exists(index));
  EXPECT_TRUE(fs::exists(ours));
  // --force: the earlier output's shards the new one does not use go; other prefixes stay.
  EXPECT_FALSE(fs::exists(tmp.path() / "model.ckpt.data-00000-of-00003"));
  EXPECT_TRUE(fs::exists(tmp.path() / "other.ckpt.data-00000-of-00001"));
}

TEST(SideBySidePublication, RecoveryRemovesTheRemnantsOfADeadPublication) {
  TempDir tmp;
  const fs::path index = tmp.path() / "model.ckpt.index";
  const fs::path dead = tmp.path() / ".model.ckpt.index.tensorferry-publishing-999999999";
  const fs::path alive =
      tmp.path() / (".model.ckpt.index.tensorferry-publishing-" + std::to_string(::getpid()));

  // Killed with the index still missing: its data files and marker go, nothing else does.
  touch(dead);
  touch(tmp.path() / "model.ckpt.data-00000-of-00002");
  touch(tmp.path() / "model.ckpt.data-00001-of-00002");
  touch(tmp.path() / "other.ckpt.data-00000-of-00001");
  touch(tmp.path() / "notes.txt");
  const SideBySidePublication first(index, is_model_ckpt_data);  // recovers
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_FALSE(fs::exists(tmp.path() / "model.ckpt.data-00000-of-00002"));
  EXPECT_FALSE(fs::exists(tmp.path() / "model.ckpt.data-00001-of-00002"));
  EXPECT_TRUE(fs::exists(tmp.path() / "other.ckpt.data-00000-of-00001"));
  EXPECT_TRUE(fs::exists(tmp.path() / "notes.txt"));

  // Killed after the index was in place: the output is complete; only the marker goes.
  touch(dead);
  touch(index);
  touch(tmp.path() / "model.ckpt.data-00000-of-00001");
  const SideBySidePublication second(index, is_model_ckpt_data);  // recovers
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(index));
  EXPECT_TRUE(fs::exists(tmp.path() / "model.ckpt.data-00000-of-00001"));

  // A publication still under way (this process) is left alone.
  fs::remove(index);
  touch(alive);
  const SideBySidePublication third(index, is_model_ckpt_data);  // recovers
  EXPECT_TRUE(fs::exists(alive));
  EXPECT_TRUE(fs::exists(tmp.path() / "model.ckpt.data-00000-of-00001"));
}

TEST(MappedFile, SliceOutsideTheFileNamesFileAndOffset) {
  TempDir tmp;
  const fs::path p = tmp.path() / "small";
  std::ofstream(p) << "0123456789";
  auto file = MappedFile::open(p.string());
  EXPECT_EQ(file->slice(2, 3, "x").size(), 3u);
  try {
    file->slice(8, 5, "tensor data", "w");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_EQ(e.offset(), 8u);
    EXPECT_EQ(e.tensor(), "w");
    EXPECT_EQ(e.file(), p.string());
  }
  EXPECT_THROW(file->slice(UINT64_MAX, 2, "x"), Error);
}

TEST(Sharding, NamesAndAssignment) {
  EXPECT_EQ(shard_file_name("/a/model.safetensors", 0, 3), "/a/model-00001-of-00003.safetensors");
  EXPECT_TRUE(is_shard_numbering("00001-of-00003"));
  EXPECT_TRUE(is_shard_numbering("123456-of-999999"));
  EXPECT_FALSE(is_shard_numbering("0001-of-00003"));
  EXPECT_FALSE(is_shard_numbering("00001-of-0000x"));
  EXPECT_FALSE(is_shard_numbering("00001-00003"));
  EXPECT_TRUE(is_shard_file_of("/a/model.safetensors", "model-00002-of-00003.safetensors"));
  EXPECT_FALSE(is_shard_file_of("/a/model.safetensors", "model-00002-of-00003.bin"));
  EXPECT_FALSE(is_shard_file_of("/a/model.safetensors", "model.safetensors"));
  EXPECT_FALSE(is_shard_file_of("/a/model.safetensors", "model.safetensors.index.json"));
  EXPECT_FALSE(is_shard_file_of("/a/model.safetensors", "modelx-00002-of-00003.safetensors"));
  std::vector<TensorInfo> tensors(4);
  for (size_t i = 0; i < 4; ++i) tensors[i].nbytes = 40;
  tensors[2].nbytes = 500;  // larger than a shard: gets one of its own
  EXPECT_EQ(assign_shards(tensors, 100), (std::vector<size_t>{0, 0, 1, 2}));
  EXPECT_EQ(assign_shards(tensors, 0), (std::vector<size_t>{0, 0, 0, 0}));
}

TEST(Sharding, IndexRejectsPathsOutsideItsFolder) {
  TempDir tmp;
  const fs::path index = tmp.path() / "model.safetensors.index.json";
  std::ofstream(index) << R"({"metadata": {}, "weight_map": {"a": "../../etc/passwd"}})";
  try {
    read_shard_index(index.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_EQ(e.tensor(), "a");
  }
  std::ofstream(index, std::ios::trunc) << R"({"weight_map": [1, 2]})";
  EXPECT_THROW(read_shard_index(index.string()), Error);
  std::ofstream(index, std::ios::trunc)
      << R"({"weight_map": {"a": "x.safetensors"}, "metadata": {"total_size": 12}})";
  const ShardIndex parsed = read_shard_index(index.string());
  EXPECT_EQ(parsed.total_size, 12u);
  EXPECT_EQ(parsed.files, std::vector<std::string>{"x.safetensors"});
}

TEST(OutputLock, ASecondWriterOfTheSameNameIsRefusedUntilTheFirstIsDone) {
  TempDir tmp;
  const fs::path output = tmp.path() / "sub" / "model.ckpt";
  const fs::path lock_file = tmp.path() / "sub" / ".model.ckpt.tensorferry-lock";
  {
    const OutputLock first(output);
    EXPECT_EQ(first.lock_path(), lock_file);
    EXPECT_TRUE(fs::exists(lock_file));  // the folder was created for it
    // flock(2) locks belong to an open file description, so a second lock in this process
    // conflicts just as one in another process does.
    try {
      const OutputLock second(tmp.path() / "sub" / "model.ckpt/");
      FAIL() << "a second lock on the same output was granted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kIo);
      EXPECT_NE(e.message().find("another tensorferry process (pid " + std::to_string(::getpid())),
                std::string::npos)
          << e.what();
    }
    const OutputLock other_name(tmp.path() / "sub" / "other.ckpt");  // names do not interfere
  }
  EXPECT_FALSE(fs::exists(lock_file));  // removed by its holder
  const OutputLock again(output);
}

TEST(OutputLock, ALockFileLeftByAKilledRunIsTakenOver) {
  TempDir tmp;
  const fs::path output = tmp.path() / "out.safetensors";
  std::ofstream(OutputLock::lock_path_of(output)) << "999999999\n";  // no process holds it
  { const OutputLock lock(output); }
  EXPECT_EQ(count_entries(tmp.path()), 0u);
}

TEST(OutputSpace, RefusesExpansionBeyondTheFactorUnlessAllowed) {
  TempDir tmp;
  OutputSpaceRequest request{tmp.path() / "out.safetensors", 0, 4096, "in.pt", false};
  request.output_bytes = kExpansionFloor + 1;  // 16 Ki times the input
  try {
    check_output_space(request);
    FAIL() << "expansion not refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_EQ(e.file(), "in.pt");
    EXPECT_NE(e.message().find("--allow-expansion"), std::string::npos) << e.what();
  }
  request.allow_expansion = true;
  EXPECT_NO_THROW(check_output_space(request));  // /tmp has 64 MiB free
  request.allow_expansion = false;
  request.output_bytes = kExpansionFloor;  // small outputs are never refused for expansion
  EXPECT_NO_THROW(check_output_space(request));
  request.input_bytes = kExpansionFloor;
  request.output_bytes = kExpansionFloor * kMaxExpansion;  // exactly the factor
  EXPECT_NO_THROW(check_output_space(request));
  EXPECT_EQ(count_entries(tmp.path()), 0u);
}

TEST(OutputSpace, RefusesAnOutputLargerThanTheFreeSpace) {
  TempDir tmp;
  const fs::path output = tmp.path() / "not" / "yet" / "there.h5";  // statvfs of /tmp
  const uint64_t free = free_bytes_for(output);
  ASSERT_GT(free, 0u);
  OutputSpaceRequest request{output, free + (uint64_t{1} << 30), free + (uint64_t{1} << 30),
                             "in.safetensors", false};
  try {
    check_output_space(request);
    FAIL() << "an output larger than the free space was not refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(e.message().find("free"), std::string::npos) << e.what();
  }
  EXPECT_EQ(count_entries(tmp.path()), 0u);  // nothing created, not even the folder
}

TEST(OutputSpace, EstimateCountsEveryTensorAndItsRecord) {
  const std::vector<TensorInfo> tensors = {{"a", DType::kF32, {2}, 8}, {"bb", DType::kF32, {}, 4}};
  EXPECT_EQ(estimate_output_bytes(tensors), 8 + 4 + 2 * kRecordAllowance + 1 + 2);
  const std::vector<TensorInfo> huge = {{"a", DType::kF32, {}, UINT64_MAX},
                                        {"b", DType::kF32, {}, UINT64_MAX}};
  EXPECT_EQ(estimate_output_bytes(huge), UINT64_MAX);  // saturates rather than wrapping
}

}  // namespace
}  // namespace tensorferry
