#include "verify/convention.h"

namespace tensorferry::verify {
namespace {

using enum Param;
using enum Use;

// GPT-2. Sources: openai/gpt-2 src/model.py (variable scopes, conv1d with w [1, nx, nf]),
// transformers modeling_gpt2.py (Conv1D weight [nx, nf], y = x·W + b) and modeling_tf_gpt2.py
// (TFConv1D: weight [nx, nf], bias [1, nf]; names checked against tf_model.h5 files written by
// transformers 4.57 / TF 2.15, which name the token table wte/embeddings, older ones wte/weight).
const std::vector<ParamSpec> kGpt2HfPytorch = {
    {kGpt2Wte, false, "wte.weight", kTable},
    {kGpt2Wpe, false, "wpe.weight", kTable},
    {kGpt2Ln1Scale, true, "h.{i}.ln_1.weight", kVector},
    {kGpt2Ln1Shift, true, "h.{i}.ln_1.bias", kVector},
    {kGpt2AttnWeight, true, "h.{i}.attn.c_attn.weight", kConv1D},
    {kGpt2AttnBias, true, "h.{i}.attn.c_attn.bias", kVector},
    {kGpt2AttnProjWeight, true, "h.{i}.attn.c_proj.weight", kConv1D},
    {kGpt2AttnProjBias, true, "h.{i}.attn.c_proj.bias", kVector},
    {kGpt2Ln2Scale, true, "h.{i}.ln_2.weight", kVector},
    {kGpt2Ln2Shift, true, "h.{i}.ln_2.bias", kVector},
    {kGpt2FcWeight, true, "h.{i}.mlp.c_fc.weight", kConv1D},
    {kGpt2FcBias, true, "h.{i}.mlp.c_fc.bias", kVector},
    {kGpt2MlpProjWeight, true, "h.{i}.mlp.c_proj.weight", kConv1D},
    {kGpt2MlpProjBias, true, "h.{i}.mlp.c_proj.bias", kVector},
    {kGpt2LnfScale, false, "ln_f.weight", kVector},
    {kGpt2LnfShift, false, "ln_f.bias", kVector},
    {kGpt2LmHead, false, "lm_head.weight", kLinear},  // read only when not tied to wte
};

const std::vector<ParamSpec> kGpt2HfTf2 = {
    {kGpt2Wte, false, "transformer/wte/embeddings|transformer/wte/weight", kTable},
    {kGpt2Wpe, false, "transformer/wpe/embeddings", kTable},
    {kGpt2Ln1Scale, true, "transformer/h_._{i}/ln_1/gamma", kVector},
    {kGpt2Ln1Shift, true, "transformer/h_._{i}/ln_1/beta", kVector},
    {kGpt2AttnWeight, true, "transformer/h_._{i}/attn/c_attn/weight", kConv1D},
    {kGpt2AttnBias, true, "transformer/h_._{i}/attn/c_attn/bias", kRowVector},
    {kGpt2AttnProjWeight, true, "transformer/h_._{i}/attn/c_proj/weight", kConv1D},
    {kGpt2AttnProjBias, true, "transformer/h_._{i}/attn/c_proj/bias", kRowVector},
    {kGpt2Ln2Scale, true, "transformer/h_._{i}/ln_2/gamma", kVector},
    {kGpt2Ln2Shift, true, "transformer/h_._{i}/ln_2/beta", kVector},
    {kGpt2FcWeight, true, "transformer/h_._{i}/mlp/c_fc/weight", kConv1D},
    {kGpt2FcBias, true, "transformer/h_._{i}/mlp/c_fc/bias", kRowVector},
    {kGpt2MlpProjWeight, true, "transformer/h_._{i}/mlp/c_proj/weight", kConv1D},
    {kGpt2MlpProjBias, true, "transformer/h_._{i}/mlp/c_proj/bias", kRowVector},
    {kGpt2LnfScale, false, "transformer/ln_f/gamma", kVector},
    {kGpt2LnfShift, false, "transformer/ln_f/beta", kVector},
};

const std::vector<ParamSpec> kGpt2OpenAi = {
    {kGpt2Wte, false, "model/wte", kTable},
    {kGpt2Wpe, false, "model/wpe", kTable},
    {kGpt2Ln1Scale, true, "model/h{i}/ln_1/g", kVector},
    {kGpt2Ln1Shift, true, "model/h{i}/ln_1/b", kVector},
    {kGpt2AttnWeight, true, "model/h{i}/attn/c_attn/w", kOpenAiConv1D},
    {kGpt2AttnBias, true, "model/h{i}/attn/c_attn/b", kVector},
    {kGpt2AttnProjWeight, true, "model/h{i}/attn/c_proj/w", kOpenAiConv1D},
    {kGpt2AttnProjBias, true, "model/h{i}/attn/c_proj/b", kVector},
    {kGpt2Ln2Scale, true, "model/h{i}/ln_2/g", kVector},
    {kGpt2Ln2Shift, true, "model/h{i}/ln_2/b", kVector},
    {kGpt2FcWeight, true, "model/h{i}/mlp/c_fc/w", kOpenAiConv1D},
    {kGpt2FcBias, true, "model/h{i}/mlp/c_fc/b", kVector},
    {kGpt2MlpProjWeight, true, "model/h{i}/mlp/c_proj/w", kOpenAiConv1D},
    {kGpt2MlpProjBias, true, "model/h{i}/mlp/c_proj/b", kVector},
    {kGpt2LnfScale, false, "model/ln_f/g", kVector},
    {kGpt2LnfShift, false, "model/ln_f/b", kVector},
};

// BERT. Sources: google-research/bert modeling.py (scopes; tf.layers.dense kernels [in, out]),
// run_pretraining.py (cls/predictions, cls/seq_relationship with output_weights [2, H] used
// transpose_b), run_classifier.py (top-level output_weights [C, H]), run_squad.py
// (cls/squad/output_weights [2, H]); transformers modeling_bert.py (nn.Linear) and
// modeling_tf_bert.py (Keras Dense; names checked against tf_model.h5 of TF 2.15).
const std::vector<ParamSpec> kBertHfPytorch = {
    {kBertWordEmb, false, "embeddings.word_embeddings.weight", kTable},
    {kBertPosEmb, false, "embeddings.position_embeddings.weight", kTable},
    {kBertTypeEmb, false, "embeddings.token_type_embeddings.weight", kTable},
    {kBertEmbLnScale, false, "embeddings.LayerNorm.weight", kVector},
    {kBertEmbLnShift, false, "embeddings.LayerNorm.bias", kVector},
    {kBertQueryWeight, true, "encoder.layer.{i}.attention.self.query.weight", kLinear},
    {kBertQueryBias, true, "encoder.layer.{i}.attention.self.query.bias", kVector},
    {kBertKeyWeight, true, "encoder.layer.{i}.attention.self.key.weight", kLinear},
    {kBertKeyBias, true, "encoder.layer.{i}.attention.self.key.bias", kVector},
    {kBertValueWeight, true, "encoder.layer.{i}.attention.self.value.weight", kLinear},
    {kBertValueBias, true, "encoder.layer.{i}.attention.self.value.bias", kVector},
    {kBertAttnOutWeight, true, "encoder.layer.{i}.attention.output.dense.weight", kLinear},
    {kBertAttnOutBias, true, "encoder.layer.{i}.attention.output.dense.bias", kVector},
    {kBertAttnLnScale, true, "encoder.layer.{i}.attention.output.LayerNorm.weight", kVector},
    {kBertAttnLnShift, true, "encoder.layer.{i}.attention.output.LayerNorm.bias", kVector},
    {kBertInterWeight, true, "encoder.layer.{i}.intermediate.dense.weight", kLinear},
    {kBertInterBias, true, "encoder.layer.{i}.intermediate.dense.bias", kVector},
    {kBertOutWeight, true, "encoder.layer.{i}.output.dense.weight", kLinear},
    {kBertOutBias, true, "encoder.layer.{i}.output.dense.bias", kVector},
    {kBertOutLnScale, true, "encoder.layer.{i}.output.LayerNorm.weight", kVector},
    {kBertOutLnShift, true, "encoder.layer.{i}.output.LayerNorm.bias", kVector},
    {kBertPoolerWeight, false, "pooler.dense.weight", kLinear},
    {kBertPoolerBias, false, "pooler.dense.bias", kVector},
    {kBertMlmDenseWeight, false, "cls.predictions.transform.dense.weight", kLinear},
    {kBertMlmDenseBias, false, "cls.predictions.transform.dense.bias", kVector},
    {kBertMlmLnScale, false, "cls.predictions.transform.LayerNorm.weight", kVector},
    {kBertMlmLnShift, false, "cls.predictions.transform.LayerNorm.bias", kVector},
    {kBertMlmBias, false, "cls.predictions.bias|cls.predictions.decoder.bias", kVector},
    {kBertMlmDecoder, false, "cls.predictions.decoder.weight", kLinear},  // only when untied
    {kBertNspWeight, false, "cls.seq_relationship.weight", kLinear},
    {kBertNspBias, false, "cls.seq_relationship.bias", kVector},
    {kBertClassifierWeight, false, "classifier.weight", kLinear},
    {kBertClassifierBias, false, "classifier.bias", kVector},
    {kBertQaWeight, false, "qa_outputs.weight", kLinear},
    {kBertQaBias, false, "qa_outputs.bias", kVector},
};

const std::vector<ParamSpec> kBertHfTf2 = {
    {kBertWordEmb, false,
     "bert/embeddings/word_embeddings/weight|bert/embeddings/word_embeddings/embeddings", kTable},
    {kBertPosEmb, false, "bert/embeddings/position_embeddings/embeddings", kTable},
    {kBertTypeEmb, false, "bert/embeddings/token_type_embeddings/embeddings", kTable},
    {kBertEmbLnScale, false, "bert/embeddings/LayerNorm/gamma", kVector},
    {kBertEmbLnShift, false, "bert/embeddings/LayerNorm/beta", kVector},
    {kBertQueryWeight, true, "bert/encoder/layer_._{i}/attention/self/query/kernel", kDense},
    {kBertQueryBias, true, "bert/encoder/layer_._{i}/attention/self/query/bias", kVector},
    {kBertKeyWeight, true, "bert/encoder/layer_._{i}/attention/self/key/kernel", kDense},
    {kBertKeyBias, true, "bert/encoder/layer_._{i}/attention/self/key/bias", kVector},
    {kBertValueWeight, true, "bert/encoder/layer_._{i}/attention/self/value/kernel", kDense},
    {kBertValueBias, true, "bert/encoder/layer_._{i}/attention/self/value/bias", kVector},
    {kBertAttnOutWeight, true, "bert/encoder/layer_._{i}/attention/output/dense/kernel", kDense},
    {kBertAttnOutBias, true, "bert/encoder/layer_._{i}/attention/output/dense/bias", kVector},
    {kBertAttnLnScale, true, "bert/encoder/layer_._{i}/attention/output/LayerNorm/gamma", kVector},
    {kBertAttnLnShift, true, "bert/encoder/layer_._{i}/attention/output/LayerNorm/beta", kVector},
    {kBertInterWeight, true, "bert/encoder/layer_._{i}/intermediate/dense/kernel", kDense},
    {kBertInterBias, true, "bert/encoder/layer_._{i}/intermediate/dense/bias", kVector},
    {kBertOutWeight, true, "bert/encoder/layer_._{i}/output/dense/kernel", kDense},
    {kBertOutBias, true, "bert/encoder/layer_._{i}/output/dense/bias", kVector},
    {kBertOutLnScale, true, "bert/encoder/layer_._{i}/output/LayerNorm/gamma", kVector},
    {kBertOutLnShift, true, "bert/encoder/layer_._{i}/output/LayerNorm/beta", kVector},
    {kBertPoolerWeight, false, "bert/pooler/dense/kernel", kDense},
    {kBertPoolerBias, false, "bert/pooler/dense/bias", kVector},
    {kBertMlmDenseWeight, false, "mlm___cls/predictions/transform/dense/kernel", kDense},
    {kBertMlmDenseBias, false, "mlm___cls/predictions/transform/dense/bias", kVector},
    {kBertMlmLnScale, false, "mlm___cls/predictions/transform/LayerNorm/gamma", kVector},
    {kBertMlmLnShift, false, "mlm___cls/predictions/transform/LayerNorm/beta", kVector},
    {kBertMlmBias, false, "mlm___cls/predictions/bias", kVector},
    {kBertNspWeight, false, "nsp___cls/seq_relationship/kernel", kDense},
    {kBertNspBias, false, "nsp___cls/seq_relationship/bias", kVector},
    {kBertClassifierWeight, false, "classifier/kernel", kDense},
    {kBertClassifierBias, false, "classifier/bias", kVector},
    {kBertQaWeight, false, "qa_outputs/kernel", kDense},
    {kBertQaBias, false, "qa_outputs/bias", kVector},
};

const std::vector<ParamSpec> kBertGoogle = {
    {kBertWordEmb, false, "bert/embeddings/word_embeddings", kTable},
    {kBertPosEmb, false, "bert/embeddings/position_embeddings", kTable},
    {kBertTypeEmb, false, "bert/embeddings/token_type_embeddings", kTable},
    {kBertEmbLnScale, false, "bert/embeddings/LayerNorm/gamma", kVector},
    {kBertEmbLnShift, false, "bert/embeddings/LayerNorm/beta", kVector},
    {kBertQueryWeight, true, "bert/encoder/layer_{i}/attention/self/query/kernel", kDense},
    {kBertQueryBias, true, "bert/encoder/layer_{i}/attention/self/query/bias", kVector},
    {kBertKeyWeight, true, "bert/encoder/layer_{i}/attention/self/key/kernel", kDense},
    {kBertKeyBias, true, "bert/encoder/layer_{i}/attention/self/key/bias", kVector},
    {kBertValueWeight, true, "bert/encoder/layer_{i}/attention/self/value/kernel", kDense},
    {kBertValueBias, true, "bert/encoder/layer_{i}/attention/self/value/bias", kVector},
    {kBertAttnOutWeight, true, "bert/encoder/layer_{i}/attention/output/dense/kernel", kDense},
    {kBertAttnOutBias, true, "bert/encoder/layer_{i}/attention/output/dense/bias", kVector},
    {kBertAttnLnScale, true, "bert/encoder/layer_{i}/attention/output/LayerNorm/gamma", kVector},
    {kBertAttnLnShift, true, "bert/encoder/layer_{i}/attention/output/LayerNorm/beta", kVector},
    {kBertInterWeight, true, "bert/encoder/layer_{i}/intermediate/dense/kernel", kDense},
    {kBertInterBias, true, "bert/encoder/layer_{i}/intermediate/dense/bias", kVector},
    {kBertOutWeight, true, "bert/encoder/layer_{i}/output/dense/kernel", kDense},
    {kBertOutBias, true, "bert/encoder/layer_{i}/output/dense/bias", kVector},
    {kBertOutLnScale, true, "bert/encoder/layer_{i}/output/LayerNorm/gamma", kVector},
    {kBertOutLnShift, true, "bert/encoder/layer_{i}/output/LayerNorm/beta", kVector},
    {kBertPoolerWeight, false, "bert/pooler/dense/kernel", kDense},
    {kBertPoolerBias, false, "bert/pooler/dense/bias", kVector},
    {kBertMlmDenseWeight, false, "cls/predictions/transform/dense/kernel", kDense},
    {kBertMlmDenseBias, false, "cls/predictions/transform/dense/bias", kVector},
    {kBertMlmLnScale, false, "cls/predictions/transform/LayerNorm/gamma", kVector},
    {kBertMlmLnShift, false, "cls/predictions/transform/LayerNorm/beta", kVector},
    {kBertMlmBias, false, "cls/predictions/output_bias", kVector},
    {kBertNspWeight, false, "cls/seq_relationship/output_weights", kTransposedB},
    {kBertNspBias, false, "cls/seq_relationship/output_bias", kVector},
    {kBertClassifierWeight, false, "output_weights", kTransposedB},
    {kBertClassifierBias, false, "output_bias", kVector},
    {kBertQaWeight, false, "cls/squad/output_weights", kTransposedB},
    {kBertQaBias, false, "cls/squad/output_bias", kVector},
};

// LLaMA, Mistral, Qwen2. Sources: transformers modeling_llama.py, modeling_mistral.py and
// modeling_qwen2.py (every projection an nn.Linear [out, in]; LlamaRMSNorm weight [width]; the
// base model under "model." in the *ForCausalLM classes). Biases exist only where the config
// says so (Qwen2: q/k/v; Llama attention_bias: q/k/v/o, mlp_bias: the MLP).
const std::vector<ParamSpec> kLlamaHfPytorch = {
    {kLlamaEmbed, false, "embed_tokens.weight", kTable},
    {kLlamaAttnNorm, true, "layers.{i}.input_layernorm.weight", kVector},
    {kLlamaQWeight, true, "layers.{i}.self_attn.q_proj.weight", kLinear},
    {kLlamaQBias, true, "layers.{i}.self_attn.q_proj.bias", kVector},
    {kLlamaKWeight, true, "layers.{i}.self_attn.k_proj.weight", kLinear},
    {kLlamaKBias, true, "layers.{i}.self_attn.k_proj.bias", kVector},
    {kLlamaVWeight, true, "layers.{i}.self_attn.v_proj.weight", kLinear},
    {kLlamaVBias, true, "layers.{i}.self_attn.v_proj.bias", kVector},
    {kLlamaOWeight, true, "layers.{i}.self_attn.o_proj.weight", kLinear},
    {kLlamaOBias, true, "layers.{i}.self_attn.o_proj.bias", kVector},
    {kLlamaMlpNorm, true, "layers.{i}.post_attention_layernorm.weight", kVector},
    {kLlamaGateWeight, true, "layers.{i}.mlp.gate_proj.weight", kLinear},
    {kLlamaGateBias, true, "layers.{i}.mlp.gate_proj.bias", kVector},
    {kLlamaUpWeight, true, "layers.{i}.mlp.up_proj.weight", kLinear},
    {kLlamaUpBias, true, "layers.{i}.mlp.up_proj.bias", kVector},
    {kLlamaDownWeight, true, "layers.{i}.mlp.down_proj.weight", kLinear},
    {kLlamaDownBias, true, "layers.{i}.mlp.down_proj.bias", kVector},
    {kLlamaNorm, false, "norm.weight", kVector},
    {kLlamaLmHead, false, "lm_head.weight", kLinear},  // read only when not tied
};

const std::vector<ParamSpec> kNone;

bool starts_with(std::string_view s, std::string_view prefix) { return s.starts_with(prefix); }
bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return parts;
    start = pos + 1;
  }
}

}  // namespace

