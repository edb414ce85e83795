// A model family as data: which parameters a model of the family has (computed from its config),
// and, for every naming convention, what each parameter is called in a checkpoint, which shape it
// is stored with, and the layout step between that stored form and the canonical one.
//
// Canonical = Hugging Face PyTorch: names below the base-model prefix ("h.0.attn.c_attn.weight",
// "encoder.layer.0.attention.self.query.weight") and the shapes PyTorch holds. Converting from
// convention A to B goes A -> canonical -> B, so N conventions need N columns, not N^2 tables.
// Adding a family means adding a table and its config readers/writers (models/<family>/), never
// touching the converter.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace tensorferry {

// How a checkpoint folder is laid out and named.
enum class Convention : uint8_t {
  kHfPyTorch,  // config.json + model.safetensors | pytorch_model.bin (maybe sharded)
  kHfTf2,      // config.json + tf_model.h5 as TF*.save_pretrained writes it
  kOpenAiTf1,  // hparams.json + checkpoint + model.ckpt.{index,data-*} + encoder.json + vocab.bpe
  kGoogleTf1,  // bert_config.json + bert_model.ckpt.{index,data-*} + vocab.txt
};
constexpr size_t kConventionCount = 4;
constexpr std::array<Convention, kConventionCount> kAllConventions = {
    Convention::kHfPyTorch, Convention::kHfTf2, Convention::kOpenAiTf1, Convention::kGoogleTf1};

std::string_view convention_name(Convention c);  // "hf-pytorch", "hf-tf2", ...
std::optional<Convention> convention_from_name(std::string_view name);
inline bool is_tf1(Convention c) {
  return c == Convention::kOpenAiTf1 || c == Convention::kGoogleTf1;
}
inline bool is_hf(Convention c) { return c == Convention::kHfPyTorch || c == Convention::kHfTf2; }

// The step between the canonical tensor and its stored form. Reshapes that keep the row-major
// element order ([E,3E] <-> [1,E,3E], [N] <-> [1,N], [H,H] <-> [H,N,H/N]) are free and implied by
// the two shapes; only a transpose moves bytes.
enum class Layout : uint8_t {
  kSame,       // stored bytes = canonical bytes (shape may differ by a reshape)
  kTranspose,  // stored = transpose of the canonical 2-D [rows, cols] matrix, reshaped if needed
};

// One dimension of a shape written in terms of config symbols: factor * value(symbol), or the
// constant `factor` when symbol is '#'. Shapes are written as text in the tables ("1,E,3E").
struct Dim {
  char symbol = '#';
  uint64_t factor = 1;
};
using ShapeExpr = std::vector<Dim>;
ShapeExpr parse_shape_expr(std::string_view text);  // "V,E", "1,E,3E", "2,H"; throws on bad text
std::string shape_expr_to_string(const ShapeExpr& shape);

// Values of the shape symbols for one model (V vocab, E width, L layers, ...).
using Symbols = std::map<char, uint64_t>;
// nullopt when a symbol has no value yet (e.g. the number of labels before a head is seen).
std::optional<Shape> evaluate_shape(const ShapeExpr& shape, const Symbols& symbols);

// How one parameter is stored in one convention. Name templates may contain:
//   {i}      the layer index (rows with per_layer)
//   {base}   the HF PyTorch base-model prefix: "transformer." / "bert." when the class has heads,
//            "" for the bare base model (readers accept both)
//   {scope}  the Keras model scope of the HF TF2 class ("tf_bert_for_pre_training")
// An empty name means the convention cannot store the parameter.
struct StoredForm {
  std::string_view name;
  std::string_view shape;  // ShapeExpr text
  Layout layout = Layout::kSame;
};

struct ParamRow {
  std::string_view group;      // "base", "pooler", "mlm", ... (a family's group list)
  bool per_layer = false;      // expanded for every layer index
  std::string_view canonical;  // HF PyTorch name (template, {i} for per-layer rows)
  std::string_view shape;      // canonical shape (ShapeExpr text)
  // Indexed by Convention.
  std::array<StoredForm, kConventionCount> stored;
};

// A second stored copy of a parameter (tied weights): `lm_head.weight` in HF PyTorch files,
// `cls.predictions.decoder.weight`, the embedding duplicates Keras saves under `mlm___cls`.
struct AliasRow {
  Convention convention;
  std::string_view when_group;  // the alias exists when this group is present ("" = always)
  std::string_view name;        // template as in StoredForm
  std::string_view origin;      // canonical name of the parameter it copies
  bool written;                 // emitted when writing (Keras duplicates) or only accepted on read
};

