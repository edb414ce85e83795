// verify's reading of BERT (written from google-research/bert and transformers' model code,
// independently of the conversion table bert_table.cc): the parameters its forward pass reads,
// by role.
#pragma once

#include <functional>

#include "verify/blocks.h"
#include "verify/family.h"

namespace tensorferry::verify {
namespace bert {

enum Role {
  kWordEmb,
  kPosEmb,
  kTypeEmb,
  kEmbLnScale,
  kEmbLnShift,
  kQueryWeight,
  kQueryBias,
  kKeyWeight,
  kKeyBias,
  kValueWeight,
  kValueBias,
  kAttnOutWeight,
  kAttnOutBias,
  kAttnLnScale,
  kAttnLnShift,
  kInterWeight,
  kInterBias,
  kOutWeight,
  kOutBias,
  kOutLnScale,
  kOutLnShift,
  kPoolerWeight,
  kPoolerBias,
  kMlmDenseWeight,
  kMlmDenseBias,
  kMlmLnScale,
  kMlmLnShift,
  kMlmBias,
  kMlmDecoder,
  kNspWeight,
  kNspBias,
  kClassifierWeight,
  kClassifierBias,
  kQaWeight,
  kQaBias,
};

// The forward pass (models/bert/bert_forward.cc).
void run(Pass& p);

// BERT's embeddings (word + token type + the position rows `positions`, LayerNorm) and encoder
// layers, the stages every model of the lineage that keeps BERT's roles shares; without
// `token_types` (DistilBERT) the embeddings have no token-type rows. False when a stage could
// not be computed.
bool run_encoder(Pass& p, const std::vector<int64_t>& positions, bool token_types = true);

// The embedding rows alone (BERT's roles), `width` wide: for a family whose "embeddings" stage
// goes on (a projection to the hidden width).
Matrix embedding_rows(Pass& p, const std::vector<int64_t>& positions, int64_t width,
                      bool token_types = true);

// The "layer i attention" / "layer i" stages of BERT's post-LayerNorm blocks on p.h, layer i
// applying the weights stored for layer `stored_layer(i)` (ALBERT shares them across layers).
bool run_encoder_layers(Pass& p, const std::function<int(int)>& stored_layer);

// BERT's pooler (tanh dense on the first token) and masked-LM head (dense, activation,
// LayerNorm, the word table unless `untied_decoder`, bias) on p.h, the head's transform `width`
// wide (0: the hidden width; ALBERT's is the embedding width).
void run_pooler_and_mlm(EncoderHeads& heads, const ModelConfig& c,
                        std::optional<Param> untied_decoder, int64_t width);

// BERT's embedding rows, and with a non-empty `layers_scope` its encoder layer rows, as a family
// of the lineage stores them, followed by the family's own rows `own`. Outside HF PyTorch each
// spelling's first scope "bert/" becomes `embeddings_scope` on the embeddings and `layers_scope`
// on the layers ("electra/", "generator/"; "bert/" keeps Google's names). Call it on first use,
// not from a namespace-scope initialiser: BERT's tables may not be built yet then.
std::vector<ParamSpec> lineage_specs(Convention convention, std::string_view embeddings_scope,
                                     std::string_view layers_scope,
                                     std::initializer_list<ParamSpec> own);

// BERT's rows of `roles` in `convention` as BERT stores them, in its table's order: the modules
// a family of the lineage keeps under BERT's names. On first use, as lineage_specs.
std::vector<ParamSpec> specs_of(Convention convention, std::initializer_list<Role> roles);

// The sizes BertConfig names that the config classes modelled on it (AlbertConfig,
// ElectraConfig) keep under the same keys, with the class's defaults: `vocab` nullopt when the
// file must give it (Google's configs), `embedding` for the classes with an embedding_size.
struct EncoderSizes {
  std::optional<int64_t> vocab;
  std::optional<int64_t> embedding = std::nullopt;
  int64_t hidden, layers, heads, inner;
  int64_t type_vocab = 2;
};
void read_encoder_sizes(const ConfigReader& r, const EncoderSizes& defaults, ModelConfig& c);

// unsupported() unless the HF config's position_embedding_type is "absolute" (the lineage's
// relative variants are not read).
void require_absolute_positions(const ConfigReader& r);

// The keys BERT and its successors share (sizes, activation, epsilon), read as BertConfig
// (HF; `hf_vocab` is the config class's default vocabulary) or Google's BertConfig reads them.
ModelConfig read_bert_encoder(Convention convention, const ConfigReader& r, int64_t hf_vocab);

}  // namespace bert

const Family& bert_verify_family();

}  // namespace tensorferry::verify
