#include "convert/plan.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "core/error.h"
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

// Keras weight names are "<top-level layer>/<model scope>/<path>"; the scope is the class name
// in snake case plus a per-process counter suffix when several models were built ("_1"), so
// lookups ignore it, as transformers' h5 loader does.
std::string strip_tf2_scope(const std::string& name) {
  const size_t a = name.find('/');
  if (a == std::string::npos) return name;
  const size_t b = name.find('/', a + 1);
  if (b == std::string::npos) return name;
  return name.substr(0, a) + name.substr(b);
}

std::string lookup_key(Convention c, const std::string& name) {
  return c == Convention::kHfTf2 ? strip_tf2_scope(name) : name;
}

// Every run of digits as '#': "model/h12/ln_1/g" -> "model/h#/ln_#/g".
std::string digits_folded(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(name[i]))) {
      out += '#';
      while (i + 1 < name.size() && std::isdigit(static_cast<unsigned char>(name[i + 1]))) ++i;
    } else {
      out += name[i];
    }
  }
  return out;
}

template <typename T>
bool contains(const std::vector<T>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

struct Match {
  enum Kind { kParam, kAlias, kBuffer } kind;
  size_t row;
  int layer;
};

// Source-side lookup: every name the source convention may use for every row of the table.
class SourceIndex {
 public:
  SourceIndex(const Family& family, const ModelConfig& config, Convention c) {
    std::vector<std::string> bases = {""};
    if (c == Convention::kHfPyTorch)
      for (const auto& cls : family.hf_classes())
        if (!contains(bases, cls.base_prefix)) bases.emplace_back(cls.base_prefix);
    const int layers = static_cast<int>(config.symbols.at('L'));
    auto add = [&](std::string_view tmpl, bool per_layer, Match m) {
      if (tmpl.empty()) return;
      for (const auto& base : bases) {
        for (int i = 0; i < (per_layer ? layers : 1); ++i) {
          m.layer = per_layer ? i : -1;
          map_.emplace(lookup_key(c, expand_template(tmpl, i, base, "S")), m);
        }
        if (per_layer)
          layer_patterns_.insert(digits_folded(lookup_key(c, expand_template(tmpl, 0, base, "S"))));
      }
    };
    const auto& params = family.params();
    for (size_t r = 0; r < params.size(); ++r)
      if (family.group_enabled(config, params[r].group))
        add(params[r].stored[static_cast<size_t>(c)].name, params[r].per_layer,
            {Match::kParam, r, -1});
    // Aliases and buffers never shadow a parameter (an untied head has the alias's name).
    const auto& aliases = family.aliases();
    for (size_t r = 0; r < aliases.size(); ++r)
      if (aliases[r].convention == c) add(aliases[r].name, false, {Match::kAlias, r, -1});
    const auto& buffers = family.buffers();
    for (size_t r = 0; r < buffers.size(); ++r)
      if (buffers[r].convention == c)
        add(buffers[r].name, buffers[r].name.find("{i}") != std::string_view::npos,
            {Match::kBuffer, r, -1});
  }

  const Match* find(const std::string& key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  // Whether `key` has the shape of a per-layer name (with some other layer index).
  bool looks_per_layer(const std::string& key) const {
    return layer_patterns_.count(digits_folded(key)) > 0;
  }

 private:
  std::unordered_map<std::string, Match> map_;
  std::set<std::string> layer_patterns_;
};

// Training state that TF1 checkpoints carry next to the weights, for readers that did not mark
// it: optimizer slots are "<variable>/<slot>", counters are top-level.
std::optional<std::string> tf1_training_state(const std::string& name) {
  static const char* kSlots[] = {"adam_m",
                                 "adam_v",
                                 "Adam",
                                 "Adam_1",
                                 "Momentum",
                                 "Adagrad",
                                 "RMSProp",
                                 "RMSProp_1",
                                 "AdamWeightDecayOptimizer",
                                 "AdamWeightDecayOptimizer_1",
                                 "LAMB",
                                 "LAMB_1"};
  static const char* kCounters[] = {"global_step", "beta1_power",        "beta2_power",
                                    "good_steps",  "current_loss_scale", "loss_scale",
                                    "save_counter"};
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string::npos) slash = name.size();
    const std::string part = name.substr(start, slash - start);
    for (const char* s : kSlots)
      if (part == s && start > 0) return "optimizer slot (" + part + ")";
    start = slash + 1;
  }
  for (const char* c : kCounters)
    if (name == c) return "training counter";
  return std::nullopt;
}

