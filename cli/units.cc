#include <cmath>
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"

namespace tensorferry::cli {

uint64_t parse_size(const std::string& text) {
  static const std::pair<const char*, double> kUnits[] = {
      {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0},
      {"KB", 1e3},     {"MB", 1e6},        {"GB", 1e9},           {"TB", 1e12},
      {"K", 1e3},      {"M", 1e6},         {"G", 1e9},            {"B", 1.0},
  };
  size_t used = 0;
  double number = 0;
  try {
    number = std::stod(text, &used);
  } catch (const std::exception&) {
    throw_usage("not a size: \"" + text + "\" (examples: 2GB, 500MiB, 1048576)");
  }
  std::string unit = text.substr(used);
  double scale = 1.0;
  if (!unit.empty()) {
    bool found = false;
    for (const auto& [name, factor] : kUnits)
      if (unit == name) {
        scale = factor;
        found = true;
        break;
      }
    if (!found) throw_usage("unknown size unit \"" + unit + "\" in \"" + text + "\"");
  }
  const double bytes = number * scale;
  if (!(bytes >= 1) || bytes > 1.8e19) throw_usage("size out of range: \"" + text + "\"");
  return static_cast<uint64_t>(std::llround(bytes));
}

std::string human_bytes(uint64_t bytes) {
  static const char* kNames[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char out[32];
  if (unit == 0) std::snprintf(out, sizeof out, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(out, sizeof out, "%.1f %s", value, kNames[unit]);
  return out;
}

}  // namespace tensorferry::cli
