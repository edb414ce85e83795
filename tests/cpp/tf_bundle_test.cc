// Unit tests of the TensorFlow bundle pieces: varints, the LevelDB table, string tensors, the
// object graph, roles, the state file, and the reader's behaviour on damaged files. Interop with
// real TensorFlow is tested in tests/python/tf/test_tf_bundle.py.
#include "formats/tf_bundle/tf_bundle.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/bytes.h"
#include "core/crc.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/tf_bundle/bundle.pb.h"
#include "formats/tf_bundle/bundle_files.h"
#include "formats/tf_bundle/checkpoint_state.h"
#include "formats/tf_bundle/object_graph_builder.h"
#include "formats/tf_bundle/string_tensor.h"
#include "formats/tf_bundle/table_reader.h"
#include "formats/tf_bundle/table_writer.h"
#include "formats/tf_bundle/tensor_roles.h"
#include "formats/tf_bundle/trackable_object_graph.pb.h"
#include "formats/tf_bundle/variable_names.h"
#include "formats/tf_bundle/varint.h"

namespace tensorferry::tf_bundle {
namespace {
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "tf_bundle_test.XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::vector<std::byte> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

void put_file(const std::string& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::byte> bytes_of(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

template <typename T>
std::vector<std::byte> le_bytes(std::initializer_list<T> values) {
  std::vector<std::byte> out(values.size() * sizeof(T));
  size_t i = 0;
  for (T v : values) store_le(out.data() + sizeof(T) * i++, v);
  return out;
}

// tensorferry's string encoding of `elements`.
std::vector<std::byte> encode_strings(const std::vector<std::string>& elements) {
  std::vector<std::byte> out;
  for (const auto& s : elements) {
    std::byte length[8];
    store_le(length, uint64_t{s.size()});
    out.insert(out.end(), length, length + 8);
    const auto b = as_bytes(s);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

struct TestTensor {
  std::string name;
  DType dtype;
  Shape shape;
  std::vector<std::byte> bytes;
};

void write_bundle(const std::string& prefix, const std::vector<TestTensor>& tensors,
                  WriterOptions options = {}, TfBundleOptions bundle = {}) {
  auto writer = create_tf_bundle_writer(prefix, options, bundle);
  std::vector<TensorInfo> infos;
  for (const auto& t : tensors) infos.push_back({t.name, t.dtype, t.shape, t.bytes.size()});
  writer->begin(infos);
  for (size_t i = 0; i < tensors.size(); ++i) writer->write(i, tensors[i].bytes);
  writer->commit();
}

std::map<std::string, std::vector<std::byte>> read_all(CheckpointReader& reader) {
  std::map<std::string, std::vector<std::byte>> out;
  std::vector<std::byte> scratch;
  for (size_t i = 0; i < reader.tensors().size(); ++i) {
    const auto bytes = reader.read(i, scratch);
    out[reader.tensors()[i].name].assign(bytes.begin(), bytes.end());
  }
  return out;
}

std::vector<TestTensor> sample_tensors() {
  return {
      {"dense/kernel", DType::kF32, {2, 3}, le_bytes<float>({0, 1, 2, 3, 4, 5})},
      {"dense/bias", DType::kBF16, {2}, le_bytes<uint16_t>({0x3f80, 0xc000})},
      {"words", DType::kString, {3}, encode_strings({"hello", "", std::string(300, 'z')})},
      {"empty", DType::kF64, {0, 4}, {}},
      {"global_step", DType::kI64, {}, le_bytes<int64_t>({7})},
      {"flags", DType::kBool, {2}, bytes_of({1, 0})},
  };
}

TEST(TfVarint, RoundTripsAndRejectsOverflow) {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 300ull, 1ull << 32, ~0ull}) {
    std::string s;
    put_varint64(s, v);
    EXPECT_EQ(s.size(), varint_length(v));
    auto in = as_bytes(s);
    EXPECT_EQ(get_varint64(in), v);
    EXPECT_TRUE(in.empty());
  }
  std::string s;
  put_varint64(s, 300);
  EXPECT_EQ(s, "\xac\x02");
  const std::string too_big("\xff\xff\xff\xff\x1f", 5);  // 2^36 - 1
  auto in = as_bytes(too_big);
  EXPECT_FALSE(get_varint32(in).has_value());
  const std::string truncated("\x80\x80", 2);
  in = as_bytes(truncated);
  EXPECT_FALSE(get_varint64(in).has_value());
  const std::string eleven = std::string(10, '\x80') + '\x01';
  in = as_bytes(eleven);
  EXPECT_FALSE(get_varint64(in).has_value());
}

TEST(TfTable, SeparatorsAreShortAndInRange) {
  std::string start = "abcd";
  shorten_separator(start, "abzz");
  EXPECT_EQ(start, "abd");
  start = "abc";
  shorten_separator(start, "abcdef");  // prefix: unchanged
  EXPECT_EQ(start, "abc");
  start = "abc";
  shorten_separator(start, "abd");  // c+1 == d: unchanged
  EXPECT_EQ(start, "abc");
  std::string key = "global_step";
  shorten_successor(key);
  EXPECT_EQ(key, "h");
  key = "\xff\xff";
  shorten_successor(key);
  EXPECT_EQ(key, "\xff\xff");
}

// The worked example of docs/formats/tf-bundle.md, whose bytes libleveldb accepted.
TEST(TfBundle, WritesTheDocumentedIndexBytes) {
  TempDir dir;
  TfBundleOptions bundle;
  bundle.write_state_file = false;
  write_bundle(dir / "ckpt",
               {{"a/kernel", DType::kF32, {2, 3}, le_bytes<float>({0, 1, 2, 3, 4, 5})},
                {"b/bias", DType::kF32, {3}, le_bytes<float>({0, 1, 2})},
                {"global_step", DType::kI64, {}, le_bytes<int64_t>({7})}},
               {}, bundle);
  std::string expected;
  auto hex = [&](const char* h) {
    for (size_t i = 0; h[i]; i += 3)
      expected.push_back(static_cast<char>(std::stoi(std::string(h + i, 2), nullptr, 16)));
  };
  hex("00 00 06 08 01 1a 02 08 01 ");
  hex("00 08 13 ");
  expected += "a/kernel";
  hex("08 01 12 08 12 02 08 02 12 02 08 03 28 18 35 c0 db 3d 17 ");
  hex("00 06 11 ");
  expected += "b/bias";
  hex("08 01 12 04 12 02 08 03 20 18 28 0c 35 e9 09 50 3f ");
  hex("00 0b 0d ");
  expected += "global_step";
  hex("08 09 12 00 20 24 28 08 35 bb d7 9f 11 ");
  hex("00 00 00 00 01 00 00 00 00 69 0f fc a7 ");
  hex("00 00 00 00 01 00 00 00 00 c0 f2 a1 b0 ");
  hex("00 01 02 68 00 64 00 00 00 00 01 00 00 00 00 77 f8 71 aa ");
  hex("69 08 76 0e ");
  expected += std::string(36, '\0');
  hex("57 fb 80 8b 24 75 47 db ");
  ASSERT_EQ(expected.size(), 185u);
  const auto index = file_bytes(dir / "ckpt.index");
  EXPECT_EQ(std::string(as_chars(index)), expected);
  EXPECT_EQ(fs::file_size(dir / "ckpt.data-00000-of-00001"), 44u);
  EXPECT_FALSE(fs::exists(dir / "checkpoint"));
}

TEST(TfTable, ManyKeysSpanRestartsAndBlocks) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> rows;
  for (int i = 0; i < 1000; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "layer_%04d/kernel", i);
    rows.emplace_back(key,
                      std::string(static_cast<size_t>(i % 37), static_cast<char>('a' + i % 26)));
  }
  {
    OutputFile out(dir / "table");
    TableWriter table(out, {.block_size = 512, .block_restart_interval = 16});
    for (const auto& [k, v] : rows) table.add(k, v);
    EXPECT_THROW(table.add("a", "out of order"), Error);
    table.finish();
    out.close();
  }
  auto file = MappedFile::open(dir / "table");
  const auto entries = read_table(*file);
  ASSERT_EQ(entries.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(entries[i].key, rows[i].first);
    EXPECT_EQ(as_chars(entries[i].value), rows[i].second);
  }
}

TEST(TfTable, LargeValueGetsItsOwnBlock) {
  TempDir dir;
  const std::string big(600, 'x');
  {
    OutputFile out(dir / "table");
    TableWriter table(out, {.block_size = 256, .block_restart_interval = 16});
    table.add("a", "1");
    table.add("b", big);
    table.add("c", "3");
    table.finish();
    out.close();
  }
  auto file = MappedFile::open(dir / "table");
  const auto entries = read_table(*file);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(as_chars(entries[1].value), big);
}

TEST(TfTable, RejectsBadMagicAndCompressedBlocks) {
  TempDir dir;
  {
    OutputFile out(dir / "table");
    TableWriter table(out);
    table.add("k", "v");
    table.finish();
    out.close();
  }
  auto bytes = file_bytes(dir / "table");
  auto flipped = bytes;
  flipped.back() ^= std::byte{1};
  put_file(dir / "bad_magic", flipped);
  try {
    read_table(*MappedFile::open(dir / "bad_magic"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
    EXPECT_NE(e.message().find("magic"), std::string::npos);
  }
  // Mark the data block (at offset 0) as Snappy-compressed, with a matching checksum.
  const size_t data_block_size = 3 + 1 + 1 + 8;  // entry "k"->"v", restarts
  auto snappy = bytes;
  snappy[data_block_size] = std::byte{kSnappyCompression};
  store_le(snappy.data() + data_block_size + 1,
           block_checksum(std::span(snappy.data(), data_block_size), kSnappyCompression));
  put_file(dir / "snappy", snappy);
  try {
    read_table(*MappedFile::open(dir / "snappy"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("Snappy"), std::string::npos) << e.what();
  }
}

TEST(TfStringTensor, EncodesLikeTensorFlowAndDecodes) {
  const std::vector<std::string> elements = {"a", "", std::string(200, 'q'),
                                             std::string("\0\xff", 2)};
  const auto encoded = encode_strings(elements);
  std::vector<std::byte> stored;
  const uint32_t crc = encode_string_tensor(encoded, elements.size(), [&](auto piece) {
    stored.insert(stored.end(), piece.begin(), piece.end());
  });
  // varints 1, 0, 200 (2 bytes), 2; the masked length checksum; the bytes.
  ASSERT_EQ(stored.size(), 5u + 4u + 203u);
  EXPECT_EQ(static_cast<uint8_t>(stored[2]), 0xc8);
  EXPECT_EQ(static_cast<uint8_t>(stored[3]), 0x01);
  uint32_t lengths_crc = 0;
  for (uint32_t len : {1u, 0u, 200u, 2u}) {
    std::byte b[4];
    store_le(b, len);
    lengths_crc = crc32c_extend(lengths_crc, b);
  }
  EXPECT_EQ(load_le<uint32_t>(stored.data() + 5), crc32c_mask(lengths_crc));
  EXPECT_EQ(crc32c_unmask(crc),
            crc32c_extend(lengths_crc, std::span(stored.data() + 5, stored.size() - 5)));

  const auto layout = parse_string_tensor(stored, elements.size());
  EXPECT_EQ(layout.encoded_size(), encoded.size());
  std::vector<std::byte> decoded;
  decode_string_tensor(stored, layout, crc, decoded);
  EXPECT_EQ(decoded, encoded);
  EXPECT_THROW(decode_string_tensor(stored, layout, crc ^ 1, decoded), Error);
  EXPECT_THROW(parse_string_tensor(stored, elements.size() + 1), Error);
  EXPECT_THROW(parse_string_tensor(std::span(stored).first(stored.size() - 1), elements.size()),
               Error);
  EXPECT_THROW(encode_string_tensor(std::span(encoded).first(encoded.size() - 1), elements.size(),
                                    [](auto) {}),
               Error);
}

TEST(TfBundle, RoundTripsEveryDtypeAndShards) {
  TempDir dir;
  std::vector<TestTensor> tensors = sample_tensors();
  for (const auto& info : all_dtypes()) {
    if (info.dtype == DType::kString) continue;
    std::vector<std::byte> bytes(info.size * 3);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * 37 + info.size);
    if (info.dtype == DType::kBool)
      for (auto& b : bytes) b &= std::byte{1};
    tensors.push_back({"dtype/" + std::string(info.name), info.dtype, {3}, bytes});
  }
  WriterOptions options;
  options.shard_size = 40;
  write_bundle(dir / "model.ckpt", tensors, options);
  size_t data_files = 0;
  for (const auto& f : fs::directory_iterator(dir.path()))
    data_files += prefix_of_data_file(f.path().string()).has_value();
  EXPECT_GT(data_files, 3u);

  for (const std::string& path :
       {dir / "model.ckpt", dir / "model.ckpt.index", dir.path().string()}) {
    auto reader = open_tf_bundle(path);
    const auto read = read_all(*reader);
    ASSERT_EQ(read.size(), tensors.size()) << path;
    for (const auto& t : tensors) EXPECT_EQ(read.at(t.name), t.bytes) << t.name;
    for (const auto& e : reader->tensors()) {
      const auto& t =
          *std::find_if(tensors.begin(), tensors.end(), [&](auto& x) { return x.name == e.name; });
      EXPECT_EQ(e.dtype, t.dtype);
      EXPECT_EQ(e.shape, t.shape);
      EXPECT_EQ(e.nbytes, t.bytes.size());
    }
  }
  EXPECT_EQ(read_checkpoint_state(dir / "checkpoint").model_checkpoint_path, "model.ckpt");
}

TEST(TfBundle, NumShardsOptionSpreadsData) {
  TempDir dir;
  TfBundleOptions bundle;
  bundle.num_shards = 3;
  std::vector<TestTensor> tensors;
  for (int i = 0; i < 9; ++i)
    tensors.push_back(
        {"t" + std::to_string(i), DType::kF32, {4}, std::vector<std::byte>(16, std::byte(i))});
  write_bundle(dir / "m", tensors, {}, bundle);
  for (int s = 0; s < 3; ++s) EXPECT_EQ(fs::file_size(data_file_name(dir / "m", s, 3)), 48u);
  EXPECT_EQ(read_all(*open_tf_bundle(dir / "m")).size(), 9u);
}

TEST(TfBundle, WriterIsAllOrNothingAndRefusesExistingOutput) {
  TempDir dir;
  {
    auto writer = create_tf_bundle_writer(dir / "m", {}, {});
    writer->begin({{"a", DType::kF32, {1}, 4}, {"b", DType::kF32, {1}, 4}});
    EXPECT_THROW(writer->write(1, le_bytes<float>({1})), Error);  // out of order
    writer->write(0, le_bytes<float>({1}));
    EXPECT_THROW(writer->write(1, le_bytes<double>({1})), Error);  // wrong size
    EXPECT_THROW(writer->commit(), Error);                         // b missing
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));  // nothing left behind, not even temporaries
  write_bundle(dir / "m", sample_tensors());
  EXPECT_THROW(write_bundle(dir / "m", sample_tensors()), Error);
  // --force with fewer shards removes the old shards' files.
  WriterOptions sharded;
  sharded.force = true;
  sharded.shard_size = 16;
  write_bundle(dir / "m", sample_tensors(), sharded);
  WriterOptions force;
  force.force = true;
  write_bundle(dir / "m", sample_tensors(), force);
  std::vector<std::string> names;
  for (const auto& f : fs::directory_iterator(dir.path())) names.push_back(f.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"checkpoint", "m.data-00000-of-00001", "m.index"}));
}

TEST(TfBundle, WriterRejectsWhatTensorFlowCannotHold) {
  TempDir dir;
  auto writer = create_tf_bundle_writer(dir / "m", {}, {});
  EXPECT_THROW(writer->begin({{"", DType::kF32, {1}, 4}}), Error);
  auto writer2 = create_tf_bundle_writer(dir / "m", {}, {});
  EXPECT_THROW(writer2->begin({{"a", DType::kF32, {1}, 4}, {"a", DType::kF32, {1}, 4}}), Error);
  auto writer3 = create_tf_bundle_writer(dir / "m", {}, {});
  EXPECT_THROW(writer3->begin({{"a", DType::kF32, {2}, 4}}), Error);
}

TEST(TfBundle, ObjectBasedWriterBuildsTheGraph) {
  TempDir dir;
  TfBundleOptions bundle;
  bundle.object_based = true;
  write_bundle(dir / "ckpt-1",
               {{"encoder/dense/kernel", DType::kF32, {1}, le_bytes<float>({1})},
                {"a.b", DType::kF32, {1}, le_bytes<float>({2})},
                {"encoder/dense/bias", DType::kF32, {1}, le_bytes<float>({3})}},
               {}, bundle);
  auto reader = open_tf_bundle(dir / "ckpt-1");
  std::map<std::string, TensorRole> roles;
  for (const auto& e : reader->tensors()) roles[e.name] = e.role;
  EXPECT_EQ(roles, (std::map<std::string, TensorRole>{
                       {"_CHECKPOINTABLE_OBJECT_GRAPH", TensorRole::kObjectGraph},
                       {"a..b/.ATTRIBUTES/VARIABLE_VALUE", TensorRole::kWeight},
                       {"encoder/dense/bias/.ATTRIBUTES/VARIABLE_VALUE", TensorRole::kWeight},
                       {"encoder/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE", TensorRole::kWeight},
                       {"save_counter/.ATTRIBUTES/VARIABLE_VALUE", TensorRole::kCounter}}));
  const auto values = read_all(*reader);
  EXPECT_EQ(values.at("save_counter/.ATTRIBUTES/VARIABLE_VALUE"), le_bytes<int64_t>({1}));
  const auto& encoded = values.at("_CHECKPOINTABLE_OBJECT_GRAPH");
  TrackableObjectGraph graph;
  ASSERT_TRUE(graph.ParseFromArray(encoded.data() + 8, static_cast<int>(encoded.size() - 8)));
  // Breadth-first: root; encoder, a.b, save_counter; dense; kernel, bias.
  ASSERT_EQ(graph.nodes_size(), 7);
  const auto& root = graph.nodes(0);
  ASSERT_EQ(root.children_size(), 3);
  EXPECT_EQ(root.children(0).local_name(), "encoder");
  EXPECT_EQ(root.children(0).node_id(), 1);
  EXPECT_EQ(root.children(1).local_name(), "a.b");
  EXPECT_EQ(root.children(2).local_name(), "save_counter");
  EXPECT_EQ(graph.nodes(1).children(0).node_id(), 4);
  const auto& kernel = graph.nodes(5).attributes(0);
  EXPECT_EQ(kernel.name(), "VARIABLE_VALUE");
  EXPECT_EQ(kernel.full_name(), "encoder/dense/kernel");
  EXPECT_EQ(kernel.checkpoint_key(), "encoder/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE");
  for (const auto& node : graph.nodes()) EXPECT_TRUE(node.has_checkpoint_values().value());
}

TEST(TfRoles, FromNames) {
  EXPECT_EQ(role_from_name("_CHECKPOINTABLE_OBJECT_GRAPH"), TensorRole::kObjectGraph);
  for (const char* slot :
       {"dense/kernel/Adam", "dense/kernel/Adam_1", "bert/x/kernel/adam_m", "bert/x/kernel/adam_v",
        "w/Momentum", "beta1_power", "beta2_power_1", "w/AdamWeightDecayOptimizer_1",
        "newslm/w/adafactor_vr", "encoder/block_000/q_slot_vc", "Adam/dense/kernel/m",
        "m/layer/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE",
        "optimizer/learning_rate/.ATTRIBUTES/VARIABLE_VALUE"})
    EXPECT_EQ(role_from_name(slot), TensorRole::kOptimizerSlot) << slot;
  for (const char* counter : {"global_step", "save_counter/.ATTRIBUTES/VARIABLE_VALUE",
                              "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE", "Adam/iter"})
    EXPECT_EQ(role_from_name(counter), TensorRole::kCounter) << counter;
  for (const char* weight : {"dense/kernel", "model/h0/attn/c_attn/w", "Adam", "m/v/kernel",
                             "model/dense/kernel/.ATTRIBUTES/VARIABLE_VALUE"})
    EXPECT_EQ(role_from_name(weight), TensorRole::kWeight) << weight;
}

TEST(TfRoles, EscapingRoundTrips) {
  EXPECT_EQ(escape_local_name("a.b/c"), "a..b.Sc");
  EXPECT_EQ(unescape_local_name("a..b.Sc"), "a.b/c");
  EXPECT_FALSE(unescape_local_name("a.b").has_value());
  EXPECT_FALSE(unescape_local_name("a.").has_value());
}

TEST(TfCheckpointState, ParsesResolvesAndRejects) {
  TempDir dir;
  write_bundle(dir / "model.ckpt-5", sample_tensors(), {}, {.write_state_file = false});
  auto state = [&](const std::string& text) { std::ofstream(dir / "checkpoint") << text; };
  state(
      "model_checkpoint_path: \"model.ckpt-5\"\nall_model_checkpoint_paths: \"model.ckpt-5\"\n"
      "all_model_checkpoint_timestamps: 1700000000.5\nlast_preserved_timestamp: 1.5\n");
  EXPECT_EQ(prefix_from_state_file(dir.path().string()), dir / "model.ckpt-5");
  // TF1 Saver writes absolute paths; a moved folder still resolves to the file beside the state.
  state("model_checkpoint_path: \"/nowhere/else/model.ckpt-5\"\n");
  EXPECT_EQ(prefix_from_state_file(dir.path().string()), dir / "model.ckpt-5");
  state("model_checkpoint_path: \"model.ckpt-6\"\n");
  EXPECT_THROW(prefix_from_state_file(dir.path().string()), Error);
  state("model_checkpoint_path: model.ckpt-5\n");
  EXPECT_THROW(prefix_from_state_file(dir.path().string()), Error);
  state("all_model_checkpoint_paths: \"x\"\n");
  EXPECT_THROW(prefix_from_state_file(dir.path().string()), Error);
  EXPECT_EQ(checkpoint_state_text("a\"b"),
            "model_checkpoint_path: \"a\\\"b\"\nall_model_checkpoint_paths: \"a\\\"b\"\n");
}

TEST(TfBundle, RejectsPartitionedBigEndianAndUnknownDtypes) {
  TempDir dir;
  auto write_index = [&](const BundleHeaderProto& header,
                         std::vector<std::pair<std::string, BundleEntryProto>> entries) {
    std::error_code ec;
    fs::remove(dir / "x.index", ec);
    OutputFile out(dir / "x.index");
    TableWriter table(out);
    table.add("", header.SerializeAsString());
    for (const auto& [k, v] : entries) table.add(k, v.SerializeAsString());
    table.finish();
    out.close();
  };
  put_file(dir / "x.data-00000-of-00001", std::vector<std::byte>(64));
  BundleHeaderProto header;
  header.set_num_shards(1);
  BundleEntryProto entry;
  entry.set_dtype(1);
  entry.mutable_shape()->add_dim()->set_size(2);
  entry.set_size(8);
  entry.set_crc32c(crc32c_mask(crc32c(std::vector<std::byte>(8))));
  write_index(header, {{"ok", entry}});
  EXPECT_EQ(read_all(*open_tf_bundle(dir / "x")).at("ok").size(), 8u);

  auto expect_bad = [&](const std::string& what) {
    try {
      open_tf_bundle(dir / "x");
      ADD_FAILURE() << "opened despite " << what;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
      EXPECT_NE(e.message().find(what), std::string::npos) << e.what();
    }
  };
  auto sliced = entry;
  sliced.add_slices()->add_extent()->set_start(0);
  write_index(header, {{"ok", sliced}});
  expect_bad("partitioned");
  write_index(header, {{std::string("\0ok\0\1", 5), entry}});
  expect_bad("partitioned variable 'ok'");
  auto big = header;
  big.set_endianness(1);
  write_index(big, {{"ok", entry}});
  expect_bad("big-endian");
  auto variant = entry;
  variant.set_dtype(21);
  write_index(header, {{"ok", variant}});
  expect_bad("DT_VARIANT");
  auto wrong_size = entry;
  wrong_size.set_size(12);
  write_index(header, {{"ok", wrong_size}});
  expect_bad("takes 8 bytes");
  auto far = entry;
  far.set_offset(60);
  write_index(header, {{"ok", far}});
  expect_bad("runs past the end");
  auto negative = entry;
  negative.mutable_shape()->mutable_dim(0)->set_size(-1);
  write_index(header, {{"ok", negative}});
  expect_bad("negative dimension");
  auto other_shard = entry;
  other_shard.set_shard_id(1);
  write_index(header, {{"ok", other_shard}});
  expect_bad("shard id");
  auto future = header;
  future.mutable_version()->set_min_consumer(2);
  write_index(future, {{"ok", entry}});
  expect_bad("newer");
  auto two_shards = header;
  two_shards.set_num_shards(2);
  write_index(two_shards, {{"ok", other_shard}});
  expect_bad("missing");
}

// Every truncation of the index or of a data shard is an error naming the file, never a crash.
TEST(TfBundle, EveryTruncationIsAClearError) {
  TempDir dir;
  write_bundle(dir / "m", sample_tensors(), {}, {.write_state_file = false});
  for (const std::string file : {"m.index", "m.data-00000-of-00001"}) {
    const auto original = file_bytes(dir / file);
    for (size_t length = 0; length < original.size(); ++length) {
      put_file(dir / file, std::span(original).first(length));
      try {
        auto reader = open_tf_bundle(dir / "m");
        read_all(*reader);
        ADD_FAILURE() << file << " truncated to " << length << " bytes was accepted";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
        EXPECT_EQ(e.file(), dir / file) << e.what();
      }
    }
    put_file(dir / file, original);
  }
}

// A changed byte anywhere in the index is caught (block checksums) or harmless (footer padding).
TEST(TfBundle, EveryIndexByteFlipIsCaughtOrHarmless) {
  TempDir dir;
  write_bundle(dir / "m", sample_tensors(), {}, {.write_state_file = false});
  const auto expected = read_all(*open_tf_bundle(dir / "m"));
  const auto original = file_bytes(dir / "m.index");
  for (size_t i = 0; i < original.size(); ++i) {
    auto damaged = original;
    damaged[i] ^= std::byte{0x41};
    put_file(dir / "m.index", damaged);
    try {
      EXPECT_EQ(read_all(*open_tf_bundle(dir / "m")), expected) << "flip at " << i;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
    }
  }
}

// A changed data byte is reported as a checksum error naming the tensor that holds it.
TEST(TfBundle, EveryDataByteFlipNamesItsTensor) {
  TempDir dir;
  const auto tensors = sample_tensors();
  write_bundle(dir / "m", tensors, {}, {.write_state_file = false});
  const std::string data = dir / "m.data-00000-of-00001";
  const auto original = file_bytes(data);
  std::vector<std::pair<uint64_t, std::string>> starts;  // offset of each tensor
  const auto layout = open_tf_bundle(dir / "m");
  for (const auto& e : layout->tensors()) starts.emplace_back(e.offset, e.name);
  for (size_t i = 0; i < original.size(); ++i) {
    std::string owner;
    for (const auto& [offset, name] : starts)
      if (offset <= i) owner = name;  // tensors are listed in data order
    auto damaged = original;
    damaged[i] ^= std::byte{0x08};
    put_file(data, damaged);
    try {
      read_all(*open_tf_bundle(dir / "m"));
      ADD_FAILURE() << "flip at " << i << " in " << owner << " went unnoticed";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
      EXPECT_EQ(e.tensor(), owner) << e.what();
      EXPECT_EQ(e.file(), data);
    }
  }
}

// Run with TENSORFERRY_TF_EXPORT_DIR set, this writes bundles through the C++ API for
// tests/python/tf/test_tf_bundle.py to restore with TensorFlow; otherwise it checks them itself.
TEST(TfBundleExport, ObjectBasedAndNameBased) {
  TempDir temp;
  const char* env = std::getenv("TENSORFERRY_TF_EXPORT_DIR");
  const fs::path out = env ? fs::path(env) : temp.path();
  fs::create_directories(out / "object");
  fs::create_directories(out / "names");
  std::vector<TestTensor> tensors = {
      {"kernel", DType::kF32, {2, 3}, le_bytes<float>({0.5f, -1, 2, 3.25f, 4, 5})},
      {"bias", DType::kF16, {3}, le_bytes<uint16_t>({0x3c00, 0x4000, 0xbc00})},
      {"step", DType::kI64, {}, le_bytes<int64_t>({42})},
      {"mask", DType::kBool, {2, 2}, bytes_of({1, 0, 0, 1})},
      {"tokens", DType::kString, {2}, encode_strings({"tensor", std::string("ferry\0", 6)})},
      {"nested/dense/kernel", DType::kBF16, {2}, le_bytes<uint16_t>({0x4049, 0xc000})},
  };
  WriterOptions force;
  force.force = true;
  write_bundle((out / "object" / "ckpt-1").string(), tensors, force, {.object_based = true});
  write_bundle((out / "names" / "model.ckpt").string(), tensors, force, {.num_shards = 2});
  EXPECT_EQ(open_tf_bundle((out / "object").string())->tensors().size(), tensors.size() + 2);
  EXPECT_EQ(open_tf_bundle((out / "names").string())->tensors().size(), tensors.size());
}

}  // namespace
}  // namespace tensorferry::tf_bundle