std::string role_reason(const TensorEntry& t) {
  switch (t.role) {
    case TensorRole::kOptimizerSlot: return "optimizer slot";
    case TensorRole::kCounter: return "training counter";
    case TensorRole::kObjectGraph: return "TF2 object graph (checkpoint bookkeeping)";
    case TensorRole::kBuffer: return "buffer (not a parameter)";
    case TensorRole::kWeight: break;
  }
  return "";
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

std::string target_file(Convention to, Format format) {
  switch (to) {
    case Convention::kOpenAiTf1: return "model.ckpt";
    case Convention::kGoogleTf1: return "bert_model.ckpt";
    default: return default_file_name(format);
  }
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

}  // namespace

Plan make_plan(const ModelSource& source, CheckpointReader& reader, const std::string& output,
               const ModelConvertOptions& options) {
  const Family& family = *source.family;
  const Convention from = source.convention;
  const Convention to = options.to;
  if (!family.supports(to))
    throw_usage(std::string(family.name()) + " models have no " + std::string(convention_name(to)) +
                " convention");
  if (!family.supports(from))
    throw_usage(std::string(family.name()) + " models have no " +
                std::string(convention_name(from)) + " convention");

  Plan plan;
  plan.family = &family;
  plan.source = source;
  plan.source_format = reader.format();
  plan.to = to;
  plan.output = output;
  plan.cast = options.dtype;
  plan.shard_size = options.shard_size;
  plan.force = options.force;
  plan.config = family.read_config(from, read_text_file(source.config_path), source.config_path);
  ModelConfig& config = plan.config;
  if (is_hf(from)) plan.hf_class = source_architecture(config);
  if (!plan.hf_class.empty() && !family.find_hf_class(plan.hf_class) && options.hf_class.empty()) {
    // A class the table does not describe may give known names another meaning (the classifier
    // of BertForTokenClassification is per token); refuse rather than guess.
    std::string known;
    for (const auto& c : family.hf_classes())
      known += (known.empty() ? "" : ", ") + std::string(c.name);
    throw_usage(source.config_path + " names the class " + plan.hf_class +
                ", which tensorferry does not convert (known: " + known +
                "); --class NAME converts the parts that class shares");
  }

  // 1. Classify every source tensor.
  const auto& tensors = reader.tensors();
  const auto& params = family.params();
  const SourceIndex index(family, config, from);
  std::map<std::pair<size_t, int>, size_t> param_source;  // (row, layer) -> reader index
  std::vector<std::pair<size_t, size_t>> alias_hits;      // (alias row, reader index)
  std::optional<size_t> global_step;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorEntry& t = tensors[i];
    if (t.name == "global_step" && t.dtype == DType::kI64 && t.shape.empty()) global_step = i;
    if (t.role != TensorRole::kWeight) {
      plan.skipped.push_back({t.name, role_reason(t)});
      continue;
    }
    const std::string key = lookup_key(from, family.normalize_source_name(from, t.name));
    const Match* m = index.find(key);
    if (!m) {
      if (is_tf1(from))
        if (auto why = tf1_training_state(t.name)) {
          plan.skipped.push_back({t.name, *why});
          continue;
        }
      if (index.looks_per_layer(key))
        throw_bad_input(reader.path(), std::nullopt,
                        "looks like a per-layer parameter but matches none of the config's " +
                            std::to_string(config.symbols.at('L')) +
                            " layers (is the layer count in " +
                            fs::path(source.config_path).filename().string() + " right?)",
                        t.name);
      plan.skipped.push_back({t.name, "not in the " + std::string(family.name()) + " table for " +
                                          std::string(convention_name(from))});
      plan.notes.push_back("unknown tensor skipped: " + t.name);
      continue;
    }
    switch (m->kind) {
      case Match::kParam: {
        auto [it, inserted] = param_source.emplace(std::make_pair(m->row, m->layer), i);
        if (!inserted)
          throw_bad_input(reader.path(), std::nullopt,
                          "both \"" + tensors[it->second].name + "\" and \"" + t.name +
                              "\" are the parameter " +
                              expand_template(params[m->row].canonical, m->layer, "", ""),
                          t.name);
        break;
      }
      case Match::kAlias: alias_hits.emplace_back(m->row, i); break;
      case Match::kBuffer:
        plan.skipped.push_back({t.name, "buffer: " + std::string(family.buffers()[m->row].why)});
        break;
    }
  }

  // 2. Symbols the config did not fix (labels of a TF1 classifier, a missing type_vocab_size)
  // come from the tensors; then every tensor's shape must be what the config implies.
  for (const auto& [key, i] : param_source) {
    const StoredForm& form = params[key.first].stored[static_cast<size_t>(from)];
    const ShapeExpr expr = parse_shape_expr(form.shape);
    const Shape& actual = tensors[i].shape;
    if (actual.size() != expr.size()) continue;  // reported by the shape check below
    for (size_t d = 0; d < expr.size(); ++d) {
      const Dim& dim = expr[d];
      if (dim.symbol == '#' || config.symbols.count(dim.symbol)) continue;
      if (actual[d] == 0 || actual[d] % dim.factor != 0) continue;
      family.bind_symbol(config, dim.symbol, actual[d] / dim.factor);
    }
  }
  for (const auto& [key, i] : param_source) {
    const StoredForm& form = params[key.first].stored[static_cast<size_t>(from)];
    const auto expected = evaluate_shape(parse_shape_expr(form.shape), config.symbols);
    const Shape& actual = tensors[i].shape;
    if (!expected)
      throw_bad_input(reader.path(), std::nullopt, "cannot tell the expected shape",
                      tensors[i].name);
    bool ok = actual == *expected;
    // transformers' h5 loader reshapes on equal element count; files of transformers 4.2 have
    // 3-D attention kernels ([H, N, H/N]) that are row-major reshapes of the 2-D ones.
    if (!ok && from == Convention::kHfTf2 && actual.size() != expected->size())
      ok = num_elements(actual) == num_elements(*expected);
    if (!ok)
      throw_bad_input(reader.path(), std::nullopt,
                      "shape " + shape_to_string(actual) + " but " +
                          fs::path(source.config_path).filename().string() + " implies " +
                          shape_to_string(*expected) + " " +
                          shape_expr_to_string(parse_shape_expr(form.shape)),
                      tensors[i].name);
  }

  // 3. Which parts of the model are there, and are they complete?
  for (const auto& [key, i] : param_source)
    if (!contains(plan.groups, params[key.first].group))
      plan.groups.emplace_back(params[key.first].group);
  std::sort(plan.groups.begin(), plan.groups.end(), [&](const auto& a, const auto& b) {
    auto rank = [&](const std::string& g) {
      const auto& gs = family.groups();
      for (size_t k = 0; k < gs.size(); ++k)
        if (gs[k].name == g) return k;
      return gs.size();
    };
    return rank(a) < rank(b);
  });
  if (!contains(plan.groups, "base"))
    throw_bad_input(reader.path(), std::nullopt,
                    "none of the " + std::string(family.name()) +
                        " base-model tensors is here "
                        "under " +
                        std::string(convention_name(from)) +
                        " names (is this the right "
                        "convention? --from overrides the detection)");
  const int layers = static_cast<int>(config.symbols.at('L'));
  // The base-model prefix the source uses ("transformer.", "bert." or none), to name what is
  // missing the way the source would.
  std::string source_base;
  for (const auto& [key, i] : param_source) {
    const std::string_view tmpl = params[key.first].stored[static_cast<size_t>(from)].name;
    if (!tmpl.starts_with("{base}")) continue;
    const std::string bare = expand_template(tmpl, key.second, "", "");
    const std::string& name = tensors[i].name;
    if (name.size() >= bare.size()) source_base = name.substr(0, name.size() - bare.size());
    break;
  }
  for (size_t r = 0; r < params.size(); ++r) {
    const ParamRow& row = params[r];
    if (!contains(plan.groups, row.group) || !family.group_enabled(config, row.group)) continue;
    for (int l = 0; l < (row.per_layer ? layers : 1); ++l) {
      const int layer = row.per_layer ? l : -1;
      if (param_source.count({r, layer})) continue;
      const GroupInfo* g = family.find_group(row.group);
      throw_bad_input(reader.path(), std::nullopt,
                      "missing tensor " +
                          expand_template(row.stored[static_cast<size_t>(from)].name, l,
                                          source_base, "<scope>") +
                          " (canonical " + expand_template(row.canonical, l, "", "") +
                          "): the source has other tensors of the " +
                          std::string(g ? g->description : row.group) + " but not this one");
    }
  }
  auto source_of = [&](std::string_view canonical) -> std::optional<size_t> {
    for (const auto& [key, i] : param_source)
      if (expand_template(params[key.first].canonical, key.second, "", "") == canonical) return i;
    return std::nullopt;
  };

  // 4. Tied copies in the source must equal what they copy (checked by verify_ties).
  for (const auto& [row, i] : alias_hits) {
    const AliasRow& alias = family.aliases()[row];
    const auto origin = source_of(alias.origin);
    if (!origin) {
      plan.skipped.push_back(
          {tensors[i].name, "tied copy of " + std::string(alias.origin) + ", which is absent"});
      continue;
    }
    plan.ties.push_back({i, *origin, tensors[i].name, tensors[*origin].name});
    plan.skipped.push_back({tensors[i].name, "tied to " + tensors[*origin].name +
                                                 " (checked equal, not stored "
                                                 "twice)"});
  }

  // 5. What the target holds.
  const HfClass* cls = nullptr;
  if (is_hf(to)) {
    if (!options.hf_class.empty()) {
      cls = family.find_hf_class(options.hf_class);
      if (!cls) throw_usage("no " + std::string(family.name()) + " class " + options.hf_class);
      for (auto g : cls->groups)
        if (!contains(plan.groups, g) && !contains(cls->optional, g))
          throw_usage(options.hf_class + " needs the " +
                      std::string(family.find_group(g)->description) +
                      ", which the source does not have");
    } else {
      cls = &family.choose_hf_class(plan.groups, plan.hf_class);
    }
    plan.hf_class = std::string(cls->name);
    for (const auto& g : plan.groups)
      if (contains(cls->groups, g)) plan.target_groups.push_back(g);
    plan.tf2_layers = family.tf2_layer_names(*cls, config);
    if (contains(cls->optional, "pooler") && !contains(plan.groups, "pooler"))
      plan.notes.push_back(std::string(cls->name) +
                           " without a pooler: transformers will "
                           "initialise pooler.dense randomly (pooler_output is meaningless)");
  } else {
    for (const auto& g : plan.groups) {
      bool storable = true;
      for (const auto& row : params)
        if (row.group == g && row.stored[static_cast<size_t>(to)].name.empty()) storable = false;
      if (storable) plan.target_groups.push_back(g);
    }
  }
  for (auto& note : family.check_expressible(to, config, plan.groups)) plan.notes.push_back(note);
  for (const auto& [key, i] : param_source) {
    const std::string& g = std::string(params[key.first].group);
    if (contains(plan.target_groups, g)) continue;
    const GroupInfo* info = family.find_group(g);
    plan.skipped.push_back(
        {tensors[i].name, (cls ? std::string(cls->name) : std::string(convention_name(to))) +
                              " has no " + std::string(info ? info->description : g)});
  }
  if (to == Convention::kGoogleTf1 && !contains(plan.target_groups, "pooler"))
    plan.notes.push_back(
        "no pooler in the source: Google's run_classifier would start from a "
        "random bert/pooler/dense (init_from_checkpoint skips missing variables "
        "silently)");

  // 6. The entries, in the order the target lists them.
  plan.target_format = target_format(to, options);
  plan.target_file = target_file(to, plan.target_format);
  const std::string base = cls ? std::string(cls->base_prefix) : "";
  const std::string scope = cls ? std::string(cls->tf2_scope) : "";
  auto make_entry = [&](const ParamRow& row, int layer, size_t src, std::string target_name,
                        std::string note) {
    const StoredForm& in = row.stored[static_cast<size_t>(from)];
    const StoredForm& out = row.stored[static_cast<size_t>(to)];
    PlanEntry e;
    e.canonical = expand_template(row.canonical, layer, "", "");
    e.group = row.group;
    e.source = src;
    e.source_name = tensors[src].name;
    e.source_dtype = tensors[src].dtype;
    e.source_shape = tensors[src].shape;
    e.target.name = std::move(target_name);
    e.target.shape = *evaluate_shape(parse_shape_expr(out.shape), config.symbols);
    e.target.dtype = e.source_dtype;
    if (options.dtype && is_floating(e.source_dtype) && e.source_dtype != *options.dtype) {
      if (!(e.source_dtype == DType::kF64 || e.source_dtype == DType::kF32 ||
            e.source_dtype == DType::kF16 || e.source_dtype == DType::kBF16))
        throw_usage("cannot cast " + std::string(dtype_name(e.source_dtype)) + " tensor " +
                    e.source_name + " to " + std::string(dtype_name(*options.dtype)));
      e.target.dtype = *options.dtype;
    }
    e.target.nbytes = *num_elements(e.target.shape) * dtype_size(e.target.dtype);
    if ((in.layout == Layout::kTranspose) != (out.layout == Layout::kTranspose)) {
      const Shape canonical = *evaluate_shape(parse_shape_expr(row.shape), config.symbols);
      if (canonical.size() != 2)
        throw Error(ErrorKind::kUsage,
                    "table error: transposed parameter " + e.canonical + " is not a matrix");
      e.step = Step::kTranspose;
      const bool source_transposed = in.layout == Layout::kTranspose;
      e.rows = source_transposed ? canonical[1] : canonical[0];
      e.cols = source_transposed ? canonical[0] : canonical[1];
    } else {
      e.step = e.source_shape == e.target.shape ? Step::kCopy : Step::kReshape;
    }
    e.note = std::move(note);
    return e;
  };
  // Table order, with each run of consecutive per-layer rows expanded layer by layer (all of
  // layer 0, then layer 1, ...), which is how every framework lists a model's weights.
  for (size_t r = 0; r < params.size();) {
    size_t end = r + 1;
    if (params[r].per_layer)
      while (end < params.size() && params[end].per_layer) ++end;
    const int count = params[r].per_layer ? layers : 1;
    for (int l = 0; l < count; ++l) {
      for (size_t k = r; k < end; ++k) {
        const ParamRow& row = params[k];
        if (!contains(plan.target_groups, row.group)) continue;
        const size_t src = param_source.at({k, row.per_layer ? l : -1});
        plan.entries.push_back(make_entry(
            row, l, src, expand_template(row.stored[static_cast<size_t>(to)].name, l, base, scope),
            ""));
      }
    }
    r = end;
  }
  // Copies the target format stores twice (Keras' duplicated embeddings under mlm___cls).
  for (const auto& alias : family.aliases()) {
    if (alias.convention != to || !alias.written || !contains(plan.target_groups, alias.when_group))
      continue;
    for (size_t r = 0; r < params.size(); ++r) {
      if (params[r].canonical != alias.origin) continue;
      const size_t src = param_source.at({r, -1});
      plan.entries.push_back(make_entry(params[r], 0, src,
                                        expand_template(alias.name, 0, base, scope),
                                        "second copy of " + std::string(alias.origin) +
                                            " (Keras lists it under this layer too)"));
    }
  }
  if (to == Convention::kHfTf2) {
    auto rank = [&](const PlanEntry& e) {
      const std::string layer = e.target.name.substr(0, e.target.name.find('/'));
      auto it = std::find(plan.tf2_layers.begin(), plan.tf2_layers.end(), layer);
      return static_cast<size_t>(it - plan.tf2_layers.begin());
    };
    std::stable_sort(plan.entries.begin(), plan.entries.end(),
                     [&](const PlanEntry& a, const PlanEntry& b) { return rank(a) < rank(b); });
  }
  if (to == Convention::kGoogleTf1) {
    // run_classifier / run_pretraining restore through an Estimator that expects global_step.
    PlanEntry e;
    e.target = {"global_step", DType::kI64, {}, 8};
    if (global_step && from == Convention::kGoogleTf1) {
      e.source = *global_step;
      e.source_name = tensors[*global_step].name;
      e.source_dtype = DType::kI64;
      e.step = Step::kCopy;
      e.note = "the source's training step";
    } else {
      e.step = Step::kConstant;
      e.constant.assign(8, std::byte{0});
      e.note = "step 0 (the Estimator-based scripts expect a global_step)";
    }
    plan.entries.push_back(std::move(e));
  }

  // 7. Config and vocabulary files.
  plan.config_name = std::string(family.config_file(to));
  plan.config_text = family.write_config(to, config, cls);
  if (options.dtype && is_hf(to)) {
    // transformers records the weights' dtype in config.json ("dtype" since 4.56).
    nlohmann::json hf = nlohmann::json::parse(plan.config_text);
    static const std::map<DType, const char*> kTorchNames = {{DType::kF32, "float32"},
                                                             {DType::kF16, "float16"},
                                                             {DType::kBF16, "bfloat16"},
                                                             {DType::kF64, "float64"}};
    const char* key = hf.contains("dtype") || !hf.contains("torch_dtype") ? "dtype" : "torch_dtype";
    hf[key] = kTorchNames.at(*options.dtype);
    plan.config_text = dump_sorted_json(hf);
  }
  bool any_vocab = false;
  for (const auto& row : family.files()) {
    const std::string_view src = row.names[static_cast<size_t>(from)];
    const std::string_view dst = row.names[static_cast<size_t>(to)];
    if (src.empty()) continue;
    const fs::path path = fs::path(source.folder) / src;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) continue;
    if (dst.empty()) {
      plan.notes.push_back(std::string(src) + " not carried over: " +
                           std::string(convention_name(to)) + " has no such file");
      continue;
    }
    plan.files.push_back({path.string(), std::string(dst)});
    any_vocab = true;
  }
  if (!any_vocab) plan.notes.push_back("no vocabulary files in the source folder");
  return plan;
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
