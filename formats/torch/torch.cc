#include "formats/torch/torch.h"
#include "core/error.h"
namespace tensorferry {
bool looks_like_torch(std::span<const std::byte>, uint64_t) { return false; }
std::unique_ptr<CheckpointReader> open_torch(const std::string&) { throw_usage("torch: not implemented yet"); }
std::unique_ptr<CheckpointWriter> create_torch_writer(const std::string&, const WriterOptions&) { throw_usage("torch: not implemented yet"); }
}
