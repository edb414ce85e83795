// Unit tests of the PyTorch format: the restricted pickle machine, the torch allowlist, the zip
// directory reader, the writers, and robustness against truncated and corrupted real files.
#include "formats/torch/torch.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/bytes.h"
#include "core/crc.h"
#include "core/direct_output.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/output.h"
#include "formats/torch/pickle_machine.h"
#include "formats/torch/pickle_writer.h"
#include "formats/torch/strided_copy.h"
#include "formats/torch/tensor_names.h"
#include "formats/torch/torch_unpickler.h"
#include "formats/torch/torch_writer.h"
#include "formats/torch/zip_directory.h"
#include "formats/torch/zip_writer.h"
#include "tests/cpp/resident.h"

namespace tensorferry {
namespace {
namespace fs = std::filesystem;

const fs::path kFixtures = fs::path(TENSORFERRY_SOURCE_DIR) / "tests/data/torch";

// Runs `f` and expects Error(kBadInput) whose text contains `needle` (and names `offset`).
void expect_bad_input(const std::function<void()>& f, const std::string& needle,
                      std::optional<uint64_t> offset = std::nullopt) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << needle;
    if (offset) {
      EXPECT_EQ(e.offset(), offset) << e.what();
    }
    return;
  }
  ADD_FAILURE() << "no error; expected one containing: " << needle;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("tensorferry_torch_test_" + std::to_string(::getpid()) +
                                         "_" + std::to_string(next_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  static inline int next_ = 0;
  fs::path path_;
};

std::string f32_bytes(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) out.append(reinterpret_cast<const char*>(&v), 4);
  return out;
}

std::string as_string(std::span<const std::byte> b) { return std::string(as_chars(b)); }

// Patches a little-endian field in `bytes`.
template <typename T>
void patch(std::string& bytes, size_t at, T value) {
  std::memcpy(bytes.data() + at, &value, sizeof value);
}

// ---------------------------------------------------------------------------------------------
// The pickle machine on plain data.

struct Plain {
  PickleLimits limits;
  ValueStore store{limits};
  PlainDataEnvironment env;
  ValueId run(const std::string& pickle) {
    return run_pickle(as_bytes(pickle), store, env, limits, "t.pkl", 1000).root;
  }
};

TEST(PickleMachine, DecodesNumbers) {
  Plain p;
  // BININT1 200, BININT2 40000, BININT -5, LONG1 2^40, LONG1 -1, LONG1 10-byte magic
  const std::string pickle =
      std::string("\x80\x02(K\xc8M\x40\x9cJ\xfb\xff\xff\xff", 13) +
      std::string("\x8a\x06\x00\x00\x00\x00\x00\x01", 8) + std::string("\x8a\x01\xff", 3) +
      std::string("\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 12) + "I01\nI42\nL-7L\n" +
      std::string("G\x3f\xf8\0\0\0\0\0\0", 9) + "F2.5\n\x88\x89Nt.";
  const ValueId root = p.run(pickle);
  const auto& v = p.store.items(root);
  ASSERT_EQ(v.size(), 14u);
  EXPECT_EQ(p.store.as_int(v[0]), 200);
  EXPECT_EQ(p.store.as_int(v[1]), 40000);
  EXPECT_EQ(p.store.as_int(v[2]), -5);
  EXPECT_EQ(p.store.as_int(v[3]), int64_t{1} << 40);
  EXPECT_EQ(p.store.as_int(v[4]), -1);
  EXPECT_EQ(p.store.kind(v[5]), ValueKind::kBigInt);
  EXPECT_EQ(p.store.text(v[5]).size(), 10u);
  EXPECT_EQ(p.store.kind(v[6]), ValueKind::kBool);
  EXPECT_EQ(p.store.as_int(v[7]), 42);
  EXPECT_EQ(p.store.as_int(v[8]), -7);
  EXPECT_EQ(p.store.as_float(v[9]), 1.5);  // BINFLOAT is big-endian
  EXPECT_EQ(p.store.as_float(v[10]), 2.5);
  EXPECT_TRUE(p.store.as_bool(v[11]));
  EXPECT_FALSE(p.store.as_bool(v[12]));
  EXPECT_EQ(p.store.kind(v[13]), ValueKind::kNone);
}

TEST(PickleMachine, ContainersMemoAndProtocol4) {
  Plain p;
  // Protocol 4: FRAME, SHORT_BINUNICODE, MEMOIZE, EMPTY_DICT, SETITEMS, EMPTY_LIST, APPENDS,
  // BINGET of a memoized string, DUP, POP, frozenset.
  std::string pickle = std::string("\x80\x04\x95", 3) + std::string(8, '\0');
  pickle += std::string(
                "}\x94(\x8c\x01k\x94]\x94(K\x01K\x02"
                "e\x8c\x01j",
                18) +
            std::string("h\x01", 2) + "2" + "0" + "u" + std::string("\x94", 1) + ".";
  const ValueId root = p.run(pickle);
  ASSERT_EQ(p.store.kind(root), ValueKind::kDict);
  const auto& d = p.store.items(root);
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(p.store.text(d[0]), "k");
  EXPECT_EQ(p.store.items(d[1]).size(), 2u);
  EXPECT_EQ(p.store.text(d[2]), "j");
  EXPECT_EQ(d[3], d[0]);  // BINGET pushes the same object, not a copy
}

TEST(PickleMachine, RefusesGlobalsByNameAndOffset) {
  Plain p;
  expect_bad_input(
      [&] {
        p.run(
            "\x80\x02"
            "cos\nsystem\n(S'x'\ntR.");
      },
      "refusing global os.system", 1002);
  // STACK_GLOBAL builds the name from strings on the stack.
  expect_bad_input([&] { p.run(std::string("\x80\x04\x8c\x05posix\x8c\x06system\x93.", 19)); },
                   "refusing global posix.system", 1017);
  expect_bad_input([&] { p.run("ios\nsystem\n(S'x'\nt."); }, "refusing global os.system (INST");
  expect_bad_input([&] { p.run(std::string("\x80\x02\x82\x01.", 5)); }, "refusing opcode EXT1");
  expect_bad_input([&] { p.run("(o."); }, "refusing opcode OBJ");
  expect_bad_input([&] { p.run("S'abc'\n."); }, "STRING");
  expect_bad_input([&] { p.run("\xff."); }, "unknown pickle opcode 0xff", 1000);
}

TEST(PickleMachine, RejectsMalformedStacks) {
  Plain p;
  expect_bad_input([&] { p.run("K\x01K\x02."); }, "STOP leaves 2 values");
  expect_bad_input([&] { p.run("t."); }, "MARK that was never set");
  expect_bad_input([&] { p.run("(a."); }, "empty stack");
  expect_bad_input(
      [&] {
        p.run(
            "}K\x01"
            "a.");
      },
      "APPEND on a dict");
  expect_bad_input([&] { p.run("]K\x01K\x02s."); }, "SETITEM on a list");
  expect_bad_input([&] { p.run("h\x05."); }, "memo entry 5 never set");
  expect_bad_input([&] { p.run("K\x01)R."); }, "REDUCE in a pickle that may hold plain data");
  expect_bad_input([&] { p.run(std::string("X\x02\0\0\0\xff\xfe.", 8)); }, "not valid UTF-8");
  expect_bad_input([&] { p.run(std::string("\x80\x06.", 3)); }, "protocol 6");
}

TEST(PickleMachine, TruncationAtEveryByteIsAnError) {
  const std::string pickle = std::string("\x80\x02}q\x00(X\x01\0\0\0aq\x01J\x01\x02\x03\x04", 19) +
                             std::string("G\x3f\xf8\0\0\0\0\0\0\x8a\x02\x01\x02u.", 15);
  Plain whole;
  whole.run(pickle);
  for (size_t n = 0; n < pickle.size(); ++n) {
    Plain p;
    expect_bad_input([&] { p.run(pickle.substr(0, n)); }, "");
  }
}

TEST(PickleMachine, LimitsHoldBeforeAllocation) {
  {  // A length far beyond the input: refused without allocating it.
    Plain p;
    expect_bad_input([&] { p.run(std::string("\x8d\0\0\0\0\0\0\0\x10.", 10)); },
                     "exceeds the limit");
    p.limits.max_text_bytes = uint64_t{1} << 62;
    expect_bad_input([&] { p.run(std::string("\x8d\0\0\0\0\0\0\0\x10.", 10)); },
                     "runs past the end");
    expect_bad_input([&] { p.run(std::string("\x8b\xff\xff\xff\x7f.", 6)); },
                     "wider than the limit");
  }
  {  // Memo bomb: many distinct LONG_BINPUT keys.
    Plain p;
    p.limits.max_memo = 100;
    std::string pickle = "N";
    for (uint32_t i = 0; i < 200; ++i) {
      pickle += 'r';
      pickle.append(reinterpret_cast<const char*>(&i), 4);
    }
    pickle += ".";
    expect_bad_input([&] { p.run(pickle); }, "memo grows beyond 100");
    // Huge keys cost nothing: the memo is a map, not an array indexed by key.
    Plain q;
    q.run(
        std::string("Nr\xff\xff\xff\xffj\xff\xff\xff\xff"
                    "0.",
                    13));
  }
  {  // Stack, marks and object count.
    Plain p;
    p.limits.max_stack = 50;
    expect_bad_input([&] { p.run(std::string(60, 'N') + "."); }, "stack deeper than 50");
    Plain q;
    q.limits.max_marks = 50;
    expect_bad_input([&] { q.run(std::string(60, '(') + "."); }, "more than 50 MARKs");
    Plain r;
    r.limits.max_values = 30;
    r.store = ValueStore(r.limits);
    expect_bad_input([&] { r.run("(" + std::string(40, 'N') + "t."); }, "more than 30 objects");
    Plain s;  // DUP pushes 4 bytes of reference per byte of pickle
    s.limits.max_items = 1000;
    s.store = ValueStore(s.limits);
    expect_bad_input([&] { s.run("](N" + std::string(2000, '2') + "e."); },
                     "hold more than 1000 references");
    Plain t;  // all strings together
    t.limits.max_total_text = 15;
    t.store = ValueStore(t.limits);
    const std::string ten = std::string("X\x0a\0\0\0", 5) + "0123456789";
    expect_bad_input([&] { t.run("(" + ten + ten + "t."); }, "strings add up to more than 15");
  }
}

// ---------------------------------------------------------------------------------------------
// The torch allowlist and tensor records.

struct Torch {
  PickleLimits limits;
  ValueStore store{limits};
  TorchUnpickler env{TorchUnpickler::Flavor::kZip, 1u << 20};
  ValueId run(const std::string& pickle) {
    return run_pickle(as_bytes(pickle), store, env, limits, "data.pkl", 0).root;
  }
  std::vector<NamedTensor> names(const std::string& pickle) {
    return name_tensors(store, env, run(pickle));
  }
};

// _rebuild_tensor_v2(('storage', torch.FloatStorage, key, 'cpu', numel), offset, size, stride,
// False, OrderedDict())
PickleWriter& tensor_v2(PickleWriter& p, const std::string& key, int64_t numel, int64_t offset,
                        const std::vector<uint64_t>& size, const std::vector<uint64_t>& stride,
                        const std::string& storage = "FloatStorage") {
  p.global("torch._utils", "_rebuild_tensor_v2").mark();
  p.mark().string("storage").global("torch", storage).string(key).string("cpu").integer(numel);
  p.tuple().binpersid().integer(offset).ints_tuple(size).ints_tuple(stride).boolean(false);
  p.global("collections", "OrderedDict").empty_tuple().reduce().tuple().reduce();
  return p;
}

TEST(TorchUnpickler, StateDictWithSharedStorageAndViews) {
  Torch t;
  PickleWriter p;
  p.proto().global("collections", "OrderedDict").empty_tuple().reduce().mark();
  p.string("w");
  tensor_v2(p, "0", 6, 0, {2, 3}, {3, 1});
  p.string("row");
  tensor_v2(p, "0", 6, 3, {3}, {1});
  p.string("wt");
  tensor_v2(p, "0", 6, 0, {3, 2}, {1, 3});
  p.setitems().stop();
  const auto named = t.names(p.bytes());
  ASSERT_EQ(named.size(), 3u);
  EXPECT_EQ(named[1].name, "row");
  ASSERT_EQ(t.env.storages().size(), 1u);
  EXPECT_EQ(t.env.storages()[0].nbytes, 24u);
  const TensorView& row = t.env.tensors()[named[1].tensor];
  EXPECT_EQ(row.byte_offset, 12u);
  EXPECT_EQ(row.nbytes, 12u);
  EXPECT_FALSE(is_row_major_dense(t.env.tensors()[2].shape, t.env.tensors()[2].strides));
}

TEST(TorchUnpickler, ViewsMustLieInsideTheirStorage) {
  auto one = [](int64_t numel, int64_t offset, const std::vector<uint64_t>& size,
                const std::vector<uint64_t>& stride) {
    PickleWriter p;
    p.proto().empty_dict().string("x");
    tensor_v2(p, "0", numel, offset, size, stride);
    p.setitem().stop();
    return p.bytes();
  };
  Torch ok;
  ok.run(one(6, 2, {2, 2}, {2, 1}));  // last element 2 + 2 + 1 = 5 < 6
  Torch a;
  expect_bad_input([&] { a.run(one(6, 3, {2, 2}, {2, 1})); }, "reaches beyond its storage");
  Torch b;  // (size-1)*stride overflows 64 bits
  expect_bad_input([&] { b.run(one(6, 0, {1ull << 40, 2}, {1ull << 40, 1})); }, "larger than");
  Torch c;
  expect_bad_input([&] { c.run(one(6, 0, {2, 2}, {1ull << 62, 1})); }, "reaches beyond");
  Torch d;
  expect_bad_input([&] { d.run(one(6, 0, {2, 2}, {1})); }, "stride has 1");
  Torch e;  // a storage larger than the file
  expect_bad_input([&] { e.run(one(int64_t{1} << 40, 0, {2}, {1})); },
                   "more than the whole file holds");
  Torch f;  // broadcast view expanding far beyond the file
  expect_bad_input([&] { f.run(one(1, 0, {1ull << 40}, {0})); }, "larger than the file allows");
  Torch g;  // negative storage offset
  expect_bad_input([&] { g.run(one(6, -1, {2}, {1})); }, "negative");
  Torch h;  // empty tensors read nothing, whatever their offset
  h.run(one(0, 0, {0, 4}, {4, 1}));
}

TEST(TorchUnpickler, RebuildingMemoizedArgumentsIsBounded) {
  // One 64-dimensional tensor's arguments, memoized, then rebuilt for 6 bytes each: without a
  // bound on the dimensions of all records together this would turn 420 KB into ~70 MB.
  PickleWriter p;
  p.proto()
      .empty_list()
      .global("torch._utils", "_rebuild_tensor_v2")
      .raw(std::string("q\x00"
                       "0",
                       3))
      .mark();
  p.mark().string("storage").global("torch", "FloatStorage").string("0").string("cpu").integer(1);
  p.tuple().binpersid().integer(0).ints_tuple(std::vector<uint64_t>(64, 1));
  p.ints_tuple(std::vector<uint64_t>(64, 1)).boolean(false).empty_dict().tuple();
  p.raw(
      "q\x01"
      "0");
  for (int i = 0; i < 70000; ++i) p.raw(std::string("h\x00h\x01Ra", 6));
  p.stop();
  Torch t;
  expect_bad_input([&] { t.run(p.bytes()); }, "dimensions in total");
}

TEST(TorchUnpickler, RefusesEverythingElse) {
  auto reduce_of = [](const std::string& module, const std::string& name) {
    PickleWriter p;
    p.proto().global(module, name).mark().string("echo pwned").tuple().reduce().stop();
    return p.bytes();
  };
  for (const auto& global : std::vector<std::pair<std::string, std::string>>{
           {"os", "system"},
           {"posix", "system"},
           {"builtins", "eval"},
           {"builtins", "exec"},
           {"builtins", "getattr"},
           {"__builtin__", "eval"},
           {"subprocess", "Popen"},
           {"torch", "load"},
           {"torch._utils", "_rebuild_qtensor"},
           {"torch.nn.modules.linear", "Linear"},
           {"numpy.core.multiarray", "_reconstruct"},
           {"collections", "defaultdict"},
           {"pickle", "loads"},
       }) {
    Torch t;
    expect_bad_input([&] { t.run(reduce_of(global.first, global.second)); },
                     "refusing global " + global.first + "." + global.second, 2);
  }
  Torch a;  // an allowed value is not an allowed callable
  expect_bad_input([&] { a.run(reduce_of("torch", "FloatStorage")); },
                   "refusing to call torch.FloatStorage");
  Torch b;
  expect_bad_input([&] { b.run(reduce_of("collections", "OrderedDict")); },
                   "OrderedDict called with arguments");
  Torch c;  // persistent ids must be storages
  expect_bad_input([&] { c.run("\x80\x02K\x01Q."); }, "persistent id is a int");
  Torch d;
  PickleWriter module_pid;
  module_pid.proto().mark().string("module").none().none().none().tuple().binpersid().stop();
  expect_bad_input([&] { d.run(module_pid.bytes()); }, "whole nn.Module");
  Torch e;  // a tensor with a BUILD state is a subclass or has attributes: refused
  PickleWriter build;
  build.proto();
  tensor_v2(build, "0", 1, 0, {}, {}).empty_dict().build().stop();
  expect_bad_input([&] { e.run(build.bytes()); }, "BUILD of a object is not allowed");
}

TEST(TorchUnpickler, V3DtypesMetadataAndParameters) {
  Torch t;
  PickleWriter p;
  p.proto().empty_dict().mark();
  p.string("u16").global("torch._utils", "_rebuild_tensor_v3").mark();
  p.mark().string("storage").global("torch.storage", "UntypedStorage").string("0").string("cpu");
  p.integer(6).tuple().binpersid().integer(0).ints_tuple({3}).ints_tuple({1}).boolean(false);
  p.global("collections", "OrderedDict").empty_tuple().reduce().global("torch", "uint16");
  p.tuple().reduce();
  // nn.Parameter(tensor) with the conj bit set on a complex tensor.
  p.string("p").global("torch._utils", "_rebuild_parameter").mark();
  p.global("torch._utils", "_rebuild_tensor_v2").mark();
  p.mark().string("storage").global("torch", "ComplexFloatStorage").string("1").string("cpu");
  p.integer(2).tuple().binpersid().integer(0).ints_tuple({2}).ints_tuple({1}).boolean(false);
  p.global("collections", "OrderedDict").empty_tuple().reduce();
  p.empty_dict().string("conj").boolean(true).setitem().tuple().reduce();
  p.boolean(true).global("collections", "OrderedDict").empty_tuple().reduce().tuple().reduce();
  p.setitems().stop();
  const auto named = t.names(p.bytes());
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(t.env.tensors()[0].dtype, DType::kU16);
  EXPECT_EQ(t.env.tensors()[0].nbytes, 6u);
  EXPECT_EQ(t.env.tensors()[1].dtype, DType::kC64);
  EXPECT_TRUE(t.env.tensors()[1].conj);
  EXPECT_EQ(t.env.storages()[0].dtype, DType::kU8);

  Torch bad;  // the conj bit means nothing on a real tensor
  PickleWriter q;
  q.proto().global("torch._utils", "_rebuild_tensor_v2").mark();
  q.mark().string("storage").global("torch", "FloatStorage").string("0").string("cpu").integer(1);
  q.tuple().binpersid().integer(0).empty_tuple().empty_tuple().boolean(false).empty_dict();
  q.empty_dict().string("conj").boolean(true).setitem().tuple().reduce().stop();
  expect_bad_input([&] { bad.run(q.bytes()); }, "conjugate bit on a tensor that is not complex");
}

TEST(TensorNames, CheckpointsNestAndCollide) {
  Torch t;
  PickleWriter p;
  p.proto().empty_dict().mark();
  p.string("model").empty_dict().string("fc.weight");
  tensor_v2(p, "0", 1, 0, {}, {}).setitem();
  p.string("epoch").integer(3);
  p.string("opt").empty_dict().integer(0).empty_list();
  tensor_v2(p, "1", 1, 0, {}, {}).append().setitem();
  p.string("args").global("argparse", "Namespace").empty_tuple().reduce();
  p.empty_dict().string("lr").integer(1).setitem().build();
  p.setitems().stop();
  const auto named = t.names(p.bytes());
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[0].name, "model.fc.weight");
  EXPECT_EQ(named[1].name, "opt.0.0");

  Torch bare;  // a file holding one tensor
  PickleWriter b;
  b.proto();
  tensor_v2(b, "0", 1, 0, {}, {}).stop();
  EXPECT_EQ(bare.names(b.bytes()).at(0).name, "tensor");

  Torch dup;  // {"a": {"b": t}, "a.b": t} gives two tensors named "a.b"
  PickleWriter d;
  d.proto().empty_dict().mark().string("a").empty_dict().string("b");
  tensor_v2(d, "0", 1, 0, {}, {}).setitem().string("a.b");
  tensor_v2(d, "0", 1, 0, {}, {}).setitems().stop();
  expect_bad_input([&] { dup.names(d.bytes()); }, "both named \"a.b\"");

  Torch key;  // a tuple key cannot name a tensor
  PickleWriter k;
  k.proto().empty_dict().empty_tuple();
  tensor_v2(k, "0", 1, 0, {}, {}).setitem().stop();
  expect_bad_input([&] { key.names(k.bytes()); }, "dict key of type tuple");
}

TEST(TensorNames, NoneOrANumberIsNoCheckpointButAnEmptyDictIs) {
  Torch none;  // torch.save(None)
  expect_bad_input([&] { none.names("\x80\x02N."); }, "top-level pickled object (None)");
  Torch number;  // torch.save(3)
  expect_bad_input([&] { number.names("\x80\x02K\x03."); }, "top-level pickled object (int)");
  Torch empty;  // torch.save({})
  EXPECT_TRUE(empty.names("\x80\x02}.").empty());
  Torch list;  // torch.save([1, 2]): a container without tensors is an empty checkpoint too
  EXPECT_TRUE(list.names("\x80\x02](K\x01K\x02\x65.").empty());  // \x65 is APPENDS, 'e'
}

TEST(TensorNames, CyclesDepthAndSharingAreBounded) {
  Torch cycle;  // l = []; l.append(l)
  cycle.names(
      std::string("]q\x00h\x00"
                  "a.",
                  7));
  Torch deep;
  std::string nested = "]";
  for (int i = 0; i < 200; ++i) nested += "\x85";  // TUPLE1
  expect_bad_input([&] { deep.names(nested + "."); }, "nested deeper than");
  // A DAG of 40 levels where each level holds the previous one twice: 2^40 paths.
  Torch dag;
  std::string bomb = "]";
  for (int i = 0; i < 40; ++i) bomb += "2\x86";  // DUP, TUPLE2
  expect_bad_input([&] { dag.names(bomb + "."); }, "too large to search");
}

// ---------------------------------------------------------------------------------------------
// Strided copies.

TEST(StridedCopy, GathersTransposedSteppedAndBroadcastViews) {
  std::vector<float> storage(12);
  for (int i = 0; i < 12; ++i) storage[i] = static_cast<float>(i);
  const auto* base = reinterpret_cast<const std::byte*>(storage.data());
  auto gather = [&](const std::byte* b, const Shape& shape, const std::vector<uint64_t>& strides) {
    std::vector<float> out(num_elements(shape).value());
    gather_strided(b, 4, shape, strides, reinterpret_cast<std::byte*>(out.data()));
    return out;
  };
  EXPECT_EQ(gather(base, {4, 3}, {1, 4}),
            (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));  // transposed (3,4)
  EXPECT_EQ(gather(base + 4, {2, 2}, {6, 2}), (std::vector<float>{1, 3, 7, 9}));    // [::2, 1::2]
  EXPECT_EQ(gather(base, {3, 2}, {0, 1}), (std::vector<float>{0, 1, 0, 1, 0, 1}));  // expanded
  EXPECT_EQ(gather(base + 8, {}, {}), (std::vector<float>{2}));
  EXPECT_EQ(gather(base, {2, 1, 3}, {6, 99, 2}), (std::vector<float>{0, 2, 4, 6, 8, 10}));
  EXPECT_TRUE(is_row_major_dense({2, 1, 3}, {3, 7, 1}));
  EXPECT_FALSE(is_row_major_dense({2, 3}, {1, 2}));
  EXPECT_TRUE(is_row_major_dense({0, 3}, {5, 9}));

  std::string bytes = "\x01\x02\x03\x04\x05\x06\x07\x08";
  auto span = std::span(reinterpret_cast<std::byte*>(bytes.data()), bytes.size());
  swap_byte_order(span, 4);
  EXPECT_EQ(bytes, "\x04\x03\x02\x01\x08\x07\x06\x05");
  flip_sign_bits(span, 2, /*imaginary_only=*/true);
  EXPECT_EQ(bytes, std::string("\x04\x03\x02\x81\x08\x07\x06\x85", 8));
}

// Against an element-by-element reference, over random views: permuted, sliced with steps,
// broadcast, for every element size (3 takes the generic path).
TEST(StridedCopy, MatchesReferenceOnRandomViews) {
  uint64_t seed = 12345;
  auto next = [&](uint64_t n) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (seed >> 33) % n;
  };
  std::vector<std::byte> storage(1 << 20);
  for (size_t i = 0; i < storage.size(); ++i) storage[i] = static_cast<std::byte>(i * 131 + 7);
  for (int trial = 0; trial < 400; ++trial) {
    const size_t element = std::vector<size_t>{1, 2, 3, 4, 8, 16}[next(6)];
    const size_t dims = next(4) + 1;
    Shape shape(dims);
    std::vector<uint64_t> strides(dims);
    uint64_t extent = 1;
    for (size_t d = 0; d < dims; ++d) {
      shape[d] = next(d == dims - 1 ? 70 : 9) + 1;
      strides[d] = next(5) == 0 ? 0 : next(200) + 1;
      extent += (shape[d] - 1) * strides[d];
    }
    ASSERT_LT(extent * element, storage.size());
    const uint64_t n = num_elements(shape).value();
    std::vector<std::byte> got(n * element), want(n * element);
    gather_strided(storage.data(), element, shape, strides, got.data());
    std::vector<uint64_t> index(dims, 0);
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t offset = 0;
      for (size_t d = 0; d < dims; ++d) offset += index[d] * strides[d];
      std::memcpy(want.data() + i * element, storage.data() + offset * element, element);
      for (size_t d = dims; d-- > 0;) {
        if (++index[d] < shape[d]) break;
        index[d] = 0;
      }
    }
    ASSERT_EQ(got, want) << "trial " << trial << " shape " << shape_to_string(shape);
  }
}

