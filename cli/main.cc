// tensorferry: carries model weights between checkpoint formats without any framework installed.
#include <string>
#include <vector>

#include "cli/app.h"

int main(int argc, char** argv) {
  try {
    return tensorferry::cli::run_main(std::vector<std::string>(argv, argv + argc));
  } catch (...) {
    return 4;  // only reachable if even reporting an error failed
  }
}
