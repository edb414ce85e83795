#include "formats/tf_bundle/tf_bundle.h"
#include "core/error.h"
namespace tensorferry {
bool looks_like_tf_index(std::span<const std::byte>) { return false; }
std::unique_ptr<CheckpointReader> open_tf_bundle(const std::string&) { throw_usage("tf-bundle: not implemented yet"); }
std::unique_ptr<CheckpointWriter> create_tf_bundle_writer(const std::string&, const WriterOptions&, const TfBundleOptions&) { throw_usage("tf-bundle: not implemented yet"); }
}
