#include "models/electra/electra_verify.h"

#include <cmath>

#include "models/bert/bert_verify.h"
#include "verify/config_reader.h"

namespace tensorferry::verify {
namespace electra {
namespace {

using enum Use;

// Sources: google-research/electra model/modeling.py (BertModel under scope "electra" or
// "generator", the embeddings always under electra/embeddings, embeddings_project as a
// tf.layers.dense when the widths differ), run_pretraining.py (discriminator_predictions/dense
// and dense_1, generator_predictions/dense, LayerNorm, output_bias); transformers
// modeling_electra.py (nn.Linear; ElectraClassificationHead) and modeling_tf_electra.py (names
// checked against tf_model.h5 of TF 2.15).

// BERT's embedding and encoder rows with ELECTRA's scope in TF2 (electra/) and Google's
// (electra/embeddings; `net`/encoder), then ELECTRA's own rows.
std::vector<ParamSpec> with_encoder(Convention convention, std::string_view net,
                                    std::initializer_list<ParamSpec> own) {
  return bert::lineage_specs(convention, "electra/", std::string(net) + "/", own);
}

std::vector<ParamSpec> hf_pytorch() {
  return with_encoder(
      Convention::kHfPytorch, "electra",
      {{kProjectWeight, false, "embeddings_project.weight", kLinear},
       {kProjectBias, false, "embeddings_project.bias", kVector},
       {kDiscDenseWeight, false, "discriminator_predictions.dense.weight", kLinear},
       {kDiscDenseBias, false, "discriminator_predictions.dense.bias", kVector},
       {kDiscOutWeight, false, "discriminator_predictions.dense_prediction.weight", kLinear},
       {kDiscOutBias, false, "discriminator_predictions.dense_prediction.bias", kVector},
       {kGenDenseWeight, false, "generator_predictions.dense.weight", kLinear},
       {kGenDenseBias, false, "generator_predictions.dense.bias", kVector},
       {kGenLnScale, false, "generator_predictions.LayerNorm.weight", kVector},
       {kGenLnShift, false, "generator_predictions.LayerNorm.bias", kVector},
       {kGenBias, false, "generator_lm_head.bias", kVector},
       {kClsDenseWeight, false, "classifier.dense.weight", kLinear},
       {kClsDenseBias, false, "classifier.dense.bias", kVector},
       {kClsOutWeight, false, "classifier.out_proj.weight", kLinear},
       {kClsOutBias, false, "classifier.out_proj.bias", kVector}});
}

std::vector<ParamSpec> hf_tf2() {
  return with_encoder(
      Convention::kHfTf2, "electra",
      {{kProjectWeight, false, "electra/embeddings_project/kernel", kDense},
       {kProjectBias, false, "electra/embeddings_project/bias", kVector},
       {kDiscDenseWeight, false, "discriminator_predictions/dense/kernel", kDense},
       {kDiscDenseBias, false, "discriminator_predictions/dense/bias", kVector},
       {kDiscOutWeight, false, "discriminator_predictions/dense_prediction/kernel", kDense},
       {kDiscOutBias, false, "discriminator_predictions/dense_prediction/bias", kVector},
       {kGenDenseWeight, false, "generator_predictions/dense/kernel", kDense},
       {kGenDenseBias, false, "generator_predictions/dense/bias", kVector},
       {kGenLnScale, false, "generator_predictions/LayerNorm/gamma", kVector},
       {kGenLnShift, false, "generator_predictions/LayerNorm/beta", kVector},
       {kGenBias, false, "generator_lm_head/bias", kVector},
       {kClsDenseWeight, false, "classifier/dense/kernel", kDense},
       {kClsDenseBias, false, "classifier/dense/bias", kVector},
       {kClsOutWeight, false, "classifier/out_proj/kernel", kDense},
       {kClsOutBias, false, "classifier/out_proj/bias", kVector}});
}

std::vector<ParamSpec> google(bool generator) {
  if (generator)
    return with_encoder(Convention::kGoogleTf1, "generator",
                        {{kProjectWeight, false, "generator/embeddings_project/kernel", kDense},
                         {kProjectBias, false, "generator/embeddings_project/bias", kVector},
                         {kGenDenseWeight, false, "generator_predictions/dense/kernel", kDense},
                         {kGenDenseBias, false, "generator_predictions/dense/bias", kVector},
                         {kGenLnScale, false, "generator_predictions/LayerNorm/gamma", kVector},
                         {kGenLnShift, false, "generator_predictions/LayerNorm/beta", kVector},
                         {kGenBias, false, "generator_predictions/output_bias", kVector}});
  return with_encoder(Convention::kGoogleTf1, "electra",
                      {{kProjectWeight, false, "electra/embeddings_project/kernel", kDense},
                       {kProjectBias, false, "electra/embeddings_project/bias", kVector},
                       {kDiscDenseWeight, false, "discriminator_predictions/dense/kernel", kDense},
                       {kDiscDenseBias, false, "discriminator_predictions/dense/bias", kVector},
                       {kDiscOutWeight, false, "discriminator_predictions/dense_1/kernel", kDense},
                       {kDiscOutBias, false, "discriminator_predictions/dense_1/bias", kVector}});
}

// electra_hparams.json as run_pretraining.py reads --hparams: configure_pretraining.py's
// defaults, util/training_utils.py get_bert_config (size table, heads hidden/64, intermediate
// 4 x hidden, then model_hparam_overrides) and, for the generator, get_generator_config.
ModelConfig read_hparams(const ConfigReader& r, bool generator) {
  ModelConfig c;
  const std::string size = r.text("model_size", "small");
  if (size != "small" && size != "base" && size != "large")
    r.unsupported("model_size \"" + size + "\"");
  if (r.boolean("untied_generator_embeddings", false) || !r.boolean("untied_generator", true))
    r.unsupported("a generator without its own weights or with its own embeddings");
  const auto overrides = r.object("model_hparam_overrides");
  auto value = [&](const char* key, int64_t fallback) {
    return overrides && overrides->has(key) ? overrides->integer({key}, std::nullopt) : fallback;
  };
  c.hidden = value("hidden_size", size == "small" ? 256 : size == "base" ? 768 : 1024);
  c.layers = value("num_hidden_layers", size == "large" ? 24 : 12);
  c.heads = value("num_attention_heads", std::max<int64_t>(1, c.hidden / 64));
  c.inner = value("intermediate_size", 4 * c.hidden);
  c.max_positions = value("max_position_embeddings", 512);
  c.type_vocab_size = value("type_vocab_size", 2);
  c.vocab_size = r.integer({"vocab_size"}, 30522);
  c.embedding_size = r.integer({"embedding_size"}, size == "small" ? 128 : c.hidden);
  if (generator) {
    const double width = r.number("generator_hidden_size", 0.25);
    const double depth = r.number("generator_layers", 1.0);
    c.hidden = std::llround(static_cast<double>(c.hidden) * width);
    c.layers = std::llround(static_cast<double>(c.layers) * depth);
    c.inner = 4 * c.hidden;
    c.heads = std::max<int64_t>(1, c.hidden / 64);
  }
  c.activation_name = overrides ? overrides->text("hidden_act", "gelu") : "gelu";
  c.activation = r.activation(c.activation_name);  // ELECTRA's gelu is the erf form
  c.layer_norm_eps = 1e-12;
  return c;
}

ModelConfig read_hf(const ConfigReader& r) {
  ModelConfig c;
  r.expect_text("model_type", "electra");
  bert::read_encoder_sizes(
      r, {.vocab = 30522, .embedding = 128, .hidden = 256, .layers = 12, .heads = 4, .inner = 1024},
      c);
  c.activation_name = r.text("hidden_act", "gelu");
  c.activation = r.activation(c.activation_name);
  c.layer_norm_eps = r.number("layer_norm_eps", 1e-12);
  bert::require_absolute_positions(r);
  return c;
}

ModelConfig read_discriminator(Convention convention, const ConfigReader& r) {
  ModelConfig c = convention == Convention::kGoogleTf1 ? read_hparams(r, false) : read_hf(r);
  r.check_heads(c);
  return c;
}

ModelConfig read_generator(Convention convention, const ConfigReader& r) {
  ModelConfig c = convention == Convention::kGoogleTf1 ? read_hparams(r, true) : read_hf(r);
  r.check_heads(c);
  return c;
}

bool hf_extra(Convention convention, const std::string& key) {
  return convention == Convention::kHfPytorch &&
         (key == "embeddings.position_ids" || key == "embeddings.token_type_ids" ||
          key == "generator_lm_head.weight");
}

// A Google checkpoint holds the other network too.
bool discriminator_extra(Convention convention, const std::string& key) {
  return hf_extra(convention, key) ||
         (convention == Convention::kGoogleTf1 &&
          (key.starts_with("generator/") || key.starts_with("generator_predictions/")));
}

bool generator_extra(Convention convention, const std::string& key) {
  return hf_extra(convention, key) ||
         (convention == Convention::kGoogleTf1 &&
          (key.starts_with("electra/encoder/") || key.starts_with("electra/embeddings_project/") ||
           key.starts_with("discriminator_predictions/")));
}

Family family(bool generator) {
  // Built on first use, after BERT's tables.
  static const std::vector<ParamSpec> kHfPytorch = hf_pytorch();
  static const std::vector<ParamSpec> kHfTf2 = hf_tf2();
  static const std::vector<ParamSpec> kGoogle[] = {google(false), google(true)};
  return {
      .name = generator ? "electra-generator" : "electra",
      .tables = {&kHfPytorch, &kHfTf2, nullptr, &kGoogle[generator ? 1 : 0]},
      .token_table = bert::kWordEmb,
      .hf_base_prefix = "electra.",
      .config_files = {{{"config.json"}, {"config.json"}, {}, {"electra_hparams.json"}}},
      .read_config = generator ? read_generator : read_discriminator,
      .known_extra = generator ? generator_extra : discriminator_extra,
      .output_stages = {"discriminator logits", "mlm logits", "classifier logits"},
      .run = run,
  };
}

}  // namespace
}  // namespace electra

const Family& electra_verify_family() {
  static const Family family = electra::family(false);
  return family;
}

const Family& electra_generator_verify_family() {
  static const Family family = electra::family(true);
  return family;
}

}  // namespace tensorferry::verify
