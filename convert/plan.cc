#include "convert/plan.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "convert/cast.h"
#include "convert/folder_files.h"
#include "convert/source_match.h"
#include "convert/target_check.h"
#include "core/error.h"
#include "core/output.h"
#include "core/training_state.h"
#include "models/config_json.h"

namespace tensorferry {
namespace fs = std::filesystem;

std::string_view step_name(Step step) {
  switch (step) {
    case Step::kCopy: return "copy";
    case Step::kReshape: return "reshape";
    case Step::kTranspose: return "transpose";
    case Step::kConstant: return "constant";
  }
  return "?";
}

namespace {

// "GPT2Model, GPT2LMHeadModel": what --class accepts for the family.
std::string hf_class_names(const Family& family) {
  std::string names;
  for (const auto& c : family.hf_classes())
    names += (names.empty() ? "" : ", ") + std::string(c.name);
  return names;
}

template <typename T>
bool contains(const std::vector<T>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

Format target_format(Convention to, const ModelConvertOptions& options) {
  switch (to) {
    case Convention::kHfPyTorch:
      if (options.hf_format != Format::kSafetensors && options.hf_format != Format::kPyTorch)
        throw_usage("hf-pytorch output is safetensors or pytorch, not " +
                    std::string(format_name(options.hf_format)));
      return options.hf_format;
    case Convention::kHfTf2: return Format::kKerasH5;
    case Convention::kOpenAiTf1:
    case Convention::kGoogleTf1: return Format::kTfBundle;
  }
  return Format::kSafetensors;
}

// The checkpoint file (TF1: bundle prefix) the target convention's loaders look for.
std::string target_file(const Family& family, Convention to, Format format) {
  return is_tf1(to) ? std::string(family.tf1_checkpoint_prefix(to)) : default_file_name(format);
}

std::string source_architecture(const ModelConfig& config) {
  auto it = config.hf.find("architectures");
  if (it != config.hf.end() && it->is_array() && !it->empty() && (*it)[0].is_string()) {
    std::string name = (*it)[0].get<std::string>();
    if (name.starts_with("TF")) name = name.substr(2);
    return name;
  }
  return "";
}

// transformers records the weights' dtype in config.json ("dtype" since 4.56, "torch_dtype"
// before); the key the written config already uses is kept.
std::string with_hf_dtype(const std::string& config_text, DType dtype) {
  static const std::map<DType, const char*> kTorchNames = {{DType::kF32, "float32"},
                                                           {DType::kF16, "float16"},
                                                           {DType::kBF16, "bfloat16"},
                                                           {DType::kF64, "float64"}};
  nlohmann::json hf = nlohmann::json::parse(config_text);
  const char* key = hf.contains("dtype") || !hf.contains("torch_dtype") ? "dtype" : "torch_dtype";
  hf[key] = kTorchNames.at(dtype);
  return dump_sorted_json(hf);
}

// (table row, layer or -1) -> the reader index of the source tensor holding that parameter.
using ParamSources = std::map<std::pair<size_t, int>, size_t>;

// Builds one Plan, step by step; each step reads what the earlier ones decided.
class Planner {
 public:
  Planner(const ModelSource& source, CheckpointReader& reader, const std::string& output,
          const ModelConvertOptions& options)
      : source_(source),
        reader_(reader),
        tensors_(reader.tensors()),
        family_(*source.family),
        params_(family_.params()),
        from_(source.convention),
        to_(options.to),
        options_(options) {
    plan_.output = output;
  }

  Plan run() {
    check_conventions();
    read_source_config();
    check_source_class();
    classify_source_tensors();
    bind_symbols_from_shapes();
    check_source_shapes();
    find_source_groups();
    check_groups_complete();
    plan_ties();
    choose_target_parts();
    plan_entries();
    plan_config();
    plan_files();
    check_target();
    return std::move(plan_);
  }

 private:
  std::string config_file_name() const { return fs::path(source_.config_path).filename().string(); }

  void check_conventions() const {
    for (const Convention c : {to_, from_})
      if (!family_.supports(c))
        throw_usage(std::string(family_.name()) + " models have no " +
                    std::string(convention_name(c)) + " convention");
  }

  void read_source_config() {
    plan_.family = &family_;
    plan_.source = source_;
    plan_.source_format = reader_.format();
    plan_.to = to_;
    plan_.cast = options_.dtype;
    plan_.shard_size = options_.shard_size;
    plan_.force = options_.force;
    plan_.allow_expansion = options_.allow_expansion;
    plan_.config =
        family_.read_config(from_, read_config_file(source_.config_path), source_.config_path);
    for (auto& note :
         family_.complete_config(from_, plan_.config, folder_file_reader(source_.folder)))
      plan_.notes.push_back(std::move(note));
    if (is_hf(from_)) plan_.hf_class = source_architecture(plan_.config);
  }

  // A class the table does not describe may give known names another meaning (the classifier
  // of BertForTokenClassification is per token); refuse rather than guess.
  void check_source_class() const {
    if (plan_.hf_class.empty() || family_.find_hf_class(plan_.hf_class) ||
        !options_.hf_class.empty())
      return;
    throw_usage(source_.config_path + " names the class " + plan_.hf_class +
                ", which tensorferry does not convert (known: " + hf_class_names(family_) +
                "); --class NAME converts the parts that class shares");
  }

  // Every source tensor is a parameter, a tied copy, or skipped with its reason.
  void classify_source_tensors() {
    const SourceIndex index(family_, plan_.config, from_);
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const TensorEntry& t = tensors_[i];
      if (t.name == "global_step" && t.dtype == DType::kI64 && t.shape.empty()) global_step_ = i;
      if (auto state = training_state_of(t, is_tf1(from_))) {
        plan_.skipped.push_back({t.name, describe_training_state(*state), std::move(state)});
        continue;
      }
      if (t.role == TensorRole::kBuffer) {
        plan_.skipped.push_back({t.name, "buffer (not a parameter)"});
        continue;
      }
      const std::string name = family_.normalize_source_name(from_, t.name);
      if (const SourceMatch* m = index.find(name))
        record_match(*m, i);
      else
        skip_unmatched(index, name, t);
    }
  }

  void record_match(const SourceMatch& m, size_t i) {
    switch (m.kind) {
      case SourceMatch::kParam: {
        auto [it, inserted] = param_source_.emplace(std::make_pair(m.row, m.layer), i);
        if (!inserted)
          throw_bad_input(reader_.path(), std::nullopt,
                          "both \"" + tensors_[it->second].name + "\" and \"" + tensors_[i].name +
                              "\" are the parameter " +
                              expand_template(params_[m.row].canonical, m.layer, "", ""),
                          tensors_[i].name);
        break;
      }
      case SourceMatch::kAlias: alias_hits_.emplace_back(m.row, i); break;
      case SourceMatch::kBuffer:
        plan_.skipped.push_back(
            {tensors_[i].name, "buffer: " + std::string(family_.buffers()[m.row].why)});
        break;
    }
  }

  void skip_unmatched(const SourceIndex& index, const std::string& name, const TensorEntry& t) {
    if (index.looks_per_layer(name))
      throw_bad_input(reader_.path(), std::nullopt,
                      "looks like a per-layer parameter but matches none of the config's " +
                          std::to_string(layer_count()) + " layers (is the layer count in " +
                          config_file_name() + " right?)",
                      t.name);
    if (std::string why = family_.unmatched_reason(from_, name); !why.empty()) {
      plan_.skipped.push_back({t.name, std::move(why)});
      return;
    }
    plan_.skipped.push_back({t.name, "not in the " + std::string(family_.name()) + " table for " +
                                         std::string(convention_name(from_))});
    plan_.notes.push_back("unknown tensor skipped: " + t.name);
  }

  int layer_count() const { return static_cast<int>(plan_.config.symbols.at('L')); }

  const StoredForm& source_form(size_t row) const {
    return params_[row].stored[static_cast<size_t>(from_)];
  }

  // Symbols the config did not fix (labels of a TF1 classifier, a missing type_vocab_size) come
  // from the tensors.
  void bind_symbols_from_shapes() {
    ModelConfig& config = plan_.config;
    for (const auto& [key, i] : param_source_) {
      const ShapeExpr expr = parse_shape_expr(source_form(key.first).shape);
      const Shape& actual = tensors_[i].shape;
      if (actual.size() != expr.size()) continue;  // reported by check_source_shapes
      for (size_t d = 0; d < expr.size(); ++d) {
        const Dim& dim = expr[d];
        if (dim.symbol == '#' || config.symbols.count(dim.symbol)) continue;
        if (actual[d] == 0 || actual[d] % dim.factor != 0) continue;
        family_.bind_symbol(config, dim.symbol, actual[d] / dim.factor);
      }
    }
  }

  // Every tensor's shape must be what the config implies.
  void check_source_shapes() const {
    for (const auto& [key, i] : param_source_) {
      const ShapeExpr expr = parse_shape_expr(source_form(key.first).shape);
      const auto expected = evaluate_shape(expr, plan_.config.symbols);
      const Shape& actual = tensors_[i].shape;
      if (!expected)
        throw_bad_input(reader_.path(), std::nullopt, "cannot tell the expected shape",
                        tensors_[i].name);
      bool ok = actual == *expected;
      // transformers' h5 loader reshapes on equal element count; files of transformers 4.2 have
      // 3-D attention kernels ([H, N, H/N]) that are row-major reshapes of the 2-D ones.
      if (!ok && from_ == Convention::kHfTf2 && actual.size() != expected->size())
        ok = num_elements(actual) == num_elements(*expected);
      if (!ok)
        throw_bad_input(reader_.path(), std::nullopt,
                        "shape " + shape_to_string(actual) + " but " + config_file_name() +
                            " implies " + shape_to_string(*expected) + " " +
                            shape_expr_to_string(expr),
                        tensors_[i].name);
    }
  }

  // Which parts of the model are there, in the family's order.
  void find_source_groups() {
    std::vector<std::string>& groups = plan_.groups;
    for (const auto& [key, i] : param_source_)
      if (!contains(groups, params_[key.first].group))
        groups.emplace_back(params_[key.first].group);
    auto rank = [&](const std::string& g) {
      const auto& all = family_.groups();
      for (size_t k = 0; k < all.size(); ++k)
        if (all[k].name == g) return k;
      return all.size();
    };
    std::sort(groups.begin(), groups.end(),
              [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
    if (!contains(groups, "base"))
      throw_bad_input(reader_.path(), std::nullopt,
                      "none of the " + std::string(family_.name()) +
                          " base-model tensors is here under " +
                          std::string(convention_name(from_)) +
                          " names (is this the right convention? --from overrides the detection)");
  }

  // The base-model prefix the source uses ("transformer.", "bert." or none), to name what is
  // missing the way the source would.
  std::string source_base_prefix() const {
    for (const auto& [key, i] : param_source_) {
      const std::string_view tmpl = source_form(key.first).name;
      if (!tmpl.starts_with("{base}")) continue;
      const std::string bare = expand_template(tmpl, key.second, "", "");
      const std::string& name = tensors_[i].name;
      return name.size() >= bare.size() ? name.substr(0, name.size() - bare.size()) : "";
    }
    return "";
  }

  // A part that is there at all must be there completely, and a part the config implies (Qwen2's
  // q/k/v biases) must be there even when the source has none of its tensors: transformers
  // would initialise them randomly.
  void check_groups_complete() const {
    for (size_t r = 0; r < params_.size(); ++r) {
      const ParamRow& row = params_[r];
      const bool present = contains(plan_.groups, row.group);
      if (!family_.group_enabled(plan_.config, row.group) ||
          (!present && !family_.group_required(plan_.config, row.group)))
        continue;
      for (int l = 0; l < (row.per_layer ? layer_count() : 1); ++l) {
        if (param_source_.count({r, row.per_layer ? l : -1})) continue;
        const GroupInfo* g = family_.find_group(row.group);
        const std::string what = g ? std::string(g->description) : std::string(row.group);
        throw_bad_input(
            reader_.path(), std::nullopt,
            "missing tensor " +
                expand_template(source_form(r).name, l, source_base_prefix(), "<scope>") +
                " (canonical " + expand_template(row.canonical, l, "", "") + "): " +
                (present ? "the source has other tensors of the " + what + " but not this one"
                         : config_file_name() + " implies the " + what +
                               ", but the source has none of them"));
      }
    }
  }

  std::optional<size_t> source_of(std::string_view canonical) const {
    for (const auto& [key, i] : param_source_)
      if (expand_template(params_[key.first].canonical, key.second, "", "") == canonical) return i;
    return std::nullopt;
  }

  // Tied copies in the source must equal what they copy (checked by verify_ties).
  void plan_ties() {
    for (const auto& [row, i] : alias_hits_) {
      const AliasRow& alias = family_.aliases()[row];
      const auto origin = source_of(alias.origin);
      if (!origin) {
        plan_.skipped.push_back(
            {tensors_[i].name, "tied copy of " + std::string(alias.origin) + ", which is absent"});
        continue;
      }
      plan_.ties.push_back({i, *origin, tensors_[i].name, tensors_[*origin].name});
      plan_.skipped.push_back({tensors_[i].name, "tied to " + tensors_[*origin].name +
                                                     " (checked equal, not stored twice)"});
    }
  }

  // What the target holds: the HF class and its parts, or the parts the TF1 target can store.
  void choose_target_parts() {
    if (is_hf(to_))
      choose_hf_class();
    else
      choose_storable_groups();
    for (auto& note : family_.check_expressible(to_, plan_.config, plan_.groups))
      plan_.notes.push_back(note);
    for (const auto& [key, i] : param_source_) {
      const std::string g(params_[key.first].group);
      if (contains(plan_.target_groups, g)) continue;
      const GroupInfo* info = family_.find_group(g);
      plan_.skipped.push_back(
          {tensors_[i].name, (cls_ ? std::string(cls_->name) : std::string(convention_name(to_))) +
                                 " has no " + std::string(info ? info->description : g)});
    }
    if (to_ == Convention::kGoogleTf1 && family_.find_group("pooler") &&
        !contains(plan_.target_groups, "pooler"))
      plan_.notes.push_back(
          "no pooler in the source: Google's run_classifier would start from a random "
          "bert/pooler/dense (init_from_checkpoint skips missing variables silently)");
  }

  void choose_hf_class() {
    if (options_.hf_class.empty()) {
      cls_ = &family_.choose_hf_class(plan_.groups, plan_.hf_class);
    } else {
      cls_ = family_.find_hf_class(options_.hf_class);
      if (!cls_)
        throw_usage("--class: no " + std::string(family_.name()) + " class '" + options_.hf_class +
                    "' (valid: " + hf_class_names(family_) + ")");
      for (auto g : cls_->groups)
        if (!contains(plan_.groups, g) && !contains(cls_->optional, g))
          throw_usage(options_.hf_class + " needs the " +
                      std::string(family_.find_group(g)->description) +
                      ", which the source does not have");
    }
    plan_.hf_class = std::string(cls_->name);
    for (const auto& g : plan_.groups)
      if (contains(cls_->groups, g)) plan_.target_groups.push_back(g);
    plan_.tf2_layers = family_.tf2_layer_names(*cls_, plan_.config);
    if (contains(cls_->optional, "pooler") && !contains(plan_.groups, "pooler"))
      plan_.notes.push_back(std::string(cls_->name) +
                            " without a pooler: transformers will initialise pooler.dense "
                            "randomly (pooler_output is meaningless)");
  }

  void choose_storable_groups() {
    for (const auto& g : plan_.groups) {
      bool storable = true;
      for (const auto& row : params_)
        if (row.group == g && row.stored[static_cast<size_t>(to_)].name.empty()) storable = false;
      if (storable) plan_.target_groups.push_back(g);
    }
  }

  // The entries, in the order the target lists them.
  void plan_entries() {
    plan_.target_format = target_format(to_, options_);
    plan_.target_file = target_file(family_, to_, plan_.target_format);
    add_parameter_entries();
    add_written_aliases();
    if (to_ == Convention::kHfTf2) order_by_keras_layer();
    if (to_ == Convention::kGoogleTf1) add_global_step();
  }

  std::string target_name(std::string_view tmpl, int layer) const {
    return expand_template(tmpl, layer, cls_ ? cls_->base_prefix : "", cls_ ? cls_->tf2_scope : "");
  }

  // Table order, with each run of consecutive per-layer rows expanded layer by layer (all of
  // layer 0, then layer 1, ...), which is how every framework lists a model's weights.
  void add_parameter_entries() {
    for (size_t r = 0; r < params_.size();) {
      size_t end = r + 1;
      if (params_[r].per_layer)
        while (end < params_.size() && params_[end].per_layer) ++end;
      const int count = params_[r].per_layer ? layer_count() : 1;
      for (int l = 0; l < count; ++l)
        for (size_t k = r; k < end; ++k) {
          const ParamRow& row = params_[k];
          if (!contains(plan_.target_groups, row.group)) continue;
          const size_t src = param_source_.at({k, row.per_layer ? l : -1});
          plan_.entries.push_back(
              entry_for(row, l, src, target_name(row.stored[static_cast<size_t>(to_)].name, l)));
        }
      r = end;
    }
  }

  // Copies the target format stores twice (Keras' duplicated embeddings under mlm___cls).
  void add_written_aliases() {
    for (const auto& alias : family_.aliases()) {
      if (alias.convention != to_ || !alias.written ||
          !contains(plan_.target_groups, alias.when_group))
        continue;
      for (size_t r = 0; r < params_.size(); ++r) {
        if (params_[r].canonical != alias.origin) continue;
        PlanEntry e =
            entry_for(params_[r], 0, param_source_.at({r, -1}), target_name(alias.name, 0));
        e.note = "second copy of " + std::string(alias.origin) +
                 " (Keras lists it under this layer too)";
        plan_.entries.push_back(std::move(e));
      }
    }
  }

  void order_by_keras_layer() {
    auto rank = [&](const PlanEntry& e) {
      const std::string layer = e.target.name.substr(0, e.target.name.find('/'));
      auto it = std::find(plan_.tf2_layers.begin(), plan_.tf2_layers.end(), layer);
      return static_cast<size_t>(it - plan_.tf2_layers.begin());
    };
    std::stable_sort(plan_.entries.begin(), plan_.entries.end(),
                     [&](const PlanEntry& a, const PlanEntry& b) { return rank(a) < rank(b); });
  }

  // run_classifier / run_pretraining restore through an Estimator that expects global_step.
  void add_global_step() {
    PlanEntry e;
    e.target = {"global_step", DType::kI64, {}, 8};
    if (global_step_ && from_ == Convention::kGoogleTf1) {
      e.source = *global_step_;
      e.source_name = tensors_[*global_step_].name;
      e.source_dtype = DType::kI64;
      e.step = Step::kCopy;
      e.note = "the source's training step";
    } else {
      e.step = Step::kConstant;
      e.constant.assign(8, std::byte{0});
      e.note = "step 0 (the Estimator-based scripts expect a global_step)";
    }
    plan_.entries.push_back(std::move(e));
  }

  PlanEntry entry_for(const ParamRow& row, int layer, size_t src, std::string name) const {
    PlanEntry e;
    e.canonical = expand_template(row.canonical, layer, "", "");
    e.group = row.group;
    e.source = src;
    e.source_name = tensors_[src].name;
    e.source_dtype = tensors_[src].dtype;
    e.source_shape = tensors_[src].shape;
    e.target.name = std::move(name);
    e.target.shape = *evaluate_shape(parse_shape_expr(row.stored[static_cast<size_t>(to_)].shape),
                                     plan_.config.symbols);
    e.target.dtype = cast_target(e.source_dtype, options_.dtype, e.source_name);
    e.target.nbytes = *num_elements(e.target.shape) * dtype_size(e.target.dtype);
    set_layout_step(e, row);
    return e;
  }

  // A transpose when exactly one side stores the transposed matrix, else a copy or a reshape.
  void set_layout_step(PlanEntry& e, const ParamRow& row) const {
    const Layout in = row.stored[static_cast<size_t>(from_)].layout;
    const Layout out = row.stored[static_cast<size_t>(to_)].layout;
    if ((in == Layout::kTranspose) == (out == Layout::kTranspose)) {
      e.step = e.source_shape == e.target.shape ? Step::kCopy : Step::kReshape;
      return;
    }
    const Shape canonical = *evaluate_shape(parse_shape_expr(row.shape), plan_.config.symbols);
    if (canonical.size() != 2)
      throw Error(ErrorKind::kUsage,
                  "table error: transposed parameter " + e.canonical + " is not a matrix");
    e.step = Step::kTranspose;
    const bool source_transposed = in == Layout::kTranspose;
    e.rows = source_transposed ? canonical[1] : canonical[0];
    e.cols = source_transposed ? canonical[0] : canonical[1];
  }

  void plan_config() {
    plan_.config_name = std::string(family_.config_file(to_));
    plan_.config_text = family_.write_config(to_, plan_.config, cls_);
    if (options_.dtype && is_hf(to_))
      plan_.config_text = with_hf_dtype(plan_.config_text, *options_.dtype);
  }

  // The other files of the folder: carried over, generated, or listed with the reason they stay
  // behind (convert/folder_files).
  void plan_files() { plan_folder_files(plan_, reader_); }

  // What the real run would refuse once it starts writing, refused here, so that a dry run
  // refuses it too: an existing output without --force, a dtype or name the container lacks.
  void check_target() const {
    AtomicOutput::refuse_existing(plan_.output, plan_.force);
    std::vector<TensorInfo> infos;
    for (const auto& e : plan_.entries) infos.push_back(e.target);
    TargetAdvice advice;
    advice.dtype = dtype_alternatives(plan_.target_format) + " would work";
    if (to_ == Convention::kHfTf2) advice.dtype += ", or --to hf-pytorch, which keeps it";
    check_target_holds(plan_.target_format, infos,
                       (fs::path(plan_.output) / plan_.target_file).string(), advice);
  }

  const ModelSource& source_;
  CheckpointReader& reader_;
  const std::vector<TensorEntry>& tensors_;
  const Family& family_;
  const std::vector<ParamRow>& params_;
  const Convention from_, to_;
  const ModelConvertOptions& options_;

  Plan plan_;
  ParamSources param_source_;
  std::vector<std::pair<size_t, size_t>> alias_hits_;  // (alias row, reader index)
  std::optional<size_t> global_step_;
  const HfClass* cls_ = nullptr;  // the HF class written (HF targets)
};

}  // namespace

Plan make_plan(const ModelSource& source, CheckpointReader& reader, const std::string& output,
               const ModelConvertOptions& options) {
  return Planner(source, reader, output, options).run();
}

void verify_ties(const Plan& plan, CheckpointReader& reader) {
  const auto& tensors = reader.tensors();
  std::vector<std::byte> scratch_a, scratch_b;
  for (const auto& tie : plan.ties) {
    const TensorEntry& a = tensors[tie.alias];
    const TensorEntry& b = tensors[tie.origin];
    bool same = a.dtype == b.dtype && a.shape == b.shape;
    if (same) {
      const auto bytes_b = reader.read(tie.origin, scratch_b);
      const auto bytes_a = reader.read(tie.alias, scratch_a);
      same = bytes_a.size() == bytes_b.size() &&
             std::memcmp(bytes_a.data(), bytes_b.data(), bytes_a.size()) == 0;
    }
    if (!same)
      throw_bad_input(reader.path(), std::nullopt,
                      "differs from " + tie.origin_name +
                          " although the config ties them (tie_word_embeddings); an untied head "
                          "needs \"tie_word_embeddings\": false in config.json",
                      tie.alias_name);
  }
}

}  // namespace tensorferry