// ---------------------------------------------------------------------------------------------
// Zip directory.

std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries,
                     bool zip64 = false) {
  TempDir dir;
  const std::string path = (dir / "z.zip").string();
  {
    DirectOutputFile out(path);
    ZipWriter zip(out, zip64);
    for (const auto& [name, data] : entries) zip.add(name, data);
    zip.finish();
    out.close();
  }
  return read_file(path);
}

ZipDirectory read_zip(const TempDir& dir, const std::string& bytes) {
  const auto path = dir / "in.zip";
  write_file(path, bytes);
  auto file = MappedFile::open(path.string());
  return ZipDirectory::read(*file);
}

// The CRC is summed while the payload is written and goes, with the sizes, into a data
// descriptor right after the payload (flag bit 3, as torch.save writes): for a payload larger
// than one direct write (summed across pieces), small ones, and with ZIP64 (8-byte sizes).
TEST(ZipWriter, DataDescriptorsCarryThePayloadsCrcAndSize) {
  TempDir dir;
  std::string big((17 << 20) + 12345, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  const std::vector<std::pair<std::string, std::string>> entries = {
      {"a/small", "hello"}, {"a/big", big}, {"a/tail", "xyz"}};
  for (bool zip64 : {false, true}) {
    const std::string zip = make_zip(entries, zip64);
    const ZipDirectory z = read_zip(dir, zip);  // checks every descriptor against the directory
    for (const auto& [name, payload] : entries) {
      const ZipEntry* e = z.find(name);
      ASSERT_NE(e, nullptr) << name;
      const uint32_t expected = crc32_extend(0, as_bytes(std::string_view(payload)));
      EXPECT_EQ(e->crc32, expected) << name;
      EXPECT_EQ(
          load_le<uint16_t>(as_bytes(std::string_view(zip)).data() + e->header_offset + 6) & 8, 8)
          << name;
      const auto* descriptor = as_bytes(std::string_view(zip)).data() + e->data_offset + e->size;
      EXPECT_EQ(load_le<uint32_t>(descriptor), 0x08074b50u) << name;
      EXPECT_EQ(load_le<uint32_t>(descriptor + 4), expected) << name;
      EXPECT_EQ(zip64 ? load_le<uint64_t>(descriptor + 8) : load_le<uint32_t>(descriptor + 8),
                payload.size())
          << name;
      EXPECT_EQ(zip.substr(e->data_offset, e->size), payload) << name;
    }
  }
}

TEST(ZipDirectory, ReadsWhatTheWriterWritesAlignedWithAndWithoutZip64) {
  TempDir dir;
  for (bool zip64 : {false, true}) {
    const std::string zip = make_zip(
        {{"a/data.pkl", "hello"}, {"a/data/0", std::string(100, 'x')}, {"a/empty", ""}}, zip64);
    const ZipDirectory z = read_zip(dir, zip);
    ASSERT_EQ(z.entries().size(), 3u);
    const ZipEntry* e = z.find("a/data/0");
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->size, 100u);
    EXPECT_EQ(e->data_offset % 64, 0u);
    EXPECT_EQ(zip.substr(e->data_offset, 100), std::string(100, 'x'));
    EXPECT_EQ(e->crc32, crc32_extend(0, as_bytes(std::string(100, 'x'))));
    EXPECT_EQ(z.find("a/empty")->size, 0u);
    // The zip64 end records come right before the classic one.
    EXPECT_EQ(zip.find(std::string("PK\x06\x06", 4)) != std::string::npos, zip64);
  }
}

