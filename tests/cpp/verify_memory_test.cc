// verify's memory bounds: the blocked product of a stored matrix against the plain one in every
// stored layout, and the stage comparison done while B's pass runs against the one done after.
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/mapped_file.h"
#include "tests/cpp/resident.h"
#include "tests/cpp/verify_fixtures.h"
#include "verify/kernels.h"
#include "verify/layers.h"
#include "verify/stage_spill.h"
#include "verify/verify.h"

namespace tensorferry::verify {
namespace {

using namespace testing;

struct StoredMatrix {
  TensorEntry entry;
  std::vector<std::byte> bytes;
  std::vector<double> values;  // exactly what the stored elements are
};

// A random matrix of `shape` stored as `dtype` (f32, f16 or bf16).
StoredMatrix stored_matrix(DType dtype, Shape shape, unsigned seed) {
  StoredMatrix m;
  m.entry.name = "w";
  m.entry.dtype = dtype;
  m.entry.shape = shape;
  const uint64_t n = num_elements(shape).value();
  m.entry.nbytes = n * dtype_size(dtype);
  m.bytes.resize(m.entry.nbytes);
  m.values.resize(n);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (uint64_t i = 0; i < n; ++i) {
    float v = dist(rng);
    if (dtype == DType::kF32) {
      std::memcpy(m.bytes.data() + 4 * i, &v, 4);
    } else {
      const uint16_t bits = dtype == DType::kF16
                                ? float_to_half(v)
                                : static_cast<uint16_t>(std::bit_cast<uint32_t>(v) >> 16);
      std::memcpy(m.bytes.data() + 2 * i, &bits, 2);
    }
    to_double(dtype, m.bytes, i, 1, &m.values[i]);
  }
  return m;
}

Matrix random_input(int64_t rows, int64_t cols, unsigned seed) {
  Matrix x(rows, cols);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-2, 2);
  for (double& v : x.data) v = dist(rng);
  return x;
}

void expect_close(const Matrix& got, const Matrix& want, const std::string& what) {
  ASSERT_EQ(got.rows, want.rows) << what;
  ASSERT_EQ(got.cols, want.cols) << what;
  double largest = 0;
  for (size_t i = 0; i < want.data.size(); ++i)
    largest = std::max(largest, std::fabs(got.data[i] - want.data[i]));
  EXPECT_LT(largest, 1e-12) << what;  // only the order of fp64 summation differs
}

TEST(VerifyMemory, BlockedProductMatchesThePlainOneInEveryLayout) {
  const int64_t in = 37, out = 23;
  const Matrix x = random_input(5, in, 1);
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    // Block sizes of one row, a few rows (the last block partial), and the whole matrix.
    for (size_t rows_per_block : {size_t{1}, size_t{4}, size_t{1000}}) {
      const std::string what = std::string(dtype_name(dtype)) + ", " +
                               std::to_string(rows_per_block) + " rows per block";
      // PyTorch Linear: W [out, in], y = x·Wᵀ.
      const StoredMatrix linear = stored_matrix(dtype, {uint64_t(out), uint64_t(in)}, 2);
      expect_close(multiply_stored({&linear.entry, linear.bytes}, out, in, true, x,
                                   rows_per_block * in * sizeof(double)),
                   matmul(x, linear.values.data(), in, out, true), "[out, in] " + what);
      // Keras Dense / HF Conv1D: W [in, out], y = x·W; OpenAI conv1d: the same bytes as
      // [1, in, out].
      for (Shape shape :
           {Shape{uint64_t(in), uint64_t(out)}, Shape{1, uint64_t(in), uint64_t(out)}}) {
        const StoredMatrix dense = stored_matrix(dtype, shape, 3);
        expect_close(multiply_stored({&dense.entry, dense.bytes}, in, out, false, x,
                                     rows_per_block * out * sizeof(double)),
                     matmul(x, dense.values.data(), in, out, false),
                     shape_to_string(shape) + " " + what);
      }
    }
  }
}

TEST(VerifyMemory, EmptyInputGivesEmptyProduct) {
  const StoredMatrix w = stored_matrix(DType::kF32, {4, 3}, 5);
  const Matrix y = multiply_stored({&w.entry, w.bytes}, 4, 3, false, Matrix(0, 4));
  EXPECT_EQ(y.rows, 0);
  EXPECT_EQ(y.cols, 3);
}

