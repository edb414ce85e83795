// Writing outputs all-or-nothing.
//
// Every output (a file or a model folder) is first written under a hidden temporary sibling,
// fsynced, and only then renamed over its final name; a crash at any point leaves either the
// previous output intact or no output at all. Stale temporaries of dead processes are removed the
// next time the same output is written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace tensorferry {

// A file written front to back through a buffer, with positioned writes for patching headers.
class OutputFile {
 public:
  // Creates `path`, which must not exist yet.
  explicit OutputFile(std::string path);
  // Writes at least this large bypass the buffer (no copy); smaller ones are gathered.
  static constexpr size_t kDirectWriteSize = 4 << 20;
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t position() const { return position_; }

  void write(std::span<const std::byte> bytes);
  void write(std::string_view text);
  void write_zeros(uint64_t count);
  // Overwrites bytes already written (flushes the buffer first).
  void write_at(uint64_t offset, std::span<const std::byte> bytes);
  // Flushes, fsyncs and closes. Must be called before the output is committed.
  void close();

 private:
  void flush();
  void start_writeback();
  static constexpr uint64_t kWritebackWindow = 32 << 20;

  std::string path_;
  int fd_ = -1;
  uint64_t position_ = 0;
  uint64_t writeback_started_ = 0;  // bytes before this offset are being written back
  std::vector<std::byte> buffer_;
};

class AtomicOutput {
 public:
  enum class Kind { kFile, kDirectory };
  // Refuses (Error kUsage) when `final_path` exists and `force` is false.
  AtomicOutput(const std::filesystem::path& final_path, Kind kind, bool force);
  ~AtomicOutput();  // removes the staging path unless committed
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  // Where to write: a path for a file, or an existing empty directory to fill.
  const std::filesystem::path& staging_path() const { return staging_; }
  const std::filesystem::path& final_path() const { return final_; }

  // Publishes the staged output under its final name, replacing a previous one (force).
  void commit();
  // Publishes it under another name in the same folder instead (convert --keep-failed: a result
  // that failed its verify goes to DST.verify-failed), replacing what is there.
  void commit_as(const std::filesystem::path& other);

  // Removes temporaries of `final_path` left behind by processes that no longer run.
  static void remove_stale_temporaries(const std::filesystem::path& final_path);

  // The constructor's refusal of an existing output without --force, for planning ahead of it.
  static void refuse_existing(const std::filesystem::path& final_path, bool force);

 private:
  std::filesystem::path final_;
  std::filesystem::path staging_;
  Kind kind_;
  bool committed_ = false;
};

// Publishing an output whose files sit side by side under one name rather than in a folder (a TF
// bundle prefix: PREFIX.data-* + PREFIX.index; a sharded file name: NAME-0000K-of-0000N.EXT +
// NAME.EXT.index.json). Such files cannot be renamed into place in one step, so the index is the
// commit point: the data files go first, the index last, and an earlier index (--force) is removed
// before the first new data file replaces an old one. While that happens a marker file
// `.INDEX.tensorferry-publishing-PID` exists. A run killed in between leaves data files without an
// index, which no loader accepts; the next run writing the same output finds the marker of a dead
// process and, when the index is still missing, removes the output's data files with it, so the
// destination holds nothing rather than an unloadable remnant (and needs no --force).
class SideBySidePublication {
 public:
  // Whether a file name in the index's folder is one of this output's data files. Only such
  // names are ever removed.
  using IsDataFile = std::function<bool(const std::string& file_name)>;

  // Cleans up after killed publications of `index_path` (markers of processes that no longer
  // run): without the index, every data file goes; with it, only the marker. Construct before
  // the outputs, so that what a killed run left is not taken for an existing output.
  SideBySidePublication(const std::filesystem::path& index_path, IsDataFile is_data_file);

  // Whether the index or any data file of this output exists.
  bool exists() const;

  // Writes the marker (durably), removes the previous index and the files in `superseded` (an
  // earlier output of another form under the same name, with `force` only), runs `commit_data`
  // (which renames the data files into place), commits `index` and removes the marker. With
  // `force`, data files of an earlier output under the same name that `ours` does not list
  // (another shard count) are removed afterwards; they would otherwise linger beside the new
  // output.
  //
  // `index` null publishes an output of one file under the name that could also have been
  // written as index + data files (`out.safetensors` where `out.safetensors.index.json` and its
  // shards were): `commit_data` renames that file into place, and with `force` the earlier
  // index and every data file go, so that exactly the new output remains.
  void publish(AtomicOutput* index, const std::function<void()>& commit_data,
               const std::vector<std::filesystem::path>& ours, bool force,
               const std::vector<std::filesystem::path>& superseded = {});

 private:
  void remove_data_files_except(const std::set<std::string>& keep) const;
  std::filesystem::path index_;
  IsDataFile is_data_file_;
};

// `output` as an absolute, normalised path naming the output itself ("out/" -> ".../out").
std::filesystem::path absolute_output_path(const std::filesystem::path& output);

// fsyncs a directory so that a rename inside it is durable.
void sync_directory(const std::filesystem::path& dir);

}  // namespace tensorferry
