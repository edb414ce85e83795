// tensorferry._core: the Python package's binding of the C++ library. Every call that reads or
// writes checkpoints releases the GIL; errors become the exception classes of
// tensorferry/_errors.py, one per exit-code kind, carrying path, tensor and offset.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/app.h"
#include "python/src/reader.h"
#include "tensorferry/commands.h"
#include "tensorferry/errors.h"

namespace nb = nanobind;

namespace tensorferry::python {
namespace {

// Hands progress to a Python callable as callback(event, what, tensors_done, tensors_total,
// bytes_done, bytes_total), taking the GIL for each call. An exception the callback raises
// propagates through the command and aborts it (nothing half-written is published).
class CallbackProgress : public ProgressSink {
 public:
  explicit CallbackProgress(nb::object callback) : callback_(std::move(callback)) {}
  ~CallbackProgress() override {
    nb::gil_scoped_acquire locked;
    callback_.reset();
  }

  void begin_tensors(std::string_view what, size_t tensors, uint64_t bytes) override {
    what_ = what;
    tensors_total_ = tensors;
    bytes_total_ = bytes;
    tensors_done_ = bytes_done_ = 0;
    call("begin");
  }
  void tensor_done(uint64_t bytes) override {
    ++tensors_done_;
    bytes_done_ += bytes;
    call("tensor");
  }
  void step(std::string_view what) override {
    what_ = what;
    call("step");
  }
  void done() override { call("done"); }

 private:
  void call(const char* event) {
    nb::gil_scoped_acquire locked;
    callback_(event, what_, tensors_done_, tensors_total_, bytes_done_, bytes_total_);
  }

  nb::object callback_;
  std::string what_;
  uint64_t tensors_total_ = 0, tensors_done_ = 0, bytes_total_ = 0, bytes_done_ = 0;
};

using Report = std::pair<int, std::string>;  // exit code, the --json document

// Runs `command` without the GIL, with `progress` (a callable or None) hearing of it.
template <typename Command>
Report run_unlocked(const nb::object& progress, Command command) {
  std::optional<CallbackProgress> sink;
  if (!progress.is_none()) sink.emplace(progress);
  nb::gil_scoped_release unlocked;
  const CommandReport report = command(sink ? &*sink : nullptr);
  return {report.exit_code, report.json};
}

Report convert_py(const std::string& src, const std::string& dst, ConvertRequest request,
                  const nb::object& progress) {
  return run_unlocked(progress, [&](ProgressSink* sink) {
    request.progress = sink;
    return convert(src, dst, request);
  });
}

Report verify_py(const std::string& a, const std::string& b, VerifyRequest request,
                 const nb::object& progress) {
  return run_unlocked(progress, [&](ProgressSink* sink) {
    request.progress = sink;
    return verify_models(a, b, request);
  });
}

Report diff_py(const std::string& a, const std::string& b, double atol, double rtol,
               const std::string& from_a, const std::string& from_b) {
  const DiffRequest request{atol, rtol, from_a, from_b};
  return run_unlocked(nb::none(), [&](ProgressSink*) { return diff_checkpoints(a, b, request); });
}

int main_py(const std::vector<std::string>& args) {
  nb::gil_scoped_release unlocked;
  return cli::run_main(args);
}

// tensorferry::Error -> tensorferry._errors.error_from_core(...), an instance of the class for
// its kind.
void translate_errors(const std::exception_ptr& thrown, void*) {
  try {
    std::rethrow_exception(thrown);
  } catch (const Error& e) {
    nb::object offset = e.offset() ? nb::cast(*e.offset()) : nb::none();
    nb::object error = nb::module_::import_("tensorferry._errors")
                           .attr("error_from_core")(e.exit_code(), e.what(), e.message(), e.file(),
                                                    e.tensor(), offset);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
  }
}

}  // namespace
}  // namespace tensorferry::python

NB_MODULE(_core, m) {
  using namespace tensorferry::python;
  using tensorferry::ConvertRequest;
  using tensorferry::VerifyRequest;
  m.doc() = "tensorferry's C++ core (use the tensorferry package, not this module)";
  nb::register_exception_translator(translate_errors);
  bind_reader(m);
  // The requests of include/tensorferry/commands.h, filled field by field from Python.
  nb::class_<ConvertRequest>(m, "ConvertRequest")
      .def(nb::init<>())
      .def_rw("to", &ConvertRequest::to)
      .def_rw("from_", &ConvertRequest::from)
      .def_rw("format", &ConvertRequest::format)
      .def_rw("dtype", &ConvertRequest::dtype)
      .def_rw("shard_size", &ConvertRequest::shard_size)
      .def_rw("dry_run", &ConvertRequest::dry_run)
      .def_rw("verify", &ConvertRequest::verify)
      .def_rw("max_error", &ConvertRequest::max_error)
      .def_rw("max_rel_error", &ConvertRequest::max_rel_error)
      .def_rw("keep_failed", &ConvertRequest::keep_failed)
      .def_rw("force", &ConvertRequest::force)
      .def_rw("allow_expansion", &ConvertRequest::allow_expansion)
      .def_rw("dedupe_tied", &ConvertRequest::dedupe_tied);
  nb::class_<VerifyRequest>(m, "VerifyRequest")
      .def(nb::init<>())
      .def_rw("max_error", &VerifyRequest::max_error)
      .def_rw("max_rel_error", &VerifyRequest::max_rel_error)
      .def_rw("from_a", &VerifyRequest::from_a)
      .def_rw("from_b", &VerifyRequest::from_b)
      .def_rw("allow_missing_heads", &VerifyRequest::allow_missing_heads);
  m.def("convert", &convert_py, nb::arg("src"), nb::arg("dst"), nb::arg("request"),
        nb::arg("progress").none(), "`tensorferry convert ... --json`: (exit code, JSON document)");
  m.def("verify", &verify_py, nb::arg("a"), nb::arg("b"), nb::arg("request"),
        nb::arg("progress").none(), "`tensorferry verify A B --json`: (exit code, JSON document)");
  m.def("diff", &diff_py, nb::arg("a"), nb::arg("b"), nb::arg("atol"), nb::arg("rtol"),
        nb::arg("from_a"), nb::arg("from_b"),
        "`tensorferry diff A B --json`: (exit code, JSON document)");
  m.def("main", &main_py, nb::arg("args"),
        "The `tensorferry` program on args (args[0] is the program name); returns the exit code.");
}
