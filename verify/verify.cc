#include "verify/verify.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "verify/finite.h"
#include "verify/stage_spill.h"

namespace tensorferry::verify {
namespace {

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// Differences between the two configs that change the numbers, said up front: they explain a
// divergence better than the layer it first shows in.
void note_config_differences(const ModelConfig& a, const ModelConfig& b,
                             std::vector<std::string>& notes) {
  auto differ = [&](const char* what, const std::string& x, const std::string& y) {
    if (x != y)
      notes.push_back(std::string("configs differ: ") + what + " " + x + " (A, " + a.file +
                      ") vs " + y + " (B, " + b.file + ")");
  };
  differ("vocabulary size", std::to_string(a.vocab_size), std::to_string(b.vocab_size));
  differ("positions", std::to_string(a.max_positions), std::to_string(b.max_positions));
  differ("width", std::to_string(a.hidden), std::to_string(b.hidden));
  differ("layers", std::to_string(a.layers), std::to_string(b.layers));
  differ("heads", std::to_string(a.heads), std::to_string(b.heads));
  differ("MLP width", std::to_string(a.inner), std::to_string(b.inner));
  differ("token types", std::to_string(a.type_vocab_size), std::to_string(b.type_vocab_size));
  differ("LayerNorm epsilon", number(a.layer_norm_eps), number(b.layer_norm_eps));
  if (a.activation != b.activation) differ("activation", a.activation_name, b.activation_name);
  differ("tied word embeddings", a.tie_word_embeddings ? "true" : "false",
         b.tie_word_embeddings ? "true" : "false");
  if (!a.rotary) return;
  differ("key/value heads", std::to_string(a.kv_heads), std::to_string(b.kv_heads));
  differ("head width", std::to_string(a.head_dim), std::to_string(b.head_dim));
  differ("rotary embeddings", describe_rope(a.rope), describe_rope(b.rope));
  auto biases = [](const ModelConfig& c) {
    return std::string(c.qkv_bias ? "q/k/v " : "") + (c.o_bias ? "o " : "") +
           (c.mlp_bias ? "mlp " : "") + "biases";
  };
  differ("projection biases", biases(a), biases(b));
  differ("sliding window", std::to_string(a.sliding_window), std::to_string(b.sliding_window));
}

// The failed "weights" stage when a side's stored weights hold a NaN or an infinity (A first: a
// source that is not finite makes every comparison meaningless); nullopt when both are finite.
// `finite_a`: A's tensors already seen to be finite (IdenticalWeights::finite_a).
std::optional<StageReport> non_finite_weights(Model& a, Model* b,
                                              const std::vector<bool>& finite_a) {
  for (auto [side, model] : {std::pair{"A", &a}, std::pair{"B", b}}) {
    if (!model) continue;
    const auto found = find_non_finite_weight(model->weights->reader(),
                                              model == &a ? finite_a : std::vector<bool>{});
    if (!found) continue;
    StageReport r;
    r.name = "weights";
    r.status = StageStatus::kNotFinite;
    (model == &a ? r.non_finite_a : r.non_finite_b) = found->nan + found->inf;
    (model == &a ? r.tensors_a : r.tensors_b).push_back(found->name);
    r.note = std::string(side) + ": " + found->name + " " + describe_non_finite(*found) +
             (model == &a ? "; no forward pass from these weights can check a conversion"
                          : "; A's weights are all finite");
    return r;
  }
  return std::nullopt;
}

}  // namespace

ModelSummary summarize(const Model& model) {
  ModelSummary s;
  s.path = model.path;
  s.checkpoint = model.checkpoint;
  s.format = model.format;
  s.family = model.family->name;
  s.convention = convention_name(model.convention);
  s.convention_forced = model.convention_forced;
  s.config_file = model.config.file;
  s.activation = model.config.activation_name;
  s.vocab_size = model.config.vocab_size;
  s.layers = model.config.layers;
  s.hidden = model.config.hidden;
  s.heads = model.config.heads;
  s.inner = model.config.inner;
  s.layer_norm_eps = model.config.layer_norm_eps;
  if (model.config.rotary) {
    s.norm = "RMSNorm";
    s.kv_heads = model.config.kv_heads;
    s.rope = describe_rope(model.config.rope);
  }
  return s;
}

VerifyReport verify_models(Model& a, Model& b, const VerifyOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (a.family != b.family)
    throw Error(ErrorKind::kVerifyFailed, "A (" + a.path + ") is " + std::string(a.family->name) +
                                              ", B (" + b.path + ") is " +
                                              std::string(b.family->name) + ": not the same model");
  if (!(options.max_error >= 0) || !std::isfinite(options.max_error))
    throw_usage("--max-error must be a finite number >= 0");
  if (!(options.max_rel_error >= 0) || !std::isfinite(options.max_rel_error))
    throw_usage("--max-rel-error must be a finite number >= 0");
  VerifyReport report;
  report.a = summarize(a);
  report.b = summarize(b);
  report.max_error = options.max_error;
  report.max_rel_error = options.max_rel_error;
  if (options.fixed_sequences) report.sequences = default_sequences(a.config, b.config);
  report.sequences.insert(report.sequences.end(), options.sequences.begin(),
                          options.sequences.end());
  if (report.sequences.empty()) throw_usage("no token sequences to run");

  check_sequences(a, report.sequences);  // refused even when no forward pass has to run
  check_sequences(b, report.sequences);
  note_config_differences(a.config, b.config, report.notes);
  if (!options.always_forward) {
    if (options.progress) options.progress->step("verify: comparing the weights");
    report.identical = identical_weights(a, b);
    if (!report.identical) {
      a.weights->forget_reads();  // the forward pass reports its own reads
      b.weights->forget_reads();
    }
  }
  // Before anything is computed: from weights that are not finite every stage would be NaN on
  // both sides. B's weights, when identical to A's, need no second look.
  const std::vector<bool> finite_a =
      report.identical ? report.identical->finite_a : std::vector<bool>{};
  if (auto weights = non_finite_weights(a, report.identical ? nullptr : &b, finite_a)) {
    report.identical.reset();
    report.stages.push_back(std::move(*weights));
    report.first_failure = 0;
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
  }
  if (report.identical) {
    report.a.unused_weights = a.weights->unused_weights();
    report.b.unused_weights = b.weights->unused_weights();
    report.passed = true;
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
  }
  // A's stage values wait in a temporary file; B's stages are compared as they come and both
  // sides' values dropped, so about one stage of each side is in memory at a time.
  StageSpill spill;
  ProgressSink* progress = options.progress;
  ForwardResult fa = run_forward(a, report.sequences, [&](Stage& sa) {
    if (progress) progress->step("verify: A " + sa.name);
    spill.put(sa);
  });
  std::map<std::string, Stage*> a_stages;
  for (auto& s : fa.stages) a_stages.emplace(s.name, &s);
  std::map<std::string, StageReport> compared;
  const ForwardResult fb = run_forward(b, report.sequences, [&](Stage& sb) {
    auto it = a_stages.find(sb.name);
    if (it == a_stages.end() || compared.count(sb.name)) return;
    spill.take(*it->second);
    const StageReport& stage =
        compared.emplace(sb.name, compare_stages(*it->second, sb, options)).first->second;
    if (progress)
      progress->step("verify: B " + sb.name + ": " + std::string(status_name(stage.status)) +
                     ", max abs error " + number(stage.max_abs_error));
    std::vector<double>().swap(it->second->values.data);  // rows and cols stay for the report
    std::vector<double>().swap(sb.values.data);
  });
  report.a.unused_weights = fa.unused_weights;
  report.b.unused_weights = fb.unused_weights;
  using SideUnused = std::pair<const char*, const std::vector<std::string>*>;
  for (const auto& [side, unused] :
       {SideUnused{"A", &fa.unused_weights}, SideUnused{"B", &fb.unused_weights}})
    if (!unused->empty())
      report.notes.push_back(
          std::string(side) + " has " + std::to_string(unused->size()) +
          " weight tensor(s) the forward pass did not read, first: " + unused->front());

  report.stages = compare_forward(fa, fb, options, &compared);
  for (size_t i = 0; i < report.stages.size(); ++i)
    if (is_failure(report.stages[i].status)) {
      report.first_failure = i;
      break;
    }
  report.passed = !report.first_failure.has_value();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

VerifyReport verify_checkpoints(const std::string& path_a, const std::string& path_b,
                                const VerifyOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (options.progress) options.progress->step("verify: opening " + path_a);
  Model a = open_model(path_a, options.convention_a, options.family_a);
  if (options.progress) options.progress->step("verify: opening " + path_b);
  Model b = open_model(path_b, options.convention_b, options.family_b);
  VerifyReport report = verify_models(a, b, options);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace tensorferry::verify
