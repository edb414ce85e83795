// RoBERTa configs: HF config.json only (RobertaConfig / XLMRobertaConfig), read and written as
// BERT's (the same keys) with RobertaConfig's defaults.
#include "models/roberta/roberta.h"

namespace tensorferry {

const nlohmann::json& RobertaFamily::hf_defaults() const {
  // RobertaConfig() as transformers 4.57.6 serialises it: BertConfig's but for the special
  // tokens (<s> 0, <pad> 1, </s> 2) and the vocabulary size. XLMRobertaConfig differs only in
  // model_type and vocab_size, and its files always state both.
  static const nlohmann::json defaults = [this] {
    nlohmann::json d = BertFamily::hf_defaults();
    d["model_type"] = "roberta";
    d["vocab_size"] = 50265;
    d["pad_token_id"] = 1;
    d["bos_token_id"] = 0;
    d["eos_token_id"] = 2;
    return d;
  }();
  return defaults;
}

bool RobertaFamily::matches_hf_config(const nlohmann::json& config) const {
  const auto it = config.find("model_type");
  return it != config.end() && it->is_string() && (*it == "roberta" || *it == "xlm-roberta");
}

}  // namespace tensorferry