std::string_view family_name(Family family) {
  switch (family) {
    case Family::kGpt2: return "gpt2";
    case Family::kBert: return "bert";
    case Family::kLlama: return "llama";
  }
  return "unknown";
}

std::optional<Family> family_from_name(std::string_view name) {
  for (Family f : kAllFamilies)
    if (family_name(f) == name) return f;
  return std::nullopt;
}

std::string_view convention_name(Convention convention) {
  switch (convention) {
    case Convention::kHfPytorch: return "hf-pytorch";
    case Convention::kHfTf2: return "hf-tf2";
    case Convention::kOpenAiTf1: return "openai-tf1";
    case Convention::kGoogleTf1: return "google-tf1";
  }
  return "unknown";
}

std::optional<Convention> convention_from_name(std::string_view name) {
  for (Convention c :
       {Convention::kHfPytorch, Convention::kHfTf2, Convention::kOpenAiTf1, Convention::kGoogleTf1})
    if (convention_name(c) == name) return c;
  return std::nullopt;
}

std::vector<Convention> conventions_of(Family family) {
  if (family == Family::kGpt2)
    return {Convention::kHfPytorch, Convention::kHfTf2, Convention::kOpenAiTf1};
  if (family == Family::kLlama) return {Convention::kHfPytorch};
  return {Convention::kHfPytorch, Convention::kHfTf2, Convention::kGoogleTf1};
}

