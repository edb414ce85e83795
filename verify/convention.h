// What each checkpoint convention calls a parameter and how its framework applies it: the
// vocabulary of verify's per-family tables (models/<family>/<family>_verify.cc).
//
// These tables are verify's own, literal reading of each framework's model code, written
// independently of the conversion tables in models/<family>/<family>_table.cc: the forward pass
// applies a PyTorch `Linear` weight as x·Wᵀ, a Keras `Dense` kernel as x·K, GPT-2's `Conv1D` as
// x·W and OpenAI's `[1, in, out]` conv weight as x·reshape(w), each to the tensor the convention
// names. A conversion that forgets a transpose, swaps two tensors or takes one from the wrong
// layer therefore changes the numbers the forward pass produces instead of cancelling out
// against the same mistake.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace tensorferry::verify {

class Family;  // verify/family.h

enum class Convention { kHfPytorch, kHfTf2, kOpenAiTf1, kGoogleTf1 };
constexpr Convention kAllConventions[] = {Convention::kHfPytorch, Convention::kHfTf2,
                                          Convention::kOpenAiTf1, Convention::kGoogleTf1};

std::string_view convention_name(Convention convention);  // "hf-pytorch", "hf-tf2", ...
std::optional<Convention> convention_from_name(std::string_view name);

// How a framework applies a stored tensor. Shapes are as stored (row-major, outermost first).
enum class Use {
  kTable,         // embedding table [rows, width]; rows are gathered
  kVector,        // [n]: LayerNorm scale or shift, a bias
  kRowVector,     // [1, n]: HF TFConv1D bias, broadcast over rows
  kLinear,        // torch.nn.Linear weight [out, in]: y = x·Wᵀ + b
  kTransposedB,   // tf.matmul(x, W, transpose_b=True) with W [out, in] (Google output_weights)
  kDense,         // Keras Dense / tf.layers.dense kernel [in, out]: y = x·K + b
  kConv1D,        // HF GPT-2 Conv1D / TFConv1D weight [in, out]: y = x·W + b
  kOpenAiConv1D,  // OpenAI gpt-2 conv1d w [1, in, out], reshaped to [in, out]: y = x·w + b
};
std::string_view use_description(Use use);  // "PyTorch Linear weight [out, in]", ...
// True when the matrix is stored [out, in] (applied transposed), false when [in, out].
bool stored_out_by_in(Use use);
bool is_matrix_use(Use use);

// A parameter a family's forward pass reads, named after its role: a value of the family's own
// role enum (models/bert/bert_verify.h: bert::kQueryWeight, ...). Two families' roles are never
// compared with each other; a Param is only meaningful with its family.
class Param {
 public:
  template <typename Role>
  requires std::is_enum_v<Role>
  constexpr Param(Role role) : id_(static_cast<int>(role)) {}  // NOLINT: roles convert implicitly
  constexpr bool operator==(const Param&) const = default;

 private:
  int id_;
};

// One row of a convention's table. Names are templates: "{i}" stands for the layer index.
// `stored` is the key after the convention's name normalisation (see normalize_name); several
// spellings a framework accepts are separated by '|', the first one is the one it writes.
struct ParamSpec {
  Param param;
  bool per_layer;
  std::string_view stored;
  Use use;
};

const ParamSpec* find_param(const Family& family, Convention convention, Param param);

// The HF PyTorch name of a parameter (base model, no "transformer."/"bert."/"model." prefix): the
// canonical name `diff` matches tensors by across conventions.
std::string canonical_name(const Family& family, Param param, int layer);

// Instantiates a template: "h.{i}.ln_1.weight", 3 -> "h.3.ln_1.weight".
std::string instantiate(std::string_view name_template, int layer);
// The '|'-separated spellings of a stored name template, first = preferred.
std::vector<std::string> spellings(std::string_view stored, int layer);

// The key a convention's table uses for a tensor name as a reader lists it, or nullopt when the
// name cannot belong to the convention. HF PyTorch: drops the family's head-class prefix
// ("transformer.", "bert.", "model.") and reads old "LayerNorm.gamma/beta" as "weight/bias" (as
// transformers does on load). HF TF2: drops ":0" and the Keras layer group and model scope in
// front of the weight path ("bert/tf_bert_model/bert/..." -> "bert/..."). TF1: the variable name
// as is.
std::optional<std::string> normalize_name(const Family& family, Convention convention,
                                          const std::string& name);

// The parameter (and layer, -1 when not per layer) a normalised key names in a convention's table.
struct ParamMatch {
  Param param;
  int layer;
  const ParamSpec* spec;
};
std::optional<ParamMatch> match_param(const Family& family, Convention convention,
                                      const std::string& key);

// Stored tensors that a convention carries but no forward pass reads: buffers, aliases of tied
// weights (the family's), and TF1 training state (every family's). Listed so that they are not
// reported as unused weights.
bool is_known_extra(const Family& family, Convention convention, const std::string& key);

}  // namespace tensorferry::verify
