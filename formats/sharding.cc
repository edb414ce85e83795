#include "formats/sharding.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/bytes.h"
#include "core/error.h"
#include "core/input_file.h"
#include "core/json_input.h"
#include "core/limits.h"
#include "core/mapped_file.h"
#include "core/output.h"

namespace tensorferry {
namespace fs = std::filesystem;
using nlohmann::json;

std::string shard_file_name(const std::string& single_file_name, size_t index, size_t count) {
  const fs::path p(single_file_name);
  char numbers[64];
  std::snprintf(numbers, sizeof numbers, "-%05zu-of-%05zu", index + 1, count);
  return (p.parent_path() / (p.stem().string() + numbers + p.extension().string())).string();
}

bool is_shard_numbering(std::string_view s) {
  auto is_number = [](std::string_view n) {
    return n.size() >= 5 &&
           std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const size_t of = s.find("-of-");
  return of != std::string_view::npos && is_number(s.substr(0, of)) && is_number(s.substr(of + 4));
}

bool is_shard_file_of(const std::string& single_file_name, std::string_view file_name) {
  const fs::path p(single_file_name);
  const std::string stem = p.stem().string() + "-";
  const std::string ext = p.extension().string();
  return file_name.size() > stem.size() + ext.size() && file_name.starts_with(stem) &&
         file_name.ends_with(ext) &&
         is_shard_numbering(
             file_name.substr(stem.size(), file_name.size() - stem.size() - ext.size()));
}

std::vector<size_t> assign_shards(const std::vector<TensorInfo>& tensors, uint64_t shard_size) {
  std::vector<size_t> shard_of(tensors.size(), 0);
  if (shard_size == 0) return shard_of;
  size_t shard = 0;
  uint64_t used = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (used > 0 && used + tensors[i].nbytes > shard_size) {
      ++shard;
      used = 0;
    }
    shard_of[i] = shard;
    used += tensors[i].nbytes;
  }
  return shard_of;
}

ShardIndex read_shard_index(const std::string& index_path) {
  const json doc =
      parse_json_input(read_input_text(index_path, kMaxShardIndexBytes, "the index"), index_path);
  if (!doc.is_object() || !doc.contains("weight_map") || !doc["weight_map"].is_object())
    throw_bad_input(index_path, std::nullopt, "index has no \"weight_map\" object");
  check_tensor_count(doc["weight_map"].size(), index_path);
  ShardIndex index;
  index.path = index_path;
  std::set<std::string> seen_files;
  for (const auto& [tensor, value] : doc["weight_map"].items()) {
    if (!value.is_string())
      throw_bad_input(index_path, std::nullopt, "weight_map value is not a file name", tensor);
    const std::string shard = value.get<std::string>();
    // A shard is a sibling of the index: never a path that could reach elsewhere.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == ".." ||
        shard.find('\0') != std::string::npos)
      throw_bad_input(index_path, std::nullopt,
                      "weight_map names \"" + shard + "\", which is not a plain file name", tensor);
    if (seen_files.insert(shard).second) index.files.push_back(shard);
    index.weight_map.emplace_back(tensor, shard);
  }
  if (doc.contains("metadata") && doc["metadata"].is_object()) {
    for (const auto& [key, value] : doc["metadata"].items()) {
      if (key == "total_size" && value.is_number_unsigned())
        index.total_size = value.get<uint64_t>();
      else if (value.is_string())
        index.metadata[key] = value.get<std::string>();
      else
        index.metadata[key] = value.dump();
    }
  }
  if (index.files.empty()) throw_bad_input(index_path, std::nullopt, "index lists no tensors");
  // Shard order, as transformers reads them (`sorted(set(weight_map.values()))`): the JSON map
  // above iterates tensor names alphabetically, which says nothing about where they are.
  std::sort(index.files.begin(), index.files.end());
  return index;
}

