// What each checkpoint convention calls a parameter and how its framework applies it.
//
// This is verify's own, literal reading of each framework's model code, written independently of
// the conversion tables in models/: the forward pass applies a PyTorch `Linear` weight as x·Wᵀ,
// a Keras `Dense` kernel as x·K, GPT-2's `Conv1D` as x·W and OpenAI's `[1, in, out]` conv weight
// as x·reshape(w), each to the tensor the convention names. A conversion that forgets a
// transpose, swaps two tensors or takes one from the wrong layer therefore changes the numbers
// the forward pass produces instead of cancelling out against the same mistake.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tensorferry::verify {

enum class Family { kGpt2, kBert, kLlama };
constexpr Family kAllFamilies[] = {Family::kGpt2, Family::kBert, Family::kLlama};
enum class Convention { kHfPytorch, kHfTf2, kOpenAiTf1, kGoogleTf1 };

std::string_view family_name(Family family);  // "gpt2", "bert", "llama"
std::optional<Family> family_from_name(std::string_view name);
std::string_view convention_name(Convention convention);  // "hf-pytorch", "hf-tf2", ...
std::optional<Convention> convention_from_name(std::string_view name);
// The conventions a family has: GPT-2 hf-pytorch/hf-tf2/openai-tf1, BERT hf-pytorch/hf-tf2/
// google-tf1, LLaMA hf-pytorch.
std::vector<Convention> conventions_of(Family family);

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

// Every parameter the forward passes read, named after its role.
enum class Param {
  // GPT-2
  kGpt2Wte,
  kGpt2Wpe,
  kGpt2Ln1Scale,
  kGpt2Ln1Shift,
  kGpt2AttnWeight,
  kGpt2AttnBias,
  kGpt2AttnProjWeight,
  kGpt2AttnProjBias,
  kGpt2Ln2Scale,
  kGpt2Ln2Shift,
  kGpt2FcWeight,
  kGpt2FcBias,
  kGpt2MlpProjWeight,
  kGpt2MlpProjBias,
  kGpt2LnfScale,
  kGpt2LnfShift,
  kGpt2LmHead,
  // BERT
  kBertWordEmb,
  kBertPosEmb,
  kBertTypeEmb,
  kBertEmbLnScale,
  kBertEmbLnShift,
  kBertQueryWeight,
  kBertQueryBias,
  kBertKeyWeight,
  kBertKeyBias,
  kBertValueWeight,
  kBertValueBias,
  kBertAttnOutWeight,
  kBertAttnOutBias,
  kBertAttnLnScale,
  kBertAttnLnShift,
  kBertInterWeight,
  kBertInterBias,
  kBertOutWeight,
  kBertOutBias,
  kBertOutLnScale,
  kBertOutLnShift,
  kBertPoolerWeight,
  kBertPoolerBias,
  kBertMlmDenseWeight,
  kBertMlmDenseBias,
  kBertMlmLnScale,
  kBertMlmLnShift,
  kBertMlmBias,
  kBertMlmDecoder,
  kBertNspWeight,
  kBertNspBias,
  kBertClassifierWeight,
  kBertClassifierBias,
  kBertQaWeight,
  kBertQaBias,
  // LLaMA (Llama, Mistral, Qwen2)
  kLlamaEmbed,
  kLlamaAttnNorm,
  kLlamaQWeight,
  kLlamaQBias,
  kLlamaKWeight,
  kLlamaKBias,
  kLlamaVWeight,
  kLlamaVBias,
  kLlamaOWeight,
  kLlamaOBias,
  kLlamaMlpNorm,
  kLlamaGateWeight,
  kLlamaGateBias,
  kLlamaUpWeight,
  kLlamaUpBias,
  kLlamaDownWeight,
  kLlamaDownBias,
  kLlamaNorm,
  kLlamaLmHead,
};

// One row of a convention's table. Names are templates: "{i}" stands for the layer index.
// `stored` is the key after the convention's name normalisation (see convention.cc); several
// spellings a framework accepts are separated by '|', the first one is the one it writes.
struct ParamSpec {
  Param param;
  bool per_layer;
  std::string_view stored;
  Use use;
};

// The table of `convention` for `family`; empty when the pair does not exist.
const std::vector<ParamSpec>& param_table(Family family, Convention convention);
const ParamSpec* find_param(Family family, Convention convention, Param param);

// The HF PyTorch name of a parameter (base model, no "transformer."/"bert."/"model." prefix): the
// canonical name `diff` matches tensors by across conventions.
std::string canonical_name(Family family, Param param, int layer);

// Instantiates a template: "h.{i}.ln_1.weight", 3 -> "h.3.ln_1.weight".
std::string instantiate(std::string_view name_template, int layer);
// The '|'-separated spellings of a stored name template, first = preferred.
std::vector<std::string> spellings(std::string_view stored, int layer);

// The key a convention's table uses for a tensor name as a reader lists it, or nullopt when the
// name cannot belong to the convention. HF PyTorch: drops the "transformer."/"bert."/"model."
// prefix of head classes and reads old "LayerNorm.gamma/beta" as "weight/bias" (as transformers
// does on load). HF TF2: drops ":0" and the Keras layer group and model scope in front of the
// weight path ("bert/tf_bert_model/bert/..." -> "bert/..."). TF1: the variable name as is.
std::optional<std::string> normalize_name(Family family, Convention convention,
                                          const std::string& name);

// The parameter (and layer, -1 when not per layer) a normalised key names in a convention's table.
struct ParamMatch {
  Param param;
  int layer;
  const ParamSpec* spec;
};
std::optional<ParamMatch> match_param(Family family, Convention convention, const std::string& key);

// Stored tensors that a convention carries but no forward pass reads: buffers, aliases of tied
// weights, training state. Listed so that they are not reported as unused weights.
bool is_known_extra(Family family, Convention convention, const std::string& key);

}  // namespace tensorferry::verify
