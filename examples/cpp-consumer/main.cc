// consumer IN OUT.safetensors: lists IN, converts it to OUT, lists OUT, and shows the error a
// file that is no checkpoint gets. Uses only the installed headers of tensorferry.
#include <tensorferry/tensorferry.h>

#include <fstream>
#include <iostream>

namespace {

void list(const std::string& path) {
  auto reader = tensorferry::open_checkpoint(path);
  const auto& tensors = reader->tensors();
  std::cout << reader->format() << ": " << tensors.size() << " tensors\n";
  std::vector<std::byte> scratch;
  const auto bytes = reader->read(0, scratch);
  std::cout << tensors[0].name << " " << tensorferry::dtype_name(tensors[0].dtype) << " "
            << tensorferry::shape_to_string(tensors[0].shape) << ", " << bytes.size() << " bytes\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: consumer IN OUT.safetensors\n";
    return 2;
  }
  try {
    list(argv[1]);
    tensorferry::ConvertRequest request;
    request.force = true;
    const auto report = tensorferry::convert(argv[1], argv[2], request);
    std::cout << "convert exit " << report.exit_code << ": " << report.json << "\n";
    list(argv[2]);
    const std::string bogus = std::string(argv[2]) + ".txt";
    std::ofstream(bogus) << "not a checkpoint\n";
    list(bogus);
  } catch (const tensorferry::Error& e) {
    if (e.kind() != tensorferry::ErrorKind::kBadInput) throw;
    std::cout << "bad input: " << e.what() << "\n";
    return 0;
  }
  return 1;  // the bogus file was read
}