namespace {

class ShardedReader final : public CheckpointReader {
 public:
  ShardedReader(ShardIndex index, std::vector<std::unique_ptr<CheckpointReader>> shards)
      : index_(std::move(index)), shards_(std::move(shards)) {
    std::unordered_map<std::string, std::string> expected(index_.weight_map.begin(),
                                                          index_.weight_map.end());
    std::set<std::string> seen;
    for (size_t s = 0; s < shards_.size(); ++s) {
      const auto& entries = shards_[s]->tensors();
      for (size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        auto it = expected.find(e.name);
        if (it == expected.end())
          throw_bad_input(shards_[s]->path(), std::nullopt,
                          "tensor is in this shard but not in the index " + index_.path, e.name);
        if (it->second != index_.files[s])
          throw_bad_input(shards_[s]->path(), std::nullopt,
                          "the index " + index_.path + " says this tensor is in " + it->second,
                          e.name);
        if (!seen.insert(e.name).second)
          throw_bad_input(shards_[s]->path(), std::nullopt, "tensor appears twice", e.name);
        entries_.push_back(e);
        where_.emplace_back(s, i);
      }
    }
    for (const auto& [tensor, file] : index_.weight_map)
      if (!seen.count(tensor))
        throw_bad_input(
            index_.path, std::nullopt,
            "the index lists this tensor in " + file + " but that shard does not contain it",
            tensor);
  }

  std::string format() const override { return shards_.front()->format(); }
  std::string path() const override { return index_.path; }
  const std::vector<TensorEntry>& tensors() const override { return entries_; }
  std::span<const std::byte> read(size_t index, std::vector<std::byte>& scratch) override {
    const auto [s, i] = where_.at(index);
    return shards_[s]->read(i, scratch);
  }
  bool stream(size_t index, const PieceConsumer& consume,
              std::vector<std::byte>& scratch) override {
    const auto [s, i] = where_.at(index);
    return shards_[s]->stream(i, consume, scratch);
  }
  void release(size_t index) override {
    const auto [s, i] = where_.at(index);
    shards_[s]->release(i);
  }
  std::map<std::string, std::string> metadata() const override {
    auto m = shards_.front()->metadata();
    for (const auto& [k, v] : index_.metadata) m["index." + k] = v;
    return m;
  }

 private:
  ShardIndex index_;
  std::vector<std::unique_ptr<CheckpointReader>> shards_;
  std::vector<TensorEntry> entries_;
  std::vector<std::pair<size_t, size_t>> where_;
};

class ShardedWriter final : public CheckpointWriter {
 public:
  using Factory =
      std::function<std::unique_ptr<CheckpointWriter>(const std::string&, const WriterOptions&)>;
  ShardedWriter(std::string path, WriterOptions options, Factory create)
      : path_(std::move(path)), options_(std::move(options)), create_(std::move(create)) {}

  void begin(const std::vector<TensorInfo>& tensors) override {
    shard_of_ = assign_shards(tensors, options_.shard_size);
    const size_t count = shard_of_.empty() ? 1 : shard_of_.back() + 1;
    WriterOptions shard_options = options_;
    shard_options.shard_size = 0;
    std::vector<std::vector<TensorInfo>> per_shard(count);
    for (size_t i = 0; i < tensors.size(); ++i) {
      local_index_.push_back(per_shard[shard_of_[i]].size());
      per_shard[shard_of_[i]].push_back(tensors[i]);
    }
    // What a killed earlier run left under this name goes first (core/output.h).
    publication_ = std::make_unique<SideBySidePublication>(
        index_path(),
        [path = path_](const std::string& name) { return is_shard_file_of(path, name); });
    if (!options_.force) refuse_other_form(count > 1);
    if (count == 1) {
      writers_.push_back(create_(path_, shard_options));
      writers_.back()->begin(per_shard[0]);
      return;
    }
    index_output_ =
        std::make_unique<AtomicOutput>(index_path(), AtomicOutput::Kind::kFile, options_.force);
    json weight_map = json::object();
    for (size_t s = 0; s < count; ++s) {
      const std::string shard_path = shard_file_name(path_, s, count);
      writers_.push_back(create_(shard_path, shard_options));
      writers_.back()->begin(per_shard[s]);
      for (const auto& t : per_shard[s]) {
        weight_map[t.name] = fs::path(shard_path).filename().string();
        total_size_ += t.nbytes;
      }
    }
    weight_map_ = std::move(weight_map);
  }

