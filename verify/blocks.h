// The shared blocks the families' reference forward passes are assembled from (models/<family>/
// <family>_forward.cc): the loop over the layers with its stages, embeddings, the post-LayerNorm
// attention and MLP sub-layers of the BERT lineage, and the output heads. Each block reads the
// parameters the family names (its own roles, verify/convention.h Param) and applies them with
// the checkpoint's framework semantics (verify/layers.h).
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "verify/layers.h"
#include "verify/stage_recorder.h"

namespace tensorferry::verify {

// What every pass starts from: the model's config and weights, the stages recorded so far, and
// the rows of all sequences (sequence s in [offsets[s], offsets[s+1])).
struct Pass {
  Pass(Model& model, const std::vector<TokenSequence>& sequences, const StageObserver& observe)
      : c(model.config),
        w(*model.weights),
        record(w, result, observe),
        offsets(sequence_offsets(sequences)),
        flat(flatten(sequences)) {}

  // Records the "embeddings" stage, computed by `compute`, as the hidden state `h`.
  bool embeddings(const std::function<Matrix()>& compute) {
    return record.run("embeddings", -1, false, offsets, [&] {
      h = compute();
      return h;
    });
  }

  const ModelConfig& c;
  ModelWeights& w;
  ForwardResult result;
  StageRecorder record;
  std::vector<int64_t> offsets;
  FlatTokens flat;
  Matrix h;  // the hidden state the stages update
};

// A dense projection: weight and, when the layer has one, bias.
struct Linear {
  Param weight;
  std::optional<Param> bias;
};
// A LayerNorm's scale and shift.
struct Norm {
  Param scale;
  Param shift;
};

// y = x·W + b for `linear` of layer `layer` (0 for parameters that are not per layer).
Matrix apply(ModelWeights& w, const Linear& linear, int layer, const Matrix& x, int64_t out);

// Records stages "layer i attention" and "layer i" for every layer, each computed by the family's
// sub-layer, which updates `h` in place. Returns false when a stage could not be computed (the
// stages after it are then not reached).
using SubLayer = std::function<void(int layer, Matrix& h)>;
bool run_layers(StageRecorder& record, int64_t layers, const std::vector<int64_t>& offsets,
                Matrix& h, const SubLayer& attention, const SubLayer& mlp);

// The embeddings of an encoder: rows of the word table, plus the token-type rows (when the family
// has types) and the position rows at `positions`, then a LayerNorm; `width` columns.
struct EncoderEmbeddings {
  Param words;
  std::optional<Param> types;
  Param positions;
  Norm norm;
};
Matrix encoder_embeddings(ModelWeights& w, const ModelConfig& c, const EncoderEmbeddings& p,
                          const FlatTokens& flat, const std::vector<int64_t>& positions,
                          int64_t width);

// Post-LayerNorm self-attention (BERT lineage): h = LN(h + output(attention(q(h), k(h), v(h)))).
struct SelfAttention {
  Linear query, key, value, output;
  Norm norm;
};
void post_norm_attention(ModelWeights& w, const ModelConfig& c, const SelfAttention& p, int layer,
                         const std::vector<int64_t>& offsets, Matrix& h);

// Post-LayerNorm MLP (BERT lineage): h = LN(h + down(act(up(h)))).
struct FeedForward {
  Linear up, down;
  Norm norm;
};
void post_norm_mlp(ModelWeights& w, const ModelConfig& c, const FeedForward& p, int layer,
                   Matrix& h);

// The number of outputs of a stored head matrix (a classifier's labels, which no config holds
// reliably): rows of an [out, in] weight, columns of an [in, out] kernel.
int64_t stored_outputs(ModelWeights& w, Param weight);

// The output heads on an encoder's final hidden states `h` (rows of sequence s from offsets[s]).
// Each head is recorded as a head stage when the checkpoint has its weights and is left out
// otherwise (a checkpoint carries the heads of its class only).
class EncoderHeads {
 public:
  EncoderHeads(StageRecorder& record, ModelWeights& w, const ModelConfig& c, const Matrix& h,
               const std::vector<int64_t>& offsets);

  // "pooler": act(dense(first token of each sequence)), kept for pooled_head.
  void pooler(const Linear& dense, Activation act);
  // "mlm logits": LN(act(transform(h))) projected on the rows of `table` (tied decoder), or on
  // `untied_decoder` when the config unties it and the convention has one, plus `bias`.
  struct MaskedLm {
    Linear transform;
    Activation activation;
    Norm norm;
    Param table;
    std::optional<Param> untied_decoder;
    Param bias;
    int64_t width = 0;  // the transform's output width (the table's); 0 = the hidden width
  };
  void masked_lm(const MaskedLm& p);
  // `name` = out(pooler output), `labels` 0 = as many as the stored matrix has.
  void pooled(const char* name, const Linear& out, int64_t labels);
  // `name` = out(act(dense(first token))) (a classification head with its own dense layer).
  void first_token(const char* name, const Linear& dense, Activation act, const Linear& out);
  // `name` = out(h) on every token (token classification).
  void per_token(const char* name, const Linear& out);
  // "qa start logits" and "qa end logits": the two columns of out(h).
  void question_answering(const Linear& out);

 private:
  Matrix first_tokens() const;

  StageRecorder& record_;
  ModelWeights& w_;
  const ModelConfig& c_;
  const Matrix& h_;
  const std::vector<int64_t>& offsets_;
  std::vector<int64_t> pooled_offsets_;
  Matrix pooled_;
  bool have_pooled_ = false;
};

}  // namespace tensorferry::verify
