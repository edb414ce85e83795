#include "models/bert/bert_verify.h"

#include <deque>

#include "verify/config_reader.h"

namespace tensorferry::verify {
namespace bert {
namespace {

using enum Use;

// BERT. Sources: google-research/bert modeling.py (scopes; tf.layers.dense kernels [in, out]),
// run_pretraining.py (cls/predictions, cls/seq_relationship with output_weights [2, H] used
// transpose_b), run_classifier.py (top-level output_weights [C, H]), run_squad.py
// (cls/squad/output_weights [2, H]); transformers modeling_bert.py (nn.Linear) and
// modeling_tf_bert.py (Keras Dense; names checked against tf_model.h5 of TF 2.15).
const std::vector<ParamSpec> kHfPytorch = {
    {kWordEmb, false, "embeddings.word_embeddings.weight", kTable},
    {kPosEmb, false, "embeddings.position_embeddings.weight", kTable},
    {kTypeEmb, false, "embeddings.token_type_embeddings.weight", kTable},
    {kEmbLnScale, false, "embeddings.LayerNorm.weight", kVector},
    {kEmbLnShift, false, "embeddings.LayerNorm.bias", kVector},
    {kQueryWeight, true, "encoder.layer.{i}.attention.self.query.weight", kLinear},
    {kQueryBias, true, "encoder.layer.{i}.attention.self.query.bias", kVector},
    {kKeyWeight, true, "encoder.layer.{i}.attention.self.key.weight", kLinear},
    {kKeyBias, true, "encoder.layer.{i}.attention.self.key.bias", kVector},
    {kValueWeight, true, "encoder.layer.{i}.attention.self.value.weight", kLinear},
    {kValueBias, true, "encoder.layer.{i}.attention.self.value.bias", kVector},
    {kAttnOutWeight, true, "encoder.layer.{i}.attention.output.dense.weight", kLinear},
    {kAttnOutBias, true, "encoder.layer.{i}.attention.output.dense.bias", kVector},
    {kAttnLnScale, true, "encoder.layer.{i}.attention.output.LayerNorm.weight", kVector},
    {kAttnLnShift, true, "encoder.layer.{i}.attention.output.LayerNorm.bias", kVector},
    {kInterWeight, true, "encoder.layer.{i}.intermediate.dense.weight", kLinear},
    {kInterBias, true, "encoder.layer.{i}.intermediate.dense.bias", kVector},
    {kOutWeight, true, "encoder.layer.{i}.output.dense.weight", kLinear},
    {kOutBias, true, "encoder.layer.{i}.output.dense.bias", kVector},
    {kOutLnScale, true, "encoder.layer.{i}.output.LayerNorm.weight", kVector},
    {kOutLnShift, true, "encoder.layer.{i}.output.LayerNorm.bias", kVector},
    {kPoolerWeight, false, "pooler.dense.weight", kLinear},
    {kPoolerBias, false, "pooler.dense.bias", kVector},
    {kMlmDenseWeight, false, "cls.predictions.transform.dense.weight", kLinear},
    {kMlmDenseBias, false, "cls.predictions.transform.dense.bias", kVector},
    {kMlmLnScale, false, "cls.predictions.transform.LayerNorm.weight", kVector},
    {kMlmLnShift, false, "cls.predictions.transform.LayerNorm.bias", kVector},
    {kMlmBias, false, "cls.predictions.bias|cls.predictions.decoder.bias", kVector},
    {kMlmDecoder, false, "cls.predictions.decoder.weight", kLinear},  // only when untied
    {kNspWeight, false, "cls.seq_relationship.weight", kLinear},
    {kNspBias, false, "cls.seq_relationship.bias", kVector},
    {kClassifierWeight, false, "classifier.weight", kLinear},
    {kClassifierBias, false, "classifier.bias", kVector},
    {kQaWeight, false, "qa_outputs.weight", kLinear},
    {kQaBias, false, "qa_outputs.bias", kVector},
};

const std::vector<ParamSpec> kHfTf2 = {
    {kWordEmb, false,
     "bert/embeddings/word_embeddings/weight|bert/embeddings/word_embeddings/embeddings", kTable},
    {kPosEmb, false, "bert/embeddings/position_embeddings/embeddings", kTable},
    {kTypeEmb, false, "bert/embeddings/token_type_embeddings/embeddings", kTable},
    {kEmbLnScale, false, "bert/embeddings/LayerNorm/gamma", kVector},
    {kEmbLnShift, false, "bert/embeddings/LayerNorm/beta", kVector},
    {kQueryWeight, true, "bert/encoder/layer_._{i}/attention/self/query/kernel", kDense},
    {kQueryBias, true, "bert/encoder/layer_._{i}/attention/self/query/bias", kVector},
    {kKeyWeight, true, "bert/encoder/layer_._{i}/attention/self/key/kernel", kDense},
    {kKeyBias, true, "bert/encoder/layer_._{i}/attention/self/key/bias", kVector},
    {kValueWeight, true, "bert/encoder/layer_._{i}/attention/self/value/kernel", kDense},
    {kValueBias, true, "bert/encoder/layer_._{i}/attention/self/value/bias", kVector},
    {kAttnOutWeight, true, "bert/encoder/layer_._{i}/attention/output/dense/kernel", kDense},
    {kAttnOutBias, true, "bert/encoder/layer_._{i}/attention/output/dense/bias", kVector},
    {kAttnLnScale, true, "bert/encoder/layer_._{i}/attention/output/LayerNorm/gamma", kVector},
    {kAttnLnShift, true, "bert/encoder/layer_._{i}/attention/output/LayerNorm/beta", kVector},
    {kInterWeight, true, "bert/encoder/layer_._{i}/intermediate/dense/kernel", kDense},
    {kInterBias, true, "bert/encoder/layer_._{i}/intermediate/dense/bias", kVector},
    {kOutWeight, true, "bert/encoder/layer_._{i}/output/dense/kernel", kDense},
    {kOutBias, true, "bert/encoder/layer_._{i}/output/dense/bias", kVector},
    {kOutLnScale, true, "bert/encoder/layer_._{i}/output/LayerNorm/gamma", kVector},
    {kOutLnShift, true, "bert/encoder/layer_._{i}/output/LayerNorm/beta", kVector},
    {kPoolerWeight, false, "bert/pooler/dense/kernel", kDense},
    {kPoolerBias, false, "bert/pooler/dense/bias", kVector},
    {kMlmDenseWeight, false, "mlm___cls/predictions/transform/dense/kernel", kDense},
    {kMlmDenseBias, false, "mlm___cls/predictions/transform/dense/bias", kVector},
    {kMlmLnScale, false, "mlm___cls/predictions/transform/LayerNorm/gamma", kVector},
    {kMlmLnShift, false, "mlm___cls/predictions/transform/LayerNorm/beta", kVector},
    {kMlmBias, false, "mlm___cls/predictions/bias", kVector},
    {kNspWeight, false, "nsp___cls/seq_relationship/kernel", kDense},
    {kNspBias, false, "nsp___cls/seq_relationship/bias", kVector},
    {kClassifierWeight, false, "classifier/kernel", kDense},
    {kClassifierBias, false, "classifier/bias", kVector},
    {kQaWeight, false, "qa_outputs/kernel", kDense},
    {kQaBias, false, "qa_outputs/bias", kVector},
};

const std::vector<ParamSpec> kGoogle = {
    {kWordEmb, false, "bert/embeddings/word_embeddings", kTable},
    {kPosEmb, false, "bert/embeddings/position_embeddings", kTable},
    {kTypeEmb, false, "bert/embeddings/token_type_embeddings", kTable},
    {kEmbLnScale, false, "bert/embeddings/LayerNorm/gamma", kVector},
    {kEmbLnShift, false, "bert/embeddings/LayerNorm/beta", kVector},
    {kQueryWeight, true, "bert/encoder/layer_{i}/attention/self/query/kernel", kDense},
    {kQueryBias, true, "bert/encoder/layer_{i}/attention/self/query/bias", kVector},
    {kKeyWeight, true, "bert/encoder/layer_{i}/attention/self/key/kernel", kDense},
    {kKeyBias, true, "bert/encoder/layer_{i}/attention/self/key/bias", kVector},
    {kValueWeight, true, "bert/encoder/layer_{i}/attention/self/value/kernel", kDense},
    {kValueBias, true, "bert/encoder/layer_{i}/attention/self/value/bias", kVector},
    {kAttnOutWeight, true, "bert/encoder/layer_{i}/attention/output/dense/kernel", kDense},
    {kAttnOutBias, true, "bert/encoder/layer_{i}/attention/output/dense/bias", kVector},
    {kAttnLnScale, true, "bert/encoder/layer_{i}/attention/output/LayerNorm/gamma", kVector},
    {kAttnLnShift, true, "bert/encoder/layer_{i}/attention/output/LayerNorm/beta", kVector},
    {kInterWeight, true, "bert/encoder/layer_{i}/intermediate/dense/kernel", kDense},
    {kInterBias, true, "bert/encoder/layer_{i}/intermediate/dense/bias", kVector},
    {kOutWeight, true, "bert/encoder/layer_{i}/output/dense/kernel", kDense},
    {kOutBias, true, "bert/encoder/layer_{i}/output/dense/bias", kVector},
    {kOutLnScale, true, "bert/encoder/layer_{i}/output/LayerNorm/gamma", kVector},
    {kOutLnShift, true, "bert/encoder/layer_{i}/output/LayerNorm/beta", kVector},
    {kPoolerWeight, false, "bert/pooler/dense/kernel", kDense},
    {kPoolerBias, false, "bert/pooler/dense/bias", kVector},
    {kMlmDenseWeight, false, "cls/predictions/transform/dense/kernel", kDense},
    {kMlmDenseBias, false, "cls/predictions/transform/dense/bias", kVector},
    {kMlmLnScale, false, "cls/predictions/transform/LayerNorm/gamma", kVector},
    {kMlmLnShift, false, "cls/predictions/transform/LayerNorm/beta", kVector},
    {kMlmBias, false, "cls/predictions/output_bias", kVector},
    {kNspWeight, false, "cls/seq_relationship/output_weights", kTransposedB},
    {kNspBias, false, "cls/seq_relationship/output_bias", kVector},
    {kClassifierWeight, false, "output_weights", kTransposedB},
    {kClassifierBias, false, "output_bias", kVector},
    {kQaWeight, false, "cls/squad/output_weights", kTransposedB},
    {kQaBias, false, "cls/squad/output_bias", kVector},
};

ModelConfig read_bert(Convention convention, const ConfigReader& r) {
  if (convention != Convention::kGoogleTf1) r.expect_text("model_type", "bert");
  return read_bert_encoder(convention, r, 30522);
}

bool known_extra(Convention convention, const std::string& key) {
  return convention == Convention::kHfPytorch &&
         (key == "embeddings.position_ids" || key == "embeddings.token_type_ids" ||
          key == "cls.predictions.decoder.weight" || key == "cls.predictions.decoder.bias");
}

}  // namespace

std::vector<ParamSpec> lineage_specs(Convention convention, std::string_view embeddings_scope,
                                     std::string_view layers_scope,
                                     std::initializer_list<ParamSpec> own) {
  static std::deque<std::string> names;  // the string_views of the tables point here
  std::vector<ParamSpec> rows;
  for (const ParamSpec& spec : bert_verify_family().params(convention)) {
    std::string name(spec.stored);
    const bool embedding = name.find("embeddings") != std::string::npos;
    if (!embedding && (layers_scope.empty() || name.find("encoder") == std::string::npos)) continue;
    // Every '|'-separated spelling starts with "bert/" outside HF PyTorch.
    const std::string_view scope = embedding ? embeddings_scope : layers_scope;
    for (size_t at = 0; convention != Convention::kHfPytorch && at != std::string::npos;
         at = name.find('|', at), at = at == std::string::npos ? at : at + 1)
      if (name.compare(at, 5, "bert/") == 0) name.replace(at, 5, scope);
    rows.push_back({spec.param, spec.per_layer, names.emplace_back(std::move(name)), spec.use});
  }
  rows.insert(rows.end(), own);
  return rows;
}

std::vector<ParamSpec> specs_of(Convention convention, std::initializer_list<Role> roles) {
  std::vector<ParamSpec> rows;
  for (const ParamSpec& spec : bert_verify_family().params(convention))
    for (Role role : roles)
      if (spec.param == Param(role)) rows.push_back(spec);
  return rows;
}

void read_encoder_sizes(const ConfigReader& r, const EncoderSizes& defaults, ModelConfig& c) {
  c.vocab_size = r.integer({"vocab_size"}, defaults.vocab);
  if (defaults.embedding) c.embedding_size = r.integer({"embedding_size"}, defaults.embedding);
  c.hidden = r.integer({"hidden_size"}, defaults.hidden);
  c.layers = r.integer({"num_hidden_layers"}, defaults.layers);
  c.heads = r.integer({"num_attention_heads"}, defaults.heads);
  c.inner = r.integer({"intermediate_size"}, defaults.inner);
  c.max_positions = r.integer({"max_position_embeddings"}, 512);
  c.type_vocab_size = r.integer({"type_vocab_size"}, defaults.type_vocab);
}

void require_absolute_positions(const ConfigReader& r) {
  const std::string pos = r.text("position_embedding_type", "absolute");
  if (pos != "absolute") r.unsupported("position_embedding_type \"" + pos + "\"");
}

ModelConfig read_bert_encoder(Convention convention, const ConfigReader& r, int64_t hf_vocab) {
  ModelConfig c;
  const bool google = convention == Convention::kGoogleTf1;
  read_encoder_sizes(r,
                     {.vocab = google ? std::nullopt : std::optional<int64_t>(hf_vocab),
                      .hidden = 768,
                      .layers = 12,
                      .heads = 12,
                      .inner = 3072,
                      .type_vocab = google ? 16 : 2},
                     c);
  c.activation_name = r.text("hidden_act", "gelu");
  // Google's modeling.py evaluates "gelu" with the tanh approximation, but its released
  // checkpoints were trained with the erf form and HF converts them as erf "gelu"; verify reads
  // hidden_act with HF semantics for every convention (see docs/verify.md).
  c.activation = r.activation(c.activation_name);
  // modeling.py's layer_norm() hard-codes 1e-12 and ignores any key in bert_config.json.
  c.layer_norm_eps = google ? 1e-12 : r.number("layer_norm_eps", 1e-12);
  c.tie_word_embeddings = google ? true : r.boolean("tie_word_embeddings", true);
  if (!google) {
    require_absolute_positions(r);
    if (r.boolean("is_decoder", false)) r.unsupported("is_decoder = true");
  }
  r.check_heads(c);
  return c;
}

}  // namespace bert

const Family& bert_verify_family() {
  static const Family family = {
      .name = "bert",
      .tables = {&bert::kHfPytorch, &bert::kHfTf2, nullptr, &bert::kGoogle},
      .token_table = bert::kWordEmb,
      .hf_base_prefix = "bert.",
      // Google's code takes the config from a flag, so a folder may carry it under HF's name.
      .config_files = {{{"config.json"}, {"config.json"}, {}, {"bert_config.json", "config.json"}}},
      .read_config = bert::read_bert,
      .known_extra = bert::known_extra,
      .output_stages = {"pooler", "mlm logits", "nsp logits", "classifier logits",
                        "qa start logits", "qa end logits"},
      .run = bert::run,
  };
  return family;
}

}  // namespace tensorferry::verify