// verify_models compares each of B's stages as it is produced and drops the values; the reports
// must be those of comparing the two complete passes afterwards.
TEST(VerifyMemory, ComparingDuringThePassEqualsComparingAfterIt) {
  const ModelConfig c = tiny_gpt2_config();
  const Weights w = random_gpt2(c, 23);
  auto b_tensors = [&] {
    auto t = to_openai(w);
    find(t, "model/h1/mlp/c_fc/w")->values[7] += 1e-3f;  // differences from layer 1 on
    return t;
  };
  VerifyOptions options;
  Model a = make_model(to_hf_pytorch(w, gpt2_verify_family()), gpt2_verify_family(),
                       Convention::kHfPytorch, c);
  Model b = make_model(b_tensors(), gpt2_verify_family(), Convention::kOpenAiTf1, c);
  const VerifyReport streamed = verify_models(a, b, options);

  Model a2 = make_model(to_hf_pytorch(w, gpt2_verify_family()), gpt2_verify_family(),
                        Convention::kHfPytorch, c);
  Model b2 = make_model(b_tensors(), gpt2_verify_family(), Convention::kOpenAiTf1, c);
  const auto seqs = default_sequences(c, c);
  const auto after = compare_forward(run_forward(a2, seqs), run_forward(b2, seqs), options);

  ASSERT_EQ(streamed.stages.size(), after.size());
  bool some_error = false;
  for (size_t i = 0; i < after.size(); ++i) {
    const StageReport& s = streamed.stages[i];
    const StageReport& r = after[i];
    EXPECT_EQ(s.name, r.name);
    EXPECT_EQ(s.status, r.status) << r.name;
    EXPECT_EQ(s.rows, r.rows) << r.name;
    EXPECT_EQ(s.cols, r.cols) << r.name;
    EXPECT_EQ(s.max_abs_error, r.max_abs_error) << r.name;
    EXPECT_EQ(s.mean_abs_error, r.mean_abs_error) << r.name;
    EXPECT_EQ(s.max_abs_value, r.max_abs_value) << r.name;
    EXPECT_EQ(s.sequence, r.sequence) << r.name;
    EXPECT_EQ(s.token, r.token) << r.name;
    EXPECT_EQ(s.column, r.column) << r.name;
    EXPECT_EQ(s.tensors_b, r.tensors_b) << r.name;
    some_error = some_error || r.max_abs_error > 1e-6;
  }
  EXPECT_TRUE(some_error);  // the comparison compared something
  EXPECT_FALSE(streamed.passed);
}

// A's stage values go to the temporary file and come back bit for bit; a second stage of the
// same name, and a stage without values, stay as they are.
TEST(VerifyMemory, StageSpillRoundTripsValues) {
  StageSpill spill;
  Stage first, second, same_name, problem;
  first.name = "layer 0";
  first.values = random_input(3, 5, 7);
  second.name = "logits";
  second.values = random_input(4, 9, 8);
  same_name.name = "layer 0";
  same_name.values = random_input(1, 2, 9);
  problem.name = "pooler";
  problem.problem = "missing tensor";
  const Matrix first_values = first.values, second_values = second.values;
  const Matrix same_name_values = same_name.values;
  for (Stage* s : {&first, &second, &same_name, &problem}) spill.put(*s);
  EXPECT_TRUE(first.values.data.empty());
  EXPECT_EQ(first.values.rows, 3);
  EXPECT_EQ(first.values.cols, 5);
  EXPECT_TRUE(second.values.data.empty());
  EXPECT_EQ(same_name.values.data, same_name_values.data);  // kept in memory
  spill.take(second);
  spill.take(first);
  spill.take(problem);
  EXPECT_EQ(first.values.data, first_values.data);
  EXPECT_EQ(second.values.data, second_values.data);
  EXPECT_TRUE(problem.values.data.empty());
}

// compare_stages never reports on values that were dropped.
TEST(VerifyMemory, ComparingDroppedValuesIsAnError) {
  Stage a, b;
  a.name = b.name = "layer 0";
  a.values = b.values = random_input(2, 3, 1);
  std::vector<double>().swap(a.values.data);
  EXPECT_THROW(compare_stages(a, b, VerifyOptions{}), std::logic_error);
}