// Stored tensors that are not parameters (masks, position ids): skipped on read, never written.
struct BufferRow {
  Convention convention;
  std::string_view name;  // template as in StoredForm
  std::string_view why;   // for the report
};

// A group of parameters that appears together (a head, the pooler).
struct GroupInfo {
  std::string_view name;
  std::string_view description;  // "masked-LM head (cls.predictions)"
};

// A Hugging Face model class: which groups it holds and how its checkpoints are named.
struct HfClass {
  std::string_view name;                   // "BertForPreTraining" (config.json architectures)
  std::vector<std::string_view> groups;    // groups the class has
  std::vector<std::string_view> optional;  // of those, the ones the class loads without
  std::string_view base_prefix;            // "bert." (PyTorch names of base parameters)
  std::string_view tf2_scope;              // "tf_bert_for_pre_training" (Keras model scope)
  // Top-level Keras layers in the order TF2 save_weights lists them; a layer holding no weights
  // (a Dropout) is written as an empty group so that the file matches what TF writes.
  std::vector<std::string_view> tf2_layers;
};

// A file beside the weights that carries over between conventions (vocabularies).
struct FileRow {
  std::array<std::string_view, kConventionCount> names;  // "" = the convention has no such file
  bool required_by_loader = false;
};

// A file of the source model folder as the family reads it: its path (for messages) and text.
struct FolderFile {
  std::string path;
  std::string text;
};
// Reads the file `name` of the source folder; nullopt when the folder has none.
using FolderFileReader = std::function<std::optional<FolderFile>(std::string_view name)>;

// A file of the target folder made from the config rather than copied (generation_config.json).
struct GeneratedFile {
  std::string name;
  std::string text;
  std::string from;  // what it is made from, for the report ("hparams.json and encoder.json")
};

// The canonical config of one model: the HF config.json object (complete, with the family's
// defaults filled in), plus what the converter derived from it.
struct ModelConfig {
  nlohmann::json hf;  // config.json as transformers would write it
  Symbols symbols;    // shape symbols; 'L' is the layer count
};

class Family {
 public:
  virtual ~Family() = default;

  virtual std::string_view name() const = 0;  // "gpt2", "bert", "llama"
  virtual const std::vector<GroupInfo>& groups() const = 0;
  virtual const std::vector<ParamRow>& params() const = 0;
  virtual const std::vector<AliasRow>& aliases() const = 0;
  virtual const std::vector<BufferRow>& buffers() const = 0;
  virtual const std::vector<HfClass>& hf_classes() const = 0;
  virtual const std::vector<FileRow>& files() const = 0;
  // Conventions the family has a column for.
  virtual bool supports(Convention c) const = 0;
  // The config file name of a convention ("config.json", "hparams.json", "bert_config.json").
  // A TF1 folder holding it is taken for this family (the first registered that has it).
  virtual std::string_view config_file(Convention c) const = 0;
  // The bundle prefix a TF1 release of the family uses ("model.ckpt", "bert_model.ckpt"), read
  // when the folder has no `checkpoint` state file.
  virtual std::string_view tf1_checkpoint_prefix(Convention c) const { return "model.ckpt"; }