// Reading the directory touches every local header and data descriptor; each touch maps the
// page-cache pages around it into the process (a whole large folio, megabytes, when the file was
// read sequentially before), so the walk unmaps them again and must not come back to a header
// afterwards: a GPT-2-XL .bin once opened at 306 MB resident because the local extra field was
// read again after its page had been unmapped.
TEST(ZipDirectory, OpeningLeavesTheHeadersPagesUnmapped) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> entries;
  for (int i = 0; i < 48; ++i)
    entries.emplace_back("a/data/" + std::to_string(i), std::string(1 << 20, 'x'));
  const auto path = dir / "many.zip";
  write_file(path, make_zip(entries));
  auto file = MappedFile::open(path.string());
  const ZipDirectory z = ZipDirectory::read(*file);
  ASSERT_EQ(z.entries().size(), 48u);
  // Only the central directory and end records (at the file's end) may stay mapped: well under
  // one page per entry.
  EXPECT_LT(mapped_resident_kib(file->bytes().data()), 48u * 4) << "KiB resident after opening";
}

TEST(ZipDirectory, RejectsInconsistentArchives) {
  TempDir dir;
  const std::string good = make_zip({{"a/x", "0123456789"}, {"a/y", "abc"}});
  const size_t cd = good.find(std::string("PK\x01\x02", 4));
  const size_t eocd = good.size() - 22;
  const size_t second_local = good.find(std::string("PK\x03\x04", 4), 4);
  read_zip(dir, good);

  expect_bad_input([&] { read_zip(dir, good.substr(0, good.size() - 1)); },
                   "no end-of-central-directory record");
  expect_bad_input([&] { read_zip(dir, "PK"); }, "too short");
  {
    std::string z = good;  // the central directory points past its end
    patch<uint32_t>(z, eocd + 16, static_cast<uint32_t>(z.size()));
    expect_bad_input([&] { read_zip(dir, z); }, "does not end before the end record");
  }
  {
    std::string z = good;  // far more entries than fit
    patch<uint16_t>(z, eocd + 8, 60000);
    patch<uint16_t>(z, eocd + 10, 60000);
    expect_bad_input([&] { read_zip(dir, z); }, "more than fit");
  }
  {
    std::string z = good;  // the methods of the two headers differ
    patch<uint16_t>(z, cd + 10, 8);
    expect_bad_input([&] { read_zip(dir, z); }, "local header method differs");
    // Compressed entries are listed (TorchScript archives have them) but cannot be read.
    patch<uint16_t>(z, 8, 8);
    const ZipDirectory d = read_zip(dir, z);
    EXPECT_EQ(d.entries()[0].method, 8);
    auto file = MappedFile::open((dir / "in.zip").string());
    expect_bad_input([&] { require_stored(*file, d.entries()[0]); }, "is compressed (method 8)", 0);
    expect_bad_input([&] { verify_zip_crc(*file, d.entries()[0]); }, "is compressed");
    verify_zip_crc(*file, d.entries()[1]);
  }
  {
    std::string z = good;
    patch<uint16_t>(z, cd + 8, 1);
    expect_bad_input([&] { read_zip(dir, z); }, "encrypted");
  }
  {
    std::string z = good;  // local name differs from the central one
    z[30] = 'b';
    expect_bad_input([&] { read_zip(dir, z); }, "local header name differs");
  }
  {
    std::string z = good;  // size in the directory larger than the data descriptor's
    patch<uint32_t>(z, cd + 20, 11);
    patch<uint32_t>(z, cd + 24, 11);
    // The descriptor is looked for after the 11 bytes the directory claims (payload at 64).
    expect_bad_input([&] { read_zip(dir, z); }, "disagrees with the central directory", 64 + 11);
  }
  {
    std::string z = good;  // the local header offset points nowhere
    patch<uint32_t>(z, cd + 42, 5);
    expect_bad_input([&] { read_zip(dir, z); }, "bad local header signature");
  }
  {
    std::string z = good;  // both central entries name the same local header
    const size_t cd2 = z.find(std::string("PK\x01\x02", 4), cd + 4);
    patch<uint32_t>(z, cd2 + 42, 0);
    expect_bad_input([&] { read_zip(dir, z); }, "local header name differs");
  }
  {
    std::string z = good;  // a second entry with the same name
    const size_t cd2 = z.find(std::string("PK\x01\x02", 4), cd + 4);
    z[cd2 + 46 + 2] = 'x';
    z[second_local + 30 + 2] = 'x';
    expect_bad_input([&] { read_zip(dir, z); }, "appears twice");
  }
}