  void write(size_t index, std::span<const std::byte> bytes) override {
    writers_.at(shard_of_.at(index))->write(local_index_.at(index), bytes);
  }

  void finish() override {
    for (auto& w : writers_) w->finish();
  }

  void commit() override {
    finish();  // every shard on the disk before the first is published
    if (!index_output_) {
      // Over an earlier sharded output (--force), the single file retires it (core/output.h).
      if (options_.force && publication_->exists())
        publication_->publish(
            nullptr, [&] { writers_.front()->commit(); }, {}, true);
      else
        writers_.front()->commit();
      return;
    }
    json doc;
    doc["metadata"] = json::object();
    doc["metadata"]["total_size"] = total_size_;
    for (const auto& [k, v] : options_.metadata) doc["metadata"][k] = v;
    doc["weight_map"] = weight_map_;
    {
      OutputFile out(index_output_->staging_path().string());
      out.write(doc.dump(2) + "\n");
      out.close();
    }
    // Shards first, the index last: until the index exists no loader sees a sharded checkpoint
    // (core/output.h).
    std::vector<fs::path> ours;
    for (size_t s = 0; s < writers_.size(); ++s)
      ours.emplace_back(shard_file_name(path_, s, writers_.size()));
    publication_->publish(index_output_.get(),
                          [&] {
                            for (auto& w : writers_) w->commit();
                          },
                          ours, options_.force, {path_});
  }

 private:
  std::string index_path() const { return path_ + ".index.json"; }

  // One name holds one output: a single file where the index of a sharded one is, or the
  // reverse, is an existing output too.
  void refuse_other_form(bool sharded) const {
    const std::string other = sharded ? path_ : index_path();
    std::error_code ec;
    if (fs::exists(fs::symlink_status(other, ec)))
      throw Error(ErrorKind::kUsage,
                  std::string("output exists as ") +
                      (sharded ? "a single file" : "a sharded checkpoint (" + other + ")") +
                      "; pass --force to replace it",
                  fs::absolute(path_).lexically_normal().string());
  }

  std::string path_;
  WriterOptions options_;
  Factory create_;
  std::vector<size_t> shard_of_;
  std::vector<size_t> local_index_;
  std::vector<std::unique_ptr<CheckpointWriter>> writers_;
  std::unique_ptr<SideBySidePublication> publication_;
  std::unique_ptr<AtomicOutput> index_output_;
  json weight_map_;
  uint64_t total_size_ = 0;
};

}  // namespace

std::unique_ptr<CheckpointReader> open_sharded(
    const std::string& index_path,
    const std::function<std::unique_ptr<CheckpointReader>(const std::string&)>& open_shard) {
  ShardIndex index = read_shard_index(index_path);
  const fs::path dir = fs::path(index_path).parent_path();
  std::vector<std::unique_ptr<CheckpointReader>> shards;
  for (const auto& file : index.files) {
    // The shard is found through the index's folder: a special file or a link leaving the
    // folder is refused there (core/input_file.h). A shard the folder lacks is a fault of the
    // index (exit 3), not of the operating system; the offset is where the index names it.
    const auto shard_path = find_in_folder(dir.string(), file);
    if (!shard_path) {
      const auto index_file = MappedFile::open(index_path);
      const auto text = as_chars(index_file->bytes());
      const size_t at = text.find("\"" + file + "\"");
      throw_bad_input(index_path,
                      at == std::string_view::npos ? std::nullopt : std::optional<uint64_t>(at),
                      "weight_map names the shard \"" + file + "\", which does not exist");
    }
    shards.push_back(open_shard(*shard_path));
  }
  return std::make_unique<ShardedReader>(std::move(index), std::move(shards));
}

std::unique_ptr<CheckpointWriter> create_sharded_writer(
    const std::string& single_file_path, const WriterOptions& options,
    const std::function<std::unique_ptr<CheckpointWriter>(const std::string&,
                                                          const WriterOptions&)>& create_shard) {
  return std::make_unique<ShardedWriter>(single_file_path, options, create_shard);
}

}  // namespace tensorferry