std::string_view use_description(Use use) {
  switch (use) {
    case kTable: return "embedding table [rows, width]";
    case kVector: return "vector [n]";
    case kRowVector: return "TFConv1D bias [1, n]";
    case kLinear: return "PyTorch Linear weight [out, in] (y = x·Wᵀ + b)";
    case kTransposedB: return "TF1 output_weights [out, in] (matmul transpose_b)";
    case kDense: return "Keras Dense kernel [in, out] (y = x·K + b)";
    case kConv1D: return "GPT-2 Conv1D weight [in, out] (y = x·W + b)";
    case kOpenAiConv1D: return "OpenAI conv1d w [1, in, out]";
  }
  return "?";
}

bool stored_out_by_in(Use use) { return use == kLinear || use == kTransposedB; }
bool is_matrix_use(Use use) {
  return use == kLinear || use == kTransposedB || use == kDense || use == kConv1D ||
         use == kOpenAiConv1D;
}

const std::vector<ParamSpec>& param_table(Family family, Convention convention) {
  if (family == Family::kGpt2) {
    switch (convention) {
      case Convention::kHfPytorch: return kGpt2HfPytorch;
      case Convention::kHfTf2: return kGpt2HfTf2;
      case Convention::kOpenAiTf1: return kGpt2OpenAi;
      default: return kNone;
    }
  }
  if (family == Family::kLlama)
    return convention == Convention::kHfPytorch ? kLlamaHfPytorch : kNone;
  switch (convention) {
    case Convention::kHfPytorch: return kBertHfPytorch;
    case Convention::kHfTf2: return kBertHfTf2;
    case Convention::kGoogleTf1: return kBertGoogle;
    default: return kNone;
  }
}