TEST(ZipDirectory, RejectsOverlappingEntries) {
  // Entry a/x's payload contains a valid local header of entry a/y: every field agrees, but one
  // byte would belong to two records.
  std::string inner_header = std::string("PK\x03\x04", 4) + std::string(26, '\0');
  patch<uint16_t>(inner_header, 26, 3);
  inner_header += "a/y";
  std::string payload = std::string(17, '.') + inner_header + std::string(50, '.');
  auto local = [](const std::string& name, const std::string& data) {
    std::string h = std::string("PK\x03\x04", 4) + std::string(26, '\0');
    patch<uint32_t>(h, 14, crc32_extend(0, as_bytes(data)));
    patch<uint32_t>(h, 18, static_cast<uint32_t>(data.size()));
    patch<uint32_t>(h, 22, static_cast<uint32_t>(data.size()));
    patch<uint16_t>(h, 26, static_cast<uint16_t>(name.size()));
    return h + name;
  };
  auto central = [](const std::string& name, const std::string& data, uint32_t offset) {
    std::string c = std::string("PK\x01\x02", 4) + std::string(42, '\0');
    patch<uint32_t>(c, 16, crc32_extend(0, as_bytes(data)));
    patch<uint32_t>(c, 20, static_cast<uint32_t>(data.size()));
    patch<uint32_t>(c, 24, static_cast<uint32_t>(data.size()));
    patch<uint16_t>(c, 28, static_cast<uint16_t>(name.size()));
    patch<uint32_t>(c, 42, offset);
    return c + name;
  };
  std::string zip = local("a/x", payload) + payload;
  const auto y_offset = static_cast<uint32_t>(33 + 17);
  ASSERT_EQ(zip.substr(y_offset, 4), "PK\x03\x04");
  const size_t cd_offset = zip.size();
  zip += central("a/x", payload, 0) + central("a/y", "", y_offset);
  std::string end = std::string("PK\x05\x06", 4) + std::string(18, '\0');
  patch<uint16_t>(end, 8, 2);
  patch<uint16_t>(end, 10, 2);
  patch<uint32_t>(end, 12, static_cast<uint32_t>(zip.size() - cd_offset));
  patch<uint32_t>(end, 16, static_cast<uint32_t>(cd_offset));
  zip += end;
  TempDir dir;
  expect_bad_input([&] { read_zip(dir, zip); }, "overlaps the entry at byte 50", 0);
}