  // Whether an HF config.json object describes a model of this family.
  virtual bool matches_hf_config(const nlohmann::json& config) const = 0;
  // Reads the convention's config file text into the canonical config. Throws kBadInput naming
  // `file` for what is missing or malformed.
  virtual ModelConfig read_config(Convention c, const std::string& text,
                                  const std::string& file) const = 0;
  // Throws Error(kUsage) with the reason when `target` cannot express the model (an activation
  // its code lacks, an epsilon it hard-codes differently, ...). `groups` are the present groups.
  // Returns notes for the report about what the target will read differently but acceptably.
  virtual std::vector<std::string> check_expressible(
      Convention target, const ModelConfig& config,
      const std::vector<std::string>& groups) const = 0;
  // Settings the source folder's other files decide rather than its config (the GPT-2 bos/eos
  // ids are those of <|endoftext|> in OpenAI's encoder.json). Returns notes for the report.
  virtual std::vector<std::string> complete_config(Convention c, ModelConfig& config,
                                                   const FolderFileReader& read) const {
    return {};
  }
  // Files the target's loaders read that the source convention has no counterpart of, made from
  // the config (generation_config.json of a GPT-2 coming from OpenAI's folder).
  virtual std::vector<GeneratedFile> generated_files(Convention from, Convention to,
                                                     const ModelConfig& config) const {
    return {};
  }
  // Whether a group's parameters are distinct tensors for this config (an untied LM head exists
  // only when the config unties it; otherwise the stored head is an alias of the embeddings).
  virtual bool group_enabled(const ModelConfig& config, std::string_view group) const {
    return true;
  }
  // Whether the config says the model has this group, so that a source without its tensors is
  // incomplete (Qwen2's q/k/v biases), unlike a head that a checkpoint may or may not carry.
  virtual bool group_required(const ModelConfig& config, std::string_view group) const {
    return false;
  }
  // Records the value of a shape symbol the config did not give but a tensor did (the number of
  // labels of a TF1 classifier head, say), so that the written config carries it.
  virtual void bind_symbol(ModelConfig& config, char symbol, uint64_t value) const {
    config.symbols[symbol] = value;
  }
  // The top-level Keras layer names of `c` as TF2 save_weights lists them (some carry a counter
  // that depends on the config, like BERT's `dropout_{3L+1}`).
  virtual std::vector<std::string> tf2_layer_names(const HfClass& c,
                                                   const ModelConfig& config) const {
    return {c.tf2_layers.begin(), c.tf2_layers.end()};
  }
  // The text of the target's config file. `hf_class` is the chosen class for HF conventions.
  virtual std::string write_config(Convention target, const ModelConfig& config,
                                   const HfClass* hf_class) const = 0;
  // Why a source tensor the table does not name is left out, when the family knows it (the
  // other network of a checkpoint holding two); "" = an unknown tensor.
  virtual std::string unmatched_reason(Convention c, const std::string& name) const { return {}; }
  // The family that converts the source into `hf_class` (--class): this one, or for a checkpoint
  // holding two networks (ELECTRA's), the one that class is.
  virtual const Family& for_hf_class(std::string_view hf_class) const { return *this; }
  // Name normalisation applied to source names before lookup (legacy spellings such as BERT's
  // `LayerNorm.gamma`). Returns the name unchanged when nothing applies.
  virtual std::string normalize_source_name(Convention c, const std::string& name) const {
    return name;
  }
  // Chooses the HF class for a model with these groups; `requested` is config.json's
  // architectures[0] when known (used when it fits the groups). Throws kUsage when none fits.
  const HfClass& choose_hf_class(const std::vector<std::string>& groups,
                                 const std::string& requested) const;
  const HfClass* find_hf_class(std::string_view name) const;
  const GroupInfo* find_group(std::string_view name) const;
};

// The members every family's class defines, each in the family's own folder: its tables
// (<family>_table.cc) and its config mapping (<family>_config.cc). A family's class declares
// them with these two lines and spells out only the members it adds or overrides beyond them.
#define TENSORFERRY_FAMILY_TABLES                          \
  const std::vector<GroupInfo>& groups() const override;   \
  const std::vector<ParamRow>& params() const override;    \
  const std::vector<AliasRow>& aliases() const override;   \
  const std::vector<BufferRow>& buffers() const override;  \
  const std::vector<HfClass>& hf_classes() const override; \
  const std::vector<FileRow>& files() const override
#define TENSORFERRY_FAMILY_CONFIG_MAPPING                                                         \
  std::string_view config_file(Convention c) const override;                                      \
  bool matches_hf_config(const nlohmann::json& config) const override;                            \
  ModelConfig read_config(Convention c, const std::string& text, const std::string& file)         \
      const override;                                                                             \
  std::vector<std::string> check_expressible(Convention target, const ModelConfig& config,        \
                                             const std::vector<std::string>& groups)              \
      const override;                                                                             \
  std::string write_config(Convention target, const ModelConfig& config, const HfClass* hf_class) \
      const override

// Every family, and lookups.
const std::vector<const Family*>& all_families();
const Family* family_by_name(std::string_view name);

// The class's tf2_layers with "dropout_#" named "dropout_<dropout_number>": Keras numbers Dropout
// layers per process, so the classifier's Dropout of a fresh model is named after how many the
// encoder built before it.
std::vector<std::string> keras_layer_names(const HfClass& c, uint64_t dropout_number);

// config.json of an HF class: the canonical config with `architectures` naming the class, and
// for `labelled_class` (the sequence classifier) id2label / label2id for the C labels.
std::string hf_config_text(const ModelConfig& config, const HfClass* hf_class,
                           std::string_view labelled_class);

// "{i}" -> index, "{base}" -> base, "{scope}" -> scope.
std::string expand_template(std::string_view tmpl, int layer, std::string_view base,
                            std::string_view scope);

}  // namespace tensorferry