const ParamSpec* find_param(Family family, Convention convention, Param param) {
  for (const auto& spec : param_table(family, convention))
    if (spec.param == param) return &spec;
  return nullptr;
}

std::string instantiate(std::string_view name_template, int layer) {
  std::string out(name_template);
  const size_t pos = out.find("{i}");
  if (pos != std::string::npos) out.replace(pos, 3, std::to_string(layer));
  return out;
}

std::vector<std::string> spellings(std::string_view stored, int layer) {
  std::vector<std::string> out;
  for (const auto& part : split(std::string(stored), '|')) out.push_back(instantiate(part, layer));
  return out;
}

std::string canonical_name(Family family, Param param, int layer) {
  const ParamSpec* spec = find_param(family, Convention::kHfPytorch, param);
  return spec ? spellings(spec->stored, layer).front() : std::string();
}

std::optional<std::string> normalize_name(Family family, Convention convention,
                                          const std::string& name) {
  switch (convention) {
    case Convention::kHfPytorch: {
      if (name.find('/') != std::string::npos || name.find(':') != std::string::npos)
        return std::nullopt;
      std::string key = name;
      const std::string_view prefix = family == Family::kGpt2    ? "transformer."
                                      : family == Family::kLlama ? "model."
                                                                 : "bert.";
      if (starts_with(key, prefix)) key = key.substr(prefix.size());
      // transformers renames these two on load (old BERT files, e.g. bert-base-uncased).
      if (ends_with(key, "LayerNorm.gamma"))
        key = key.substr(0, key.size() - 5) + "weight";
      else if (ends_with(key, "LayerNorm.beta"))
        key = key.substr(0, key.size() - 4) + "bias";
      return key;
    }
    case Convention::kHfTf2: {
      std::string key = name;
      if (starts_with(key, "/")) key = key.substr(1);
      if (ends_with(key, ":0")) key = key.substr(0, key.size() - 2);
      const auto parts = split(key, '/');
      // A tf_model.h5 dataset path is <Keras layer>/<model scope>/<weight path>; the weight's own
      // name (and HF's sharded files) start at the model scope or below it. Model scopes are the
      // snake-cased TF class names, all "tf...".
      size_t drop = 0;
      if (parts.size() >= 3 && starts_with(parts[1], "tf"))
        drop = 2;
      else if (parts.size() >= 2 && starts_with(parts[0], "tf"))
        drop = 1;
      std::string out;
      for (size_t i = drop; i < parts.size(); ++i) out += (out.empty() ? "" : "/") + parts[i];
      return out;
    }
    case Convention::kOpenAiTf1:
    case Convention::kGoogleTf1:
      if (ends_with(name, ":0")) return std::nullopt;
      return name;
  }
  return std::nullopt;
}