// ---------------------------------------------------------------------------------------------
// Real torch files (tests/data/torch, made by torch 2.13 with make_fixtures.py).

void expect_fixture_tensors(CheckpointReader& r) {
  const auto& t = r.tensors();
  ASSERT_EQ(t.size(), 8u);
  std::vector<std::byte> scratch;
  auto bytes = [&](size_t i) { return as_string(r.read(i, scratch)); };
  EXPECT_EQ(t[0].name, "w");
  EXPECT_EQ(bytes(0), f32_bytes({0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(t[1].name, "wt");
  EXPECT_EQ(t[1].shape, (Shape{3, 2}));
  EXPECT_EQ(t[1].note, "shares storage with w");
  EXPECT_EQ(bytes(1), f32_bytes({0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(bytes(2), f32_bytes({3, 4, 5}));
  EXPECT_EQ(t[2].offset, t[0].offset + 12);
  EXPECT_EQ(t[3].dtype, DType::kF16);
  EXPECT_EQ(bytes(3), std::string("\x00\x00\x00\x3c\x00\x40\x00\x42", 8));
  EXPECT_EQ(bytes(4), std::string("\xff\xff\xff\xff\xff\xff\xff\xff\0\0\0\0\0\x01\0\0", 16));
  EXPECT_EQ(t[5].dtype, DType::kU16);
  EXPECT_EQ(bytes(5), std::string("\x01\x00\x02\x00\xff\xff", 6));
  EXPECT_EQ(t[6].shape, Shape{});
  EXPECT_EQ(bytes(6), f32_bytes({7.5f}));
  EXPECT_EQ(t[7].shape, (Shape{0, 2}));
  EXPECT_EQ(bytes(7), "");
}

TEST(TorchFiles, ReadsRealZipAndLegacyFiles) {
  for (const char* name : {"small.pt", "small_legacy.pt"}) {
    SCOPED_TRACE(name);
    auto r = open_torch((kFixtures / name).string());
    EXPECT_EQ(r->format(), "pytorch");
    expect_fixture_tensors(*r);
  }
  const auto head = read_file(kFixtures / "small.pt").substr(0, 64);
  EXPECT_TRUE(looks_like_torch(as_bytes(head), 0));
  EXPECT_TRUE(
      looks_like_torch(as_bytes(read_file(kFixtures / "small_legacy.pt").substr(0, 64)), 0));
  std::string npz = std::string("PK\x03\x04", 4) + std::string(26, '\0') + "arr_0.npy";
  patch<uint16_t>(npz, 26, 9);  // .npz entries sit at the top level of the zip
  EXPECT_FALSE(looks_like_torch(as_bytes(npz), 0));
}

// Every prefix of a real file is refused with an error, never a crash (the end record of a zip
// and the storages of a legacy file are at the end, so no prefix is complete).
TEST(TorchFiles, TruncationAtEveryByteIsAnError) {
  TempDir dir;
  for (const char* name : {"small.pt", "small_legacy.pt"}) {
    const std::string whole = read_file(kFixtures / name);
    for (size_t n = 0; n < whole.size(); ++n) {
      const auto path = (dir / ("cut_" + std::to_string(n))).string();
      write_file(path, std::string_view(whole).substr(0, n));
      try {
        auto r = open_torch(path);
        std::vector<std::byte> scratch;
        for (size_t i = 0; i < r->tensors().size(); ++i) r->read(i, scratch);
        ADD_FAILURE() << name << " truncated to " << n << " bytes was accepted";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
        EXPECT_EQ(e.file(), path) << e.what();
      }
      fs::remove(path);
    }
  }
}

// Every single-byte corruption either still reads (the byte was padding, or a value that stays
// valid) or is refused with an error; none crashes or reads out of bounds (run under ASan).
TEST(TorchFiles, CorruptionAtEveryByteNeverCrashes) {
  TempDir dir;
  size_t refused = 0, accepted = 0;
  for (const char* name : {"small.pt", "small_legacy.pt"}) {
    const std::string whole = read_file(kFixtures / name);
    for (size_t n = 0; n < whole.size(); ++n) {
      std::string bad = whole;
      bad[n] = static_cast<char>(bad[n] ^ 0x5a);
      const auto path = (dir / ("flip_" + std::to_string(n))).string();
      write_file(path, bad);
      try {
        auto r = open_torch(path);
        std::vector<std::byte> scratch;
        for (size_t i = 0; i < r->tensors().size(); ++i) {
          auto b = r->read(i, scratch);
          ASSERT_EQ(b.size(), r->tensors()[i].nbytes);
        }
        ++accepted;
      } catch (const Error& e) {
        ASSERT_EQ(e.kind(), ErrorKind::kBadInput) << e.what();
        ++refused;
      }
      fs::remove(path);
    }
  }
  EXPECT_GT(refused, 0u);
  EXPECT_GT(accepted, 0u);  // the zip's padding bytes carry no meaning
}

TEST(TorchFiles, CorruptStorageFailsItsCrcOnRead) {
  TempDir dir;
  std::string bytes = read_file(kFixtures / "small.pt");
  auto r0 = open_torch((kFixtures / "small.pt").string());
  const uint64_t at = r0->tensors()[3].offset;  // h: f16 [0, 1, 2, 3]
  bytes[at + 2] ^= 1;
  write_file(dir / "crc.pt", bytes);
  auto r = open_torch((dir / "crc.pt").string());
  std::vector<std::byte> scratch;
  r->read(0, scratch);  // other storages are intact
  expect_bad_input([&] { r->read(3, scratch); }, "CRC-32", at - 0);
}

// ---------------------------------------------------------------------------------------------
// Writer.

TEST(TorchWriter, RoundTripsEveryTorchDtypeWithAndWithoutZip64) {
  TempDir dir;
  std::vector<TensorInfo> infos;
  std::vector<std::string> data;
  for (const auto& info : all_dtypes()) {
    if (!torch_can_store(info.dtype)) continue;
    TensorInfo t;
    t.name = "t." + std::string(info.name);
    t.dtype = info.dtype;
    t.shape = {2, 3};
    t.nbytes = 6 * info.size;
    std::string bytes(t.nbytes, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 37 + info.size);
    infos.push_back(t);
    data.push_back(bytes);
  }
  infos.push_back({"scalar", DType::kF64, {}, 8});
  data.push_back(std::string("\0\0\0\0\0\0\xf0\x3f", 8));
  infos.push_back({"empty", DType::kF32, {0, 5}, 0});
  data.push_back("");
  for (bool zip64 : {false, true}) {
    const std::string path = (dir / (zip64 ? "z64.pt" : "plain.pt")).string();
    auto w = create_torch_file_writer(path, {false, zip64});
    w->begin(infos);
    for (size_t i = 0; i < infos.size(); ++i) w->write(i, as_bytes(data[i]));
    w->commit();
    auto r = open_torch(path);
    ASSERT_EQ(r->tensors().size(), infos.size());
    std::vector<std::byte> scratch;
    for (size_t i = 0; i < infos.size(); ++i) {
      const TensorEntry& e = r->tensors()[i];
      EXPECT_EQ(e.name, infos[i].name);
      EXPECT_EQ(e.dtype, infos[i].dtype);
      EXPECT_EQ(e.shape, infos[i].shape);
      EXPECT_EQ(as_string(r->read(i, scratch)), data[i]) << e.name;
      if (e.nbytes) {
        EXPECT_EQ(e.offset % 64, 0u) << e.name;
      }
    }
  }
}

TEST(TorchWriter, RefusesWhatTorchCannotHoldAndWritesNothingUncommitted) {
  TempDir dir;
  const std::string path = (dir / "x.pt").string();
  {
    auto w = create_torch_writer(path, {});
    try {
      w->begin({{"s", DType::kString, {1}, 9}});
      ADD_FAILURE() << "a string tensor was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUsage);
      EXPECT_NE(std::string(e.what()).find("PyTorch has no string tensors"), std::string::npos);
    }
  }
  {
    auto w = create_torch_writer(path, {});
    w->begin({{"a", DType::kF32, {1}, 4}, {"b", DType::kF32, {1}, 4}});
    EXPECT_THROW(w->write(1, as_bytes("abcd")), Error);  // out of order
    w->write(0, as_bytes("abcd"));
    EXPECT_THROW(w->commit(), Error);  // b missing
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / ""), fs::directory_iterator()), 0);
}

TEST(PickleWriter, StateDictPickleParsesBack) {
  std::vector<PickledTensor> tensors;
  tensors.reserve(2500);
  for (int i = 0; i < 2500; ++i)  // more than one SETITEMS batch
    tensors.push_back({"layer." + std::to_string(i),
                       i % 2 ? DType::kU32 : DType::kBF16,
                       {static_cast<uint64_t>(i % 7), 70000},
                       std::to_string(i)});
  Torch t;
  t.env = TorchUnpickler(TorchUnpickler::Flavor::kZip, uint64_t{1} << 40);
  const auto named = t.names(pickle_state_dict(tensors));
  ASSERT_EQ(named.size(), tensors.size());
  for (size_t i = 0; i < named.size(); ++i) {
    const TensorView& v = t.env.tensors()[named[i].tensor];
    EXPECT_EQ(named[i].name, tensors[i].name);
    EXPECT_EQ(v.dtype, tensors[i].dtype);
    EXPECT_EQ(v.shape, tensors[i].shape);
    EXPECT_EQ(v.strides, contiguous_strides(tensors[i].shape));
  }
}

}  // namespace
}  // namespace tensorferry
