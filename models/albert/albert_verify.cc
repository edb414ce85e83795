#include "models/albert/albert_verify.h"

#include "verify/config_reader.h"

namespace tensorferry::verify {
namespace albert {
namespace {

using enum Use;

// ALBERT. Sources: google-research/albert modeling.py (bert/ scopes; embedding_hidden_mapping_in
// and the attention_1 / ffn_1 blocks made with dense_layer_2d/3d, whose kernels are stored
// [in, out]; the block's LayerNorms are LayerNorm and LayerNorm_1 of inner_group_0),
// run_pretraining.py (cls/predictions transform to the embedding width; cls/seq_relationship
// output_weights [2, H] used transpose_b), classifier_utils.py (top-level output_weights [C, H]);
// transformers modeling_albert.py (nn.Linear) and modeling_tf_albert.py (Keras Dense; names
// checked against tf_model.h5 of TF 2.15; TFAlbertMLMHead adds decoder/bias, not bias).
const std::vector<ParamSpec> kHfPytorch = {
    {kWordEmb, false, "embeddings.word_embeddings.weight", kTable},
    {kPosEmb, false, "embeddings.position_embeddings.weight", kTable},
    {kTypeEmb, false, "embeddings.token_type_embeddings.weight", kTable},
    {kEmbLnScale, false, "embeddings.LayerNorm.weight", kVector},
    {kEmbLnShift, false, "embeddings.LayerNorm.bias", kVector},
    {kMappingWeight, false, "encoder.embedding_hidden_mapping_in.weight", kLinear},
    {kMappingBias, false, "encoder.embedding_hidden_mapping_in.bias", kVector},
    {kQueryWeight, true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.query.weight",
     kLinear},
    {kQueryBias, true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.query.bias",
     kVector},
    {kKeyWeight, true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.key.weight",
     kLinear},
    {kKeyBias, true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.key.bias", kVector},
    {kValueWeight, true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.value.weight",
     kLinear},
    {kValueBias, true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.value.bias",
     kVector},
    {kAttnOutWeight, true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.dense.weight",
     kLinear},
    {kAttnOutBias, true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.dense.bias",
     kVector},
    {kAttnLnScale, true,
     "encoder.albert_layer_groups.{i}.albert_layers.0.attention.LayerNorm.weight", kVector},
    {kAttnLnShift, true, "encoder.albert_layer_groups.{i}.albert_layers.0.attention.LayerNorm.bias",
     kVector},
    {kFfnWeight, true, "encoder.albert_layer_groups.{i}.albert_layers.0.ffn.weight", kLinear},
    {kFfnBias, true, "encoder.albert_layer_groups.{i}.albert_layers.0.ffn.bias", kVector},
    {kFfnOutWeight, true, "encoder.albert_layer_groups.{i}.albert_layers.0.ffn_output.weight",
     kLinear},
    {kFfnOutBias, true, "encoder.albert_layer_groups.{i}.albert_layers.0.ffn_output.bias", kVector},
    {kFfnLnScale, true,
     "encoder.albert_layer_groups.{i}.albert_layers.0.full_layer_layer_norm.weight", kVector},
    {kFfnLnShift, true,
     "encoder.albert_layer_groups.{i}.albert_layers.0.full_layer_layer_norm.bias", kVector},
    {kPoolerWeight, false, "pooler.weight", kLinear},
    {kPoolerBias, false, "pooler.bias", kVector},
    {kMlmDenseWeight, false, "predictions.dense.weight", kLinear},
    {kMlmDenseBias, false, "predictions.dense.bias", kVector},
    {kMlmLnScale, false, "predictions.LayerNorm.weight", kVector},
    {kMlmLnShift, false, "predictions.LayerNorm.bias", kVector},
    {kMlmBias, false, "predictions.bias|predictions.decoder.bias", kVector},
    {kSopWeight, false, "sop_classifier.classifier.weight", kLinear},
    {kSopBias, false, "sop_classifier.classifier.bias", kVector},
    {kClassifierWeight, false, "classifier.weight", kLinear},
    {kClassifierBias, false, "classifier.bias", kVector},
};

#define TF2_LAYER "albert/encoder/albert_layer_groups_._{i}/albert_layers_._0/"
const std::vector<ParamSpec> kHfTf2 = {
    {kWordEmb, false, "albert/embeddings/word_embeddings/weight", kTable},
    {kPosEmb, false, "albert/embeddings/position_embeddings/embeddings", kTable},
    {kTypeEmb, false, "albert/embeddings/token_type_embeddings/embeddings", kTable},
    {kEmbLnScale, false, "albert/embeddings/LayerNorm/gamma", kVector},
    {kEmbLnShift, false, "albert/embeddings/LayerNorm/beta", kVector},
    {kMappingWeight, false, "albert/encoder/embedding_hidden_mapping_in/kernel", kDense},
    {kMappingBias, false, "albert/encoder/embedding_hidden_mapping_in/bias", kVector},
    {kQueryWeight, true, TF2_LAYER "attention/query/kernel", kDense},
    {kQueryBias, true, TF2_LAYER "attention/query/bias", kVector},
    {kKeyWeight, true, TF2_LAYER "attention/key/kernel", kDense},
    {kKeyBias, true, TF2_LAYER "attention/key/bias", kVector},
    {kValueWeight, true, TF2_LAYER "attention/value/kernel", kDense},
    {kValueBias, true, TF2_LAYER "attention/value/bias", kVector},
    {kAttnOutWeight, true, TF2_LAYER "attention/dense/kernel", kDense},
    {kAttnOutBias, true, TF2_LAYER "attention/dense/bias", kVector},
    {kAttnLnScale, true, TF2_LAYER "attention/LayerNorm/gamma", kVector},
    {kAttnLnShift, true, TF2_LAYER "attention/LayerNorm/beta", kVector},
    {kFfnWeight, true, TF2_LAYER "ffn/kernel", kDense},
    {kFfnBias, true, TF2_LAYER "ffn/bias", kVector},
    {kFfnOutWeight, true, TF2_LAYER "ffn_output/kernel", kDense},
    {kFfnOutBias, true, TF2_LAYER "ffn_output/bias", kVector},
    {kFfnLnScale, true, TF2_LAYER "full_layer_layer_norm/gamma", kVector},
    {kFfnLnShift, true, TF2_LAYER "full_layer_layer_norm/beta", kVector},
    {kPoolerWeight, false, "albert/pooler/kernel", kDense},
    {kPoolerBias, false, "albert/pooler/bias", kVector},
    {kMlmDenseWeight, false, "predictions/dense/kernel", kDense},
    {kMlmDenseBias, false, "predictions/dense/bias", kVector},
    {kMlmLnScale, false, "predictions/LayerNorm/gamma", kVector},
    {kMlmLnShift, false, "predictions/LayerNorm/beta", kVector},
    {kMlmBias, false, "predictions/decoder/bias", kVector},
    {kSopWeight, false, "sop_classifier/classifier/kernel", kDense},
    {kSopBias, false, "sop_classifier/classifier/bias", kVector},
    {kClassifierWeight, false, "classifier/kernel", kDense},
    {kClassifierBias, false, "classifier/bias", kVector},
};
#undef TF2_LAYER

#define G_LAYER "bert/encoder/transformer/group_{i}/inner_group_0/"
const std::vector<ParamSpec> kGoogle = {
    {kWordEmb, false, "bert/embeddings/word_embeddings", kTable},
    {kPosEmb, false, "bert/embeddings/position_embeddings", kTable},
    {kTypeEmb, false, "bert/embeddings/token_type_embeddings", kTable},
    {kEmbLnScale, false, "bert/embeddings/LayerNorm/gamma", kVector},
    {kEmbLnShift, false, "bert/embeddings/LayerNorm/beta", kVector},
    {kMappingWeight, false, "bert/encoder/embedding_hidden_mapping_in/kernel", kDense},
    {kMappingBias, false, "bert/encoder/embedding_hidden_mapping_in/bias", kVector},
    {kQueryWeight, true, G_LAYER "attention_1/self/query/kernel", kDense},
    {kQueryBias, true, G_LAYER "attention_1/self/query/bias", kVector},
    {kKeyWeight, true, G_LAYER "attention_1/self/key/kernel", kDense},
    {kKeyBias, true, G_LAYER "attention_1/self/key/bias", kVector},
    {kValueWeight, true, G_LAYER "attention_1/self/value/kernel", kDense},
    {kValueBias, true, G_LAYER "attention_1/self/value/bias", kVector},
    {kAttnOutWeight, true, G_LAYER "attention_1/output/dense/kernel", kDense},
    {kAttnOutBias, true, G_LAYER "attention_1/output/dense/bias", kVector},
    {kAttnLnScale, true, G_LAYER "LayerNorm/gamma", kVector},
    {kAttnLnShift, true, G_LAYER "LayerNorm/beta", kVector},
    {kFfnWeight, true, G_LAYER "ffn_1/intermediate/dense/kernel", kDense},
    {kFfnBias, true, G_LAYER "ffn_1/intermediate/dense/bias", kVector},
    {kFfnOutWeight, true, G_LAYER "ffn_1/intermediate/output/dense/kernel", kDense},
    {kFfnOutBias, true, G_LAYER "ffn_1/intermediate/output/dense/bias", kVector},
    {kFfnLnScale, true, G_LAYER "LayerNorm_1/gamma", kVector},
    {kFfnLnShift, true, G_LAYER "LayerNorm_1/beta", kVector},
    {kPoolerWeight, false, "bert/pooler/dense/kernel", kDense},
    {kPoolerBias, false, "bert/pooler/dense/bias", kVector},
    {kMlmDenseWeight, false, "cls/predictions/transform/dense/kernel", kDense},
    {kMlmDenseBias, false, "cls/predictions/transform/dense/bias", kVector},
    {kMlmLnScale, false, "cls/predictions/transform/LayerNorm/gamma", kVector},
    {kMlmLnShift, false, "cls/predictions/transform/LayerNorm/beta", kVector},
    {kMlmBias, false, "cls/predictions/output_bias", kVector},
    {kSopWeight, false, "cls/seq_relationship/output_weights", kTransposedB},
    {kSopBias, false, "cls/seq_relationship/output_bias", kVector},
    {kClassifierWeight, false, "output_weights", kTransposedB},
    {kClassifierBias, false, "output_bias", kVector},
};
#undef G_LAYER

ModelConfig read_albert(Convention convention, const ConfigReader& r) {
  ModelConfig c;
  const bool google = convention == Convention::kGoogleTf1;
  if (!google) r.expect_text("model_type", "albert");
  c.vocab_size = r.integer({"vocab_size"}, google ? std::nullopt : std::optional<int64_t>(30000));
  c.embedding_size = r.integer({"embedding_size"}, 128);
  c.hidden = r.integer({"hidden_size"}, 4096);
  c.layers = r.integer({"num_hidden_layers"}, 12);
  c.layer_groups = r.integer({"num_hidden_groups"}, 1);
  c.heads = r.integer({"num_attention_heads"}, 64);
  c.inner = r.integer({"intermediate_size"}, 16384);
  c.max_positions = r.integer({"max_position_embeddings"}, 512);
  c.type_vocab_size = r.integer({"type_vocab_size"}, 2);
  if (r.integer({"inner_group_num"}, 1) != 1)
    r.unsupported("inner_group_num other than 1 (several blocks per layer group)");
  if (c.layer_groups > c.layers) r.unsupported("num_hidden_groups above num_hidden_layers");
  // Google's modeling.py computes "gelu" as the tanh approximation (its only GELU); transformers
  // reads the same word as the erf form and calls the tanh one "gelu_new".
  c.activation_name = r.text("hidden_act", google ? "gelu" : "gelu_new");
  c.activation = google && c.activation_name == "gelu" ? Activation::kGeluTanh
                                                       : r.activation(c.activation_name);
  // modeling.py's layer_norm() is tf.contrib's with epsilon 1e-12, whatever the config says.
  c.layer_norm_eps = google ? 1e-12 : r.number("layer_norm_eps", 1e-12);
  c.tie_word_embeddings = true;
  if (!google) {
    const std::string pos = r.text("position_embedding_type", "absolute");
    if (pos != "absolute") r.unsupported("position_embedding_type \"" + pos + "\"");
  }
  r.check_heads(c);
  return c;
}

bool known_extra(Convention convention, const std::string& key) {
  if (convention == Convention::kHfTf2) return key == "predictions/bias";  // never applied
  return convention == Convention::kHfPytorch &&
         (key == "embeddings.position_ids" || key == "embeddings.token_type_ids" ||
          key == "predictions.decoder.weight");
}

}  // namespace
}  // namespace albert

const Family& albert_verify_family() {
  static const Family family = {
      .name = "albert",
      .tables = {&albert::kHfPytorch, &albert::kHfTf2, nullptr, &albert::kGoogle},
      .token_table = albert::kWordEmb,
      .hf_base_prefix = "albert.",
      .config_files = {{{"config.json"}, {"config.json"}, {}, {"albert_config.json"}}},
      .read_config = albert::read_albert,
      .known_extra = albert::known_extra,
      .output_stages = {"pooler", "mlm logits", "sop logits", "classifier logits"},
      .run = albert::run,
  };
  return family;
}

}  // namespace tensorferry::verify
