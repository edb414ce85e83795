// tensorferry: carries model weights between checkpoint formats without any framework installed.
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include "cli/app.h"
#include "core/error.h"

int main(int argc, char** argv) {
  using tensorferry::Error;
  using tensorferry::ErrorKind;
  try {
    try {
      return tensorferry::cli::run_command_line(std::vector<std::string>(argv, argv + argc));
    } catch (const Error& e) {
      std::cerr << "tensorferry: " << e.what() << "\n";
      return e.exit_code();
    } catch (const std::bad_alloc&) {
      std::cerr << "tensorferry: out of memory\n";
      return static_cast<int>(ErrorKind::kIo);
    } catch (const std::exception& e) {
      std::cerr << "tensorferry: " << e.what() << "\n";
      return static_cast<int>(ErrorKind::kBadInput);
    }
  } catch (...) {
    return 4;  // only reachable if even reporting an error failed
  }
}
