#include "formats/safetensors/safetensors.h"
#include "core/error.h"
namespace tensorferry {
bool looks_like_safetensors(std::span<const std::byte>, uint64_t) { return false; }
std::unique_ptr<CheckpointReader> open_safetensors(const std::string&) { throw_usage("safetensors: not implemented yet"); }
std::unique_ptr<CheckpointWriter> create_safetensors_writer(const std::string&, const WriterOptions&) { throw_usage("safetensors: not implemented yet"); }
}
