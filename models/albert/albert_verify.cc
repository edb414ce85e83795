#include "models/albert/albert_verify.h"

#include "models/bert/bert_verify.h"
#include "verify/config_reader.h"

namespace tensorferry::verify {
namespace albert {
namespace {

using enum Use;
using namespace bert;  // the roles of the modules ALBERT shares with BERT

// ALBERT. Sources: google-research/albert modeling.py (bert/ scopes; embedding_hidden_mapping_in
// and the attention_1 / ffn_1 blocks made with dense_layer_2d/3d, whose kernels are stored
// [in, out]; the block's LayerNorms are LayerNorm and LayerNorm_1 of inner_group_0),
// run_pretraining.py (cls/predictions transform to the embedding width; cls/seq_relationship
// output_weights [2, H] used transpose_b), classifier_utils.py (top-level output_weights [C, H]);
// transformers modeling_albert.py (nn.Linear) and modeling_tf_albert.py (Keras Dense; names
// checked against tf_model.h5 of TF 2.15; TFAlbertMLMHead adds decoder/bias, not bias). The
// embeddings are BERT's module under the TF2 scope albert/ (Google's keeps bert/), so their rows
// are BERT's (bert::lineage_specs), as are the classifier's and, in Google's names, the pooler's
// and the masked-LM head's (bert::specs_of).

// The rows of `parts`, one part after the other.
std::vector<ParamSpec> joined(std::initializer_list<std::vector<ParamSpec>> parts) {
  std::vector<ParamSpec> rows;
  for (const std::vector<ParamSpec>& part : parts)
    rows.insert(rows.end(), part.begin(), part.end());
  return rows;
}

#define PT_LAYER "encoder.albert_layer_groups.{i}.albert_layers.0."
std::vector<ParamSpec> hf_pytorch() {
  return joined(
      {bert::lineage_specs(
           Convention::kHfPytorch, "", "",
           {
               {kMappingWeight, false, "encoder.embedding_hidden_mapping_in.weight", kLinear},
               {kMappingBias, false, "encoder.embedding_hidden_mapping_in.bias", kVector},
               {kQueryWeight, true, PT_LAYER "attention.query.weight", kLinear},
               {kQueryBias, true, PT_LAYER "attention.query.bias", kVector},
               {kKeyWeight, true, PT_LAYER "attention.key.weight", kLinear},
               {kKeyBias, true, PT_LAYER "attention.key.bias", kVector},
               {kValueWeight, true, PT_LAYER "attention.value.weight", kLinear},
               {kValueBias, true, PT_LAYER "attention.value.bias", kVector},
               {kAttnOutWeight, true, PT_LAYER "attention.dense.weight", kLinear},
               {kAttnOutBias, true, PT_LAYER "attention.dense.bias", kVector},
               {kAttnLnScale, true, PT_LAYER "attention.LayerNorm.weight", kVector},
               {kAttnLnShift, true, PT_LAYER "attention.LayerNorm.bias", kVector},
               {kInterWeight, true, PT_LAYER "ffn.weight", kLinear},
               {kInterBias, true, PT_LAYER "ffn.bias", kVector},
               {kOutWeight, true, PT_LAYER "ffn_output.weight", kLinear},
               {kOutBias, true, PT_LAYER "ffn_output.bias", kVector},
               {kOutLnScale, true, PT_LAYER "full_layer_layer_norm.weight", kVector},
               {kOutLnShift, true, PT_LAYER "full_layer_layer_norm.bias", kVector},
               {kPoolerWeight, false, "pooler.weight", kLinear},
               {kPoolerBias, false, "pooler.bias", kVector},
               {kMlmDenseWeight, false, "predictions.dense.weight", kLinear},
               {kMlmDenseBias, false, "predictions.dense.bias", kVector},
               {kMlmLnScale, false, "predictions.LayerNorm.weight", kVector},
               {kMlmLnShift, false, "predictions.LayerNorm.bias", kVector},
               {kMlmBias, false, "predictions.bias|predictions.decoder.bias", kVector},
               {kSopWeight, false, "sop_classifier.classifier.weight", kLinear},
               {kSopBias, false, "sop_classifier.classifier.bias", kVector},
           }),
       bert::specs_of(Convention::kHfPytorch, {kClassifierWeight, kClassifierBias})});
}

#undef PT_LAYER

#define TF2_LAYER "albert/encoder/albert_layer_groups_._{i}/albert_layers_._0/"
std::vector<ParamSpec> hf_tf2() {
  return joined(
      {bert::lineage_specs(
           Convention::kHfTf2, "albert/", "",
           {
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
               {kInterWeight, true, TF2_LAYER "ffn/kernel", kDense},
               {kInterBias, true, TF2_LAYER "ffn/bias", kVector},
               {kOutWeight, true, TF2_LAYER "ffn_output/kernel", kDense},
               {kOutBias, true, TF2_LAYER "ffn_output/bias", kVector},
               {kOutLnScale, true, TF2_LAYER "full_layer_layer_norm/gamma", kVector},
               {kOutLnShift, true, TF2_LAYER "full_layer_layer_norm/beta", kVector},
               {kPoolerWeight, false, "albert/pooler/kernel", kDense},
               {kPoolerBias, false, "albert/pooler/bias", kVector},
               {kMlmDenseWeight, false, "predictions/dense/kernel", kDense},
               {kMlmDenseBias, false, "predictions/dense/bias", kVector},
               {kMlmLnScale, false, "predictions/LayerNorm/gamma", kVector},
               {kMlmLnShift, false, "predictions/LayerNorm/beta", kVector},
               {kMlmBias, false, "predictions/decoder/bias", kVector},
               {kSopWeight, false, "sop_classifier/classifier/kernel", kDense},
               {kSopBias, false, "sop_classifier/classifier/bias", kVector},
           }),
       bert::specs_of(Convention::kHfTf2, {kClassifierWeight, kClassifierBias})});
}
#undef TF2_LAYER

#define G_LAYER "bert/encoder/transformer/group_{i}/inner_group_0/"
std::vector<ParamSpec> google() {
  // Google's pooler, masked-LM head and classifier_utils classifier keep BERT's names.
  return joined(
      {bert::lineage_specs(
           Convention::kGoogleTf1, "bert/", "",
           {
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
               {kInterWeight, true, G_LAYER "ffn_1/intermediate/dense/kernel", kDense},
               {kInterBias, true, G_LAYER "ffn_1/intermediate/dense/bias", kVector},
               {kOutWeight, true, G_LAYER "ffn_1/intermediate/output/dense/kernel", kDense},
               {kOutBias, true, G_LAYER "ffn_1/intermediate/output/dense/bias", kVector},
               {kOutLnScale, true, G_LAYER "LayerNorm_1/gamma", kVector},
               {kOutLnShift, true, G_LAYER "LayerNorm_1/beta", kVector},
           }),
       bert::specs_of(Convention::kGoogleTf1, {kPoolerWeight, kPoolerBias, kMlmDenseWeight,
                                               kMlmDenseBias, kMlmLnScale, kMlmLnShift, kMlmBias}),
       {
           {kSopWeight, false, "cls/seq_relationship/output_weights", kTransposedB},
           {kSopBias, false, "cls/seq_relationship/output_bias", kVector},
       },
       bert::specs_of(Convention::kGoogleTf1, {kClassifierWeight, kClassifierBias})});
}
#undef G_LAYER

ModelConfig read_albert(Convention convention, const ConfigReader& r) {
  ModelConfig c;
  const bool google = convention == Convention::kGoogleTf1;
  if (!google) r.expect_text("model_type", "albert");
  read_encoder_sizes(r,
                     {.vocab = google ? std::nullopt : std::optional<int64_t>(30000),
                      .embedding = 128,
                      .hidden = 4096,
                      .layers = 12,
                      .heads = 64,
                      .inner = 16384},
                     c);
  c.layer_groups = r.integer({"num_hidden_groups"}, 1);
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
  if (!google) require_absolute_positions(r);
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
  // Built on first use, after BERT's tables.
  static const std::vector<ParamSpec> hf_pytorch = albert::hf_pytorch();
  static const std::vector<ParamSpec> hf_tf2 = albert::hf_tf2();
  static const std::vector<ParamSpec> google = albert::google();
  static const Family family = {
      .name = "albert",
      .tables = {&hf_pytorch, &hf_tf2, nullptr, &google},
      .token_table = bert::kWordEmb,
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