namespace tensorferry::tf_bundle {
namespace {

// The reader sums a tensor's CRC32C in pieces (releasing each piece's pages): a tensor spanning
// several pieces reads back intact, and a flip in any piece, the last partial one included, is
// still a checksum error.
TEST(TfBundle, ChecksumOfATensorLargerThanOnePiece) {
  TempDir dir;
  const size_t size = 3 * kStreamPiece + 4 * 123;
  std::vector<std::byte> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>((i * 131) >> 3);
  write_bundle(dir / "m", {{"big", DType::kF32, {size / 4}, bytes}}, {},
               {.write_state_file = false});
  EXPECT_EQ(read_all(*open_tf_bundle(dir / "m")).at("big"), bytes);
  const std::string data = dir / "m.data-00000-of-00001";
  const auto original = file_bytes(data);
  for (size_t at : {size_t{5}, kStreamPiece - 1, kStreamPiece, 2 * kStreamPiece + 77, size - 1}) {
    auto damaged = original;
    damaged[at] ^= std::byte{0x40};
    put_file(data, damaged);
    try {
      read_all(*open_tf_bundle(dir / "m"));
      ADD_FAILURE() << "flip at " << at << " went unnoticed";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
      EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace tensorferry::tf_bundle

namespace tensorferry::tf_bundle {
namespace {

// A Keras variable's full_name "scope/layer/rest" is the weight "layer/scope/layer/rest:0" of
// its tf_model.h5.
TEST(TfBundleVariableNames, KerasWeightName) {
  EXPECT_EQ(keras_weight_name("tf_bert_model/bert/embeddings/word_embeddings/weight"),
            "bert/tf_bert_model/bert/embeddings/word_embeddings/weight:0");
  EXPECT_EQ(keras_weight_name("tf_m/classifier"), "classifier/tf_m/classifier:0");
  EXPECT_EQ(keras_weight_name("kernel"), "kernel:0");
}

TEST(TfBundleVariableNames, WeightsTakeTheirFullNamesOthersKeepTheirKeys) {
  TempDir dir;
  TfBundleOptions bundle;
  bundle.object_based = true;  // full_name = the unescaped path
  write_bundle(dir / "ckpt-1",
               {{"tf_m/bert/dense/kernel", DType::kF32, {2}, le_bytes<float>({1, 2})},
                {"tf_m/classifier/bias", DType::kF32, {1}, le_bytes<float>({3})}},
               {}, bundle);
  auto bundle_reader = open_tf_bundle(dir / "ckpt-1");
  ASSERT_TRUE(is_object_based(*bundle_reader));
  auto reader = read_by_variable_names(std::move(bundle_reader));
  std::map<std::string, std::string> notes;
  for (const auto& e : reader->tensors()) notes[e.name] = e.note;
  EXPECT_EQ(notes.count("bert/tf_m/bert/dense/kernel:0"), 1u);
  EXPECT_EQ(notes.at("classifier/tf_m/classifier/bias:0"),
            "object path tf_m/classifier/bias/.ATTRIBUTES/VARIABLE_VALUE");
  EXPECT_EQ(notes.count("save_counter/.ATTRIBUTES/VARIABLE_VALUE"), 1u);
  EXPECT_EQ(notes.count("_CHECKPOINTABLE_OBJECT_GRAPH"), 1u);
  EXPECT_EQ(read_all(*reader).at("bert/tf_m/bert/dense/kernel:0"), le_bytes<float>({1, 2}));
}

TEST(TfBundleVariableNames, NameBasedBundleIsRefused) {
  TempDir dir;
  write_bundle(dir / "model.ckpt", {{"bert/kernel", DType::kF32, {1}, le_bytes<float>({1})}});
  auto reader = open_tf_bundle(dir / "model.ckpt");
  EXPECT_FALSE(is_object_based(*reader));
  try {
    read_by_variable_names(std::move(reader));
    FAIL() << "a name-based bundle was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput);
  }
}

}  // namespace
}  // namespace tensorferry::tf_bundle