// release_around drops only this process's mapping of a file region: the bytes stay readable
// (from the page cache), and a heap piece is left untouched.
TEST(VerifyMemory, ReleaseAroundKeepsMappedBytesReadableAndHeapIntact) {
  char path[] = "/tmp/verify_memory_test.XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::vector<std::byte> bytes(5 << 20);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * 7 + (i >> 12));
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fd);
  {
    const auto file = MappedFile::open(path);
    const auto mapped = file->bytes();
    ASSERT_EQ(std::memcmp(mapped.data(), bytes.data(), bytes.size()), 0);
    for (size_t at : {size_t{0}, size_t{3} << 20, bytes.size() - 10})
      release_around(mapped.subspan(at, 10));
    EXPECT_EQ(std::memcmp(mapped.data(), bytes.data(), bytes.size()), 0);
  }
  unlink(path);
  const auto copy = bytes;
  release_around(std::span<const std::byte>(bytes).subspan(1 << 20, 100));
  EXPECT_EQ(bytes, copy);
}

// A reader that serves tensors as views of a mapped file in which each one starts 1000 bytes
// into its own 2 MiB region, as small tensors sit beside large ones in a real checkpoint.
class SpreadMappedReader : public CheckpointReader {
 public:
  static constexpr size_t kRegion = 2 << 20;
  SpreadMappedReader(std::vector<FakeTensor> tensors, const std::filesystem::path& path) {
    FakeReader fake(std::move(tensors));
    std::vector<std::byte> scratch;
    {
      std::ofstream out(path, std::ios::binary);
      for (size_t i = 0; i < fake.tensors().size(); ++i) {
        TensorEntry e = fake.tensors()[i];
        const auto bytes = fake.read(i, scratch);
        std::string region(kRegion, '\0');
        std::memcpy(region.data() + 1000, bytes.data(), bytes.size());
        out.write(region.data(), static_cast<std::streamsize>(region.size()));
        e.offset = i * kRegion + 1000;
        e.file = path.string();
        entries_.push_back(e);
      }
    }
    file_ = MappedFile::open(path.string());
  }
  std::string format() const override { return "spread"; }
  std::string path() const override { return file_->path(); }
  const std::vector<TensorEntry>& tensors() const override { return entries_; }
  std::span<const std::byte> read(size_t index, std::vector<std::byte>&) override {
    return file_->slice(entries_[index].offset, entries_[index].nbytes, "tensor");
  }
  void release(size_t index) override {
    file_->release(entries_[index].offset, entries_[index].nbytes);
  }
  const MappedFile& file() const { return *file_; }

 private:
  std::vector<TensorEntry> entries_;
  std::shared_ptr<const MappedFile> file_;
};

// The forward pass leaves none of the checkpoint mapped: reading a tensor maps the page-cache
// folio around it (2 MiB with one PMD after a sequential read), and the reader's release drops
// only the whole pages inside it, so every small tensor (a bias, a norm) kept its folio: ~100 MB
// over BERT-large's pass (docs/performance.md "Memory").
TEST(VerifyMemory, ForwardPassLeavesNoTensorMapped) {
  const ModelConfig c = tiny_gpt2_config();
  const Weights w = random_gpt2(c, 29);
  std::string dir = (std::filesystem::temp_directory_path() / "verify-spread-XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const auto tensors = to_hf_pytorch(w, gpt2_verify_family());
  auto reader = std::make_unique<SpreadMappedReader>(tensors, std::filesystem::path(dir) / "a");
  const MappedFile& file = reader->file();
  Model a;
  a.path = a.checkpoint = file.path();
  a.format = "spread";
  a.family = &gpt2_verify_family();
  a.convention = Convention::kHfPytorch;
  a.config = c;
  a.weights = std::make_unique<ModelWeights>(std::move(reader), gpt2_verify_family(),
                                             Convention::kHfPytorch);
  Model b = make_model(tensors, gpt2_verify_family(), Convention::kHfPytorch, c);
  VerifyOptions options;
  options.always_forward = true;
  const VerifyReport report = verify_models(a, b, options);
  EXPECT_TRUE(report.passed);
  EXPECT_LT(mapped_resident_kib(file.bytes().data()), 16u)
      << "KiB of " << tensors.size() << " tensors still mapped";
  a.weights.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tensorferry::verify