std::optional<ParamMatch> match_param(Family family, Convention convention,
                                      const std::string& key) {
  for (const auto& spec : param_table(family, convention)) {
    for (const auto& spelling : split(std::string(spec.stored), '|')) {
      const size_t hole = spelling.find("{i}");
      if (hole == std::string::npos) {
        if (key == spelling) return ParamMatch{spec.param, -1, &spec};
        continue;
      }
      const std::string_view before = std::string_view(spelling).substr(0, hole);
      const std::string_view after = std::string_view(spelling).substr(hole + 3);
      if (key.size() <= before.size() + after.size() || !starts_with(key, before) ||
          !ends_with(key, after))
        continue;
      const std::string digits =
          key.substr(before.size(), key.size() - before.size() - after.size());
      if (digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos ||
          (digits.size() > 1 && digits[0] == '0'))
        continue;
      return ParamMatch{spec.param, std::stoi(digits), &spec};
    }
  }
  return std::nullopt;
}

bool is_known_extra(Family family, Convention convention, const std::string& key) {
  switch (convention) {
    case Convention::kHfPytorch:
      if (family == Family::kGpt2)
        // Causal-mask buffers of transformers < 4.31, and the LM head tied to wte.
        return ends_with(key, ".attn.bias") || ends_with(key, ".attn.masked_bias") ||
               key == "lm_head.weight";
      if (family == Family::kLlama)
        // Rotary frequency buffers (per layer before transformers 4.31), and the LM head when
        // tied to embed_tokens.
        return ends_with(key, "rotary_emb.inv_freq") || key == "lm_head.weight";
      return key == "embeddings.position_ids" || key == "embeddings.token_type_ids" ||
             key == "cls.predictions.decoder.weight" || key == "cls.predictions.decoder.bias";
    case Convention::kHfTf2: return false;
    case Convention::kOpenAiTf1:
    case Convention::kGoogleTf1:
      // Training state Google's and HF's TF1 loaders skip by name.
      for (const auto& part : split(key, '/'))
        if (part == "adam_m" || part == "adam_v" || part == "global_step" ||
            starts_with(part, "AdamWeightDecayOptimizer") || part == "position_ids")
          return true;
      return false;
  }
  return false;
}

}  // namespace tensorferry::verify
