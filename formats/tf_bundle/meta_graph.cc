#include "formats/tf_bundle/meta_graph.h"

#include "core/error.h"
#include "core/output.h"
#include "formats/tf_bundle/meta_graph.pb.h"

namespace tensorferry::tf_bundle {
namespace {

constexpr int kDtString = 7;  // tensorflow.DataType DT_STRING
constexpr int kDtInt64 = 9;   // DT_INT64
constexpr int kSaverV2 = 2;   // SaverDef.CheckpointFormatVersion V2
// GraphDef version the graph claims: one every TensorFlow since 1.0 reads (the ops used here
// have not changed since).
constexpr int kGraphProducer = 24;

int tf_dtype(const TensorInfo& t) {
  const int dtype = dtype_info(t.dtype).tf_datatype;
  if (dtype == 0)
    throw Error(ErrorKind::kUsage,
                "TensorFlow has no dtype for " + std::string(dtype_name(t.dtype)), {}, t.name);
  return dtype;
}

TensorShapeProto shape_proto(const Shape& shape) {
  TensorShapeProto proto;
  for (uint64_t dim : shape) proto.add_dim()->set_size(static_cast<int64_t>(dim));
  return proto;
}

class GraphBuilder {
 public:
  explicit GraphBuilder(GraphDef& graph) : graph_(graph) {}

  NodeDef& node(const std::string& name, const std::string& op,
                std::initializer_list<std::string> inputs = {}) {
    NodeDef& n = *graph_.add_node();
    n.set_name(name);
    n.set_op(op);
    for (const auto& input : inputs) n.add_input(input);
    return n;
  }
  static void set_type(NodeDef& n, const std::string& key, int dtype) {
    (*n.mutable_attr())[key].set_type(dtype);
  }
  static void set_shape(NodeDef& n, const std::string& key, const Shape& shape) {
    *(*n.mutable_attr())[key].mutable_shape() = shape_proto(shape);
  }
  static void set_bool(NodeDef& n, const std::string& key, bool value) {
    (*n.mutable_attr())[key].set_b(value);
  }
  static void set_string(NodeDef& n, const std::string& key, const std::string& value) {
    (*n.mutable_attr())[key].set_s(value);
  }

  // A Const holding `tensor`.
  NodeDef& constant(const std::string& name, TensorProto tensor) {
    NodeDef& n = node(name, "Const");
    set_type(n, "dtype", tensor.dtype());
    *(*n.mutable_attr())["value"].mutable_tensor() = std::move(tensor);
    return n;
  }
  NodeDef& string_vector(const std::string& name, const std::vector<std::string>& values) {
    TensorProto t;
    t.set_dtype(kDtString);
    *t.mutable_tensor_shape() = shape_proto({values.size()});
    for (const auto& v : values) t.add_string_val(v);
    return constant(name, std::move(t));
  }

