// DistilBERT (HF DistilBertModel / TFDistilBertModel): word + position embeddings (no token
// types), LayerNorm; BERT's post-LayerNorm blocks, x = sa_layer_norm(x + out_lin(attention(
// q_lin(x), k_lin(x), v_lin(x)))), x = output_layer_norm(x + lin2(act(lin1(x)))); and the head
// the checkpoint carries: masked-LM logits (vocab_transform, act, vocab_layer_norm, projection on
// the tied word table + bias), sequence classification (pre_classifier, ReLU, classifier on the
// first token) or QA start/end logits.
#include "models/bert/bert_verify.h"
#include "models/distilbert/distilbert_verify.h"
#include "verify/blocks.h"

namespace tensorferry::verify::distilbert {

void run(Pass& p) {
  using namespace bert;  // NOLINT: DistilBERT's roles are BERT's
  if (!run_encoder(p, p.flat.positions, /*token_types=*/false)) return;
  EncoderHeads heads(p.record, p.w, p.c, p.h, p.offsets);
  // DistilBertForMaskedLM applies config.activation in its transform too.
  heads.masked_lm({{kMlmDenseWeight, kMlmDenseBias},
                   p.c.activation,
                   {kMlmLnScale, kMlmLnShift},
                   kWordEmb,
                   kMlmDecoder,
                   kMlmBias});
  // DistilBertForSequenceClassification: nn.ReLU() after pre_classifier whatever the activation.
  heads.first_token("classifier logits", {kPoolerWeight, kPoolerBias}, Activation::kRelu,
                    {kClassifierWeight, kClassifierBias});
  heads.question_answering({kQaWeight, kQaBias});
}

}  // namespace tensorferry::verify::distilbert
