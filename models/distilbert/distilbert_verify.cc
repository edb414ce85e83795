#include "models/distilbert/distilbert_verify.h"

#include <deque>

#include "models/bert/bert_verify.h"
#include "verify/config_reader.h"

namespace tensorferry::verify {
namespace distilbert {
namespace {

using enum Use;
using namespace bert;  // NOLINT: DistilBERT's roles are BERT's

// Where DistilBERT keeps the tensor of one of BERT's roles: the module (below
// transformer.layer.{i} for the per-layer roles; a top-level module of the head classes for a
// head) and whether it is part of the base model. Sources: modeling_distilbert.py (Embeddings,
// MultiHeadSelfAttention, FFN, TransformerBlock, the head classes; nn.Linear weights [out, in])
// and modeling_tf_distilbert.py (Keras Dense kernels [in, out]; names checked against tf_model.h5
// of transformers 4.57.6 / TF 2.15). BERT's token types and next-sentence head have no place.
struct Place {
  std::string_view module;
  bool base;
};
std::optional<Place> place_of(Param param) {
  auto is = [&](auto... roles) { return ((param == Param(roles)) || ...); };
  if (is(kWordEmb)) return Place{"embeddings.word_embeddings", true};
  if (is(kPosEmb)) return Place{"embeddings.position_embeddings", true};
  if (is(kEmbLnScale, kEmbLnShift)) return Place{"embeddings.LayerNorm", true};
  if (is(kQueryWeight, kQueryBias)) return Place{"attention.q_lin", true};
  if (is(kKeyWeight, kKeyBias)) return Place{"attention.k_lin", true};
  if (is(kValueWeight, kValueBias)) return Place{"attention.v_lin", true};
  if (is(kAttnOutWeight, kAttnOutBias)) return Place{"attention.out_lin", true};
  if (is(kAttnLnScale, kAttnLnShift)) return Place{"sa_layer_norm", true};
  if (is(kInterWeight, kInterBias)) return Place{"ffn.lin1", true};
  if (is(kOutWeight, kOutBias)) return Place{"ffn.lin2", true};
  if (is(kOutLnScale, kOutLnShift)) return Place{"output_layer_norm", true};
  if (is(kMlmDenseWeight, kMlmDenseBias)) return Place{"vocab_transform", false};
  if (is(kMlmLnScale, kMlmLnShift)) return Place{"vocab_layer_norm", false};
  if (is(kMlmBias, kMlmDecoder)) return Place{"vocab_projector", false};
  // DistilBertForSequenceClassification's pre_classifier: BERT's pooler dense does its job.
  if (is(kPoolerWeight, kPoolerBias)) return Place{"pre_classifier", false};
  if (is(kClassifierWeight, kClassifierBias)) return Place{"classifier", false};
  if (is(kQaWeight, kQaBias)) return Place{"qa_outputs", false};
  return std::nullopt;
}

std::string_view keep(std::string text) {
  static std::deque<std::string> pool;  // the string_views of the tables point here
  return pool.emplace_back(std::move(text));
}

// The stored name of `spec`'s role in DistilBERT: its place, and the leaf BERT's first spelling
// ends in (weight/bias in PyTorch; kernel, bias, gamma, beta, weight, embeddings in Keras).
std::string stored_name(Convention convention, const ParamSpec& spec, const Place& place) {
  const std::string_view first = spec.stored.substr(0, spec.stored.find('|'));
  const bool tf2 = convention == Convention::kHfTf2;
  const std::string_view leaf = first.substr(first.find_last_of(tf2 ? '/' : '.') + 1);
  std::string module =
      std::string(spec.per_layer ? "transformer.layer.{i}." : "") + std::string(place.module);
  if (tf2) {
    for (char& ch : module)
      if (ch == '.') ch = '/';
    constexpr std::string_view kLayer = "transformer/layer/";  // Keras names it layer_._{i}
    if (spec.per_layer) module.replace(0, kLayer.size(), "transformer/layer_._");
    if (place.base) module = "distilbert/" + module;
  }
  return module + (tf2 ? "/" : ".") + std::string(leaf);
}

std::vector<ParamSpec> table(Convention convention) {
  std::vector<ParamSpec> out;
  for (const ParamSpec& spec : bert_verify_family().params(convention))
    if (const auto place = place_of(spec.param))
      out.push_back(
          {spec.param, spec.per_layer, keep(stored_name(convention, spec, *place)), spec.use});
  return out;
}

// DistilBertConfig: BertConfig's dimensions under its own keys (the attribute-map spellings
// hidden_size, num_hidden_layers, num_attention_heads override them, as PretrainedConfig sets
// its kwargs last); every LayerNorm epsilon hard-coded to 1e-12; no token types.
ModelConfig read_distilbert(Convention, const ConfigReader& r) {
  r.expect_text("model_type", "distilbert");
  ModelConfig c;
  c.vocab_size = r.integer({"vocab_size"}, 30522);
  c.max_positions = r.integer({"max_position_embeddings"}, 512);
  c.hidden = r.integer({"hidden_size", "dim"}, 768);
  c.layers = r.integer({"num_hidden_layers", "n_layers"}, 6);
  c.heads = r.integer({"num_attention_heads", "n_heads"}, 12);
  c.inner = r.integer({"hidden_dim"}, 3072);
  c.activation_name = r.text("activation", "gelu");
  c.activation = r.activation(c.activation_name);
  c.layer_norm_eps = 1e-12;
  c.tie_word_embeddings = r.boolean("tie_word_embeddings", true);
  r.check_heads(c);
  return c;
}

bool known_extra(Convention convention, const std::string& key) {
  return convention == Convention::kHfPytorch &&
         (key == "embeddings.position_ids" || key == "vocab_projector.weight");
}

}  // namespace
}  // namespace distilbert

const Family& distilbert_verify_family() {
  static const std::vector<ParamSpec> hf_pytorch = distilbert::table(Convention::kHfPytorch);
  static const std::vector<ParamSpec> hf_tf2 = distilbert::table(Convention::kHfTf2);
  static const Family family = {
      .name = "distilbert",
      .tables = {&hf_pytorch, &hf_tf2, nullptr, nullptr},
      .token_table = bert::kWordEmb,
      .hf_base_prefix = "distilbert.",
      .config_files = {{{"config.json"}, {"config.json"}, {}, {}}},
      .read_config = distilbert::read_distilbert,
      .known_extra = distilbert::known_extra,
      .output_stages = {"mlm logits", "classifier logits", "qa start logits", "qa end logits"},
      .run = distilbert::run,
  };
  return family;
}

}  // namespace tensorferry::verify
