#include "models/roberta/roberta_verify.h"

#include <deque>

#include "verify/config_reader.h"

namespace tensorferry::verify {
namespace roberta {
namespace {

using enum Use;

// BERT's parameters RoBERTa has under the same names: the embeddings, the encoder, the pooler
// (RobertaModel) and qa_outputs.
bool shared_with_bert(Param param) {
  if (param == Param(bert::kQaWeight) || param == Param(bert::kQaBias)) return true;
  for (int role = bert::kWordEmb; role <= bert::kPoolerBias; ++role)
    if (param == Param(static_cast<bert::Role>(role))) return true;
  return false;
}

// BERT's stored name with every path segment "bert" read as "roberta" (TF2: roberta/embeddings/
// ..., roberta/encoder/layer_._{i}/...; HF PyTorch names have no such segment).
std::string_view as_roberta(std::string_view bert_name) {
  static std::deque<std::string> names;  // the string_views of the table point here
  std::string out(bert_name);
  for (size_t pos = 0; (pos = out.find("bert/", pos)) != std::string::npos; pos += 8)
    if (pos == 0 || out[pos - 1] == '/' || out[pos - 1] == '|') out.replace(pos, 5, "roberta/");
  return names.emplace_back(std::move(out));
}

std::vector<ParamSpec> with_bert_base(Convention convention, std::vector<ParamSpec> heads) {
  std::vector<ParamSpec> out;
  for (const ParamSpec& spec : bert_verify_family().params(convention))
    if (shared_with_bert(spec.param))
      out.push_back({spec.param, spec.per_layer, as_roberta(spec.stored), spec.use});
  out.insert(out.end(), heads.begin(), heads.end());
  return out;
}

// RobertaLMHead (dense, gelu, layer_norm, decoder tied to the word embeddings + bias),
// RobertaClassificationHead (dense, tanh, out_proj on the first token), and the token
// classifier: nn.Linear in PyTorch, Keras Dense in TF2 (names checked against tf_model.h5 of
// transformers 4.57.6 / TF 2.15). Built on first use, after BERT's tables (namespace-scope tables
// of another file may not be initialised yet while this file's are).
std::vector<ParamSpec> hf_pytorch() {
  return with_bert_base(Convention::kHfPytorch,
                        {
                            {kLmDenseWeight, false, "lm_head.dense.weight", kLinear},
                            {kLmDenseBias, false, "lm_head.dense.bias", kVector},
                            {kLmNormScale, false, "lm_head.layer_norm.weight", kVector},
                            {kLmNormShift, false, "lm_head.layer_norm.bias", kVector},
                            {kLmBias, false, "lm_head.bias|lm_head.decoder.bias", kVector},
                            {kLmDecoder, false, "lm_head.decoder.weight", kLinear},
                            {kClassifierDenseWeight, false, "classifier.dense.weight", kLinear},
                            {kClassifierDenseBias, false, "classifier.dense.bias", kVector},
                            {kClassifierOutWeight, false, "classifier.out_proj.weight", kLinear},
                            {kClassifierOutBias, false, "classifier.out_proj.bias", kVector},
                            {kTokenClassifierWeight, false, "classifier.weight", kLinear},
                            {kTokenClassifierBias, false, "classifier.bias", kVector},
                        });
}

std::vector<ParamSpec> hf_tf2() {
  return with_bert_base(Convention::kHfTf2,
                        {
                            {kLmDenseWeight, false, "lm_head/dense/kernel", kDense},
                            {kLmDenseBias, false, "lm_head/dense/bias", kVector},
                            {kLmNormScale, false, "lm_head/layer_norm/gamma", kVector},
                            {kLmNormShift, false, "lm_head/layer_norm/beta", kVector},
                            {kLmBias, false, "lm_head/bias", kVector},
                            {kClassifierDenseWeight, false, "classifier/dense/kernel", kDense},
                            {kClassifierDenseBias, false, "classifier/dense/bias", kVector},
                            {kClassifierOutWeight, false, "classifier/out_proj/kernel", kDense},
                            {kClassifierOutBias, false, "classifier/out_proj/bias", kVector},
                            {kTokenClassifierWeight, false, "classifier/kernel", kDense},
                            {kTokenClassifierBias, false, "classifier/bias", kVector},
                        });
}

// RobertaConfig / XLMRobertaConfig: BertConfig's keys; the embeddings' padding_idx is
// pad_token_id (default 1), and position ids count from padding_idx + 1.
ModelConfig read_roberta(Convention convention, const ConfigReader& r) {
  // RobertaConfig always writes model_type; a config without one is BERT's (pre-model_type files).
  const std::string type = r.text("model_type", "");
  if (type != "roberta" && type != "xlm-roberta")
    r.unsupported("model_type \"" + type + "\" is not roberta or xlm-roberta");
  ModelConfig c = bert::read_bert_encoder(convention, r, type == "roberta" ? 50265 : 30522);
  c.pad_token_id = r.integer({"pad_token_id"}, 1, 0);
  c.position_offset = c.pad_token_id + 1;
  if (c.position_offset >= c.max_positions)
    r.unsupported("pad_token_id " + std::to_string(c.pad_token_id) + " leaves no position of the " +
                  std::to_string(c.max_positions));
  return c;
}

bool known_extra(Convention convention, const std::string& key) {
  return convention == Convention::kHfPytorch &&
         (key == "embeddings.position_ids" || key == "embeddings.token_type_ids" ||
          key == "lm_head.decoder.weight" || key == "lm_head.decoder.bias");
}

}  // namespace
}  // namespace roberta

const Family& roberta_verify_family() {
  static const std::vector<ParamSpec> hf_pytorch = roberta::hf_pytorch();
  static const std::vector<ParamSpec> hf_tf2 = roberta::hf_tf2();
  static const Family family = {
      .name = "roberta",
      .tables = {&hf_pytorch, &hf_tf2, nullptr, nullptr},
      .token_table = bert::kWordEmb,
      .hf_base_prefix = "roberta.",
      .config_files = {{{"config.json"}, {"config.json"}, {}, {}}},
      .read_config = roberta::read_roberta,
      .known_extra = roberta::known_extra,
      .output_stages = {"pooler", "mlm logits", "classifier logits", "token logits",
                        "qa start logits", "qa end logits"},
      .run = roberta::run,
  };
  return family;
}

}  // namespace tensorferry::verify