 private:
  GraphDef& graph_;
};

// NAME, its zero initializer, NAME/Assign and NAME/read, as tf.compat.v1.get_variable builds them.
void add_variable(GraphBuilder& g, const TensorInfo& v) {
  const int dtype = tf_dtype(v);
  NodeDef& var = g.node(v.name, "VariableV2");
  GraphBuilder::set_type(var, "dtype", dtype);
  GraphBuilder::set_shape(var, "shape", v.shape);
  GraphBuilder::set_string(var, "container", "");
  GraphBuilder::set_string(var, "shared_name", "");

  // Fill(shape, 0): the initializer's size does not grow with the variable's.
  TensorProto dims;
  dims.set_dtype(kDtInt64);
  *dims.mutable_tensor_shape() = shape_proto({v.shape.size()});
  std::string dims_bytes;
  for (uint64_t d : v.shape)
    for (int byte = 0; byte < 8; ++byte) dims_bytes.push_back(static_cast<char>(d >> (8 * byte)));
  dims.set_tensor_content(dims_bytes);
  const std::string zeros = v.name + "/Initializer/zeros";
  g.constant(zeros + "/shape_as_tensor", std::move(dims));
  TensorProto zero;
  zero.set_dtype(dtype);
  *zero.mutable_tensor_shape() = shape_proto({});
  if (v.dtype == DType::kString)
    zero.add_string_val("");
  else
    zero.set_tensor_content(std::string(dtype_size(v.dtype), '\0'));
  g.constant(zeros + "/Const", std::move(zero));
  NodeDef& fill = g.node(zeros, "Fill", {zeros + "/shape_as_tensor", zeros + "/Const"});
  GraphBuilder::set_type(fill, "T", dtype);
  GraphBuilder::set_type(fill, "index_type", kDtInt64);

  NodeDef& assign = g.node(v.name + "/Assign", "Assign", {v.name, zeros});
  GraphBuilder::set_type(assign, "T", dtype);
  GraphBuilder::set_bool(assign, "use_locking", true);
  GraphBuilder::set_bool(assign, "validate_shape", true);
  NodeDef& read = g.node(v.name + "/read", "Identity", {v.name});
  GraphBuilder::set_type(read, "T", dtype);
}

// The ops of a V2 Saver over every variable (BaseSaverBuilder, sharded=False).
SaverDef add_saver(GraphBuilder& g, const std::vector<TensorInfo>& variables) {
  std::vector<std::string> names;
  AttrValue dtypes;
  for (const auto& v : variables) {
    names.push_back(v.name);
    dtypes.mutable_list()->add_type(tf_dtype(v));
  }
  const std::vector<std::string> full_tensors(variables.size(), "");

  TensorProto default_name;
  default_name.set_dtype(kDtString);
  *default_name.mutable_tensor_shape() = shape_proto({});
  default_name.add_string_val("model");
  g.constant("save/filename/input", std::move(default_name));
  for (const auto& [name, input] :
       {std::pair<std::string, std::string>{"save/filename", "save/filename/input"},
        {"save/Const", "save/filename"}}) {
    NodeDef& n = g.node(name, "PlaceholderWithDefault", {input});
    GraphBuilder::set_type(n, "dtype", kDtString);
    GraphBuilder::set_shape(n, "shape", {});
  }

  g.string_vector("save/SaveV2/tensor_names", names);
  g.string_vector("save/SaveV2/shape_and_slices", full_tensors);
  NodeDef& save =
      g.node("save/SaveV2", "SaveV2",
             {"save/Const", "save/SaveV2/tensor_names", "save/SaveV2/shape_and_slices"});
  for (const auto& v : variables) save.add_input(v.name);
  (*save.mutable_attr())["dtypes"] = dtypes;
  NodeDef& saved = g.node("save/control_dependency", "Identity", {"save/Const", "^save/SaveV2"});
  GraphBuilder::set_type(saved, "T", kDtString);

  g.string_vector("save/RestoreV2/tensor_names", names);
  g.string_vector("save/RestoreV2/shape_and_slices", full_tensors);
  NodeDef& restore =
      g.node("save/RestoreV2", "RestoreV2",
             {"save/Const", "save/RestoreV2/tensor_names", "save/RestoreV2/shape_and_slices"});
  (*restore.mutable_attr())["dtypes"] = dtypes;
  std::vector<std::string> assigns;
  for (size_t i = 0; i < variables.size(); ++i) {
    const std::string name = i == 0 ? "save/Assign" : "save/Assign_" + std::to_string(i);
    const std::string output = i == 0 ? "save/RestoreV2" : "save/RestoreV2:" + std::to_string(i);
    NodeDef& assign = g.node(name, "Assign", {variables[i].name, output});
    GraphBuilder::set_type(assign, "T", tf_dtype(variables[i]));
    GraphBuilder::set_bool(assign, "use_locking", true);
    GraphBuilder::set_bool(assign, "validate_shape", true);
    assigns.push_back("^" + name);
  }
  NodeDef& restore_all = g.node("save/restore_all", "NoOp");
  for (const auto& a : assigns) restore_all.add_input(a);

  SaverDef saver;
  saver.set_filename_tensor_name("save/Const:0");
  saver.set_save_tensor_name("save/control_dependency:0");
  saver.set_restore_op_name("save/restore_all");
  saver.set_max_to_keep(5);
  saver.set_sharded(false);
  saver.set_keep_checkpoint_every_n_hours(10000.0f);
  saver.set_version(kSaverV2);
  return saver;
}

// The collections tf.compat.v1.global_variables() and friends read after import_meta_graph.
void add_collections(MetaGraphDef& meta, const std::vector<TensorInfo>& variables) {
  auto& collections = *meta.mutable_collection_def();
  auto* all = collections["variables"].mutable_bytes_list();
  auto* trainable = collections["trainable_variables"].mutable_bytes_list();
  for (const auto& v : variables) {
    VariableDef def;
    def.set_variable_name(v.name + ":0");
    def.set_initializer_name(v.name + "/Assign");
    def.set_snapshot_name(v.name + "/read:0");
    def.set_initial_value_name(v.name + "/Initializer/zeros:0");
    const bool step = v.name == "global_step";
    def.set_trainable(!step);
    const std::string bytes = def.SerializeAsString();
    all->add_value(bytes);
    if (step)
      collections["global_step"].mutable_bytes_list()->add_value(bytes);
    else
      trainable->add_value(bytes);
  }
}

}  // namespace

std::string build_meta_graph(const std::vector<TensorInfo>& variables) {
  MetaGraphDef meta;
  GraphDef& graph = *meta.mutable_graph_def();
  graph.mutable_versions()->set_producer(kGraphProducer);
  GraphBuilder builder(graph);
  for (const auto& v : variables) add_variable(builder, v);
  *meta.mutable_saver_def() = add_saver(builder, variables);
  add_collections(meta, variables);
  return meta.SerializeAsString();
}

void write_meta_graph(const std::string& path, const std::vector<TensorInfo>& variables) {
  const std::string bytes = build_meta_graph(variables);
  OutputFile out(path);
  out.write(bytes);
  out.close();
}

}  // namespace tensorferry::tf_bundle
