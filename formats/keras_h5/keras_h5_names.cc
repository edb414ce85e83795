#include "formats/keras_h5/keras_h5_internal.h"

namespace tensorferry::keras_h5 {

std::string path_problem(std::string_view path) {
  if (path.empty()) return "the name is empty";
  if (path.front() == '/') return "the name starts with '/'";
  if (path.find('\0') != std::string_view::npos) return "the name contains a NUL byte";
  size_t start = 0;
  while (true) {
    const size_t end = path.find('/', start);
    const std::string_view part = path.substr(start, end - start);
    if (part.empty()) return "the name has an empty component ('//' or a trailing '/')";
    if (part == "." || part == "..") return "the name has a '.' or '..' component";
    if (end == std::string_view::npos) return {};
    start = end + 1;
  }
}

std::string_view first_component(std::string_view name) { return name.substr(0, name.find('/')); }

std::string hf_shard_dataset_name(std::string_view weight_name) {
  const size_t slash = weight_name.find('/');
  if (weight_name.find("model.") != std::string_view::npos || slash == std::string_view::npos)
    return std::string(weight_name);
  return std::string(weight_name.substr(slash + 1));
}

}  // namespace tensorferry::keras_h5
