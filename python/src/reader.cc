// The reader behind tensorferry.open(): CheckpointReader::read returns a view of the mapped file
// when the stored bytes already are dense little-endian row-major, else fills a scratch buffer.
// A Mapping keeps whichever it got alive (the reader, which owns the mapping, or the buffer) for
// as long as any array views it, and exports it read-only through the buffer protocol, so
// numpy.frombuffer(mapping) is a view of the file's pages, not a copy.
#include "python/src/reader.h"

#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tensorferry/errors.h"
#include "tensorferry/reader.h"

namespace nb = nanobind;

namespace tensorferry::python {
namespace {

class Reader;

// One tensor's bytes, kept alive for the arrays that view them.
struct Mapping {
  std::shared_ptr<CheckpointReader> reader;  // owns the mapping `bytes` lies in, when mapped
  std::vector<std::byte> copy;               // the bytes, when the reader had to convert them
  std::span<const std::byte> bytes;
  bool mapped = false;
  std::string file;  // where the tensor is stored
  uint64_t offset = 0;
};

int mapping_getbuffer(PyObject* self, Py_buffer* view, int flags) {
  const Mapping* mapping = nb::inst_ptr<Mapping>(nb::handle(self));
  // PyBuffer_FillInfo refuses PyBUF_WRITABLE for a read-only buffer with a BufferError.
  return PyBuffer_FillInfo(view, self, const_cast<std::byte*>(mapping->bytes.data()),
                           static_cast<Py_ssize_t>(mapping->bytes.size()), /*readonly=*/1, flags);
}

PyType_Slot mapping_slots[] = {{Py_bf_getbuffer, reinterpret_cast<void*>(mapping_getbuffer)},
                               {0, nullptr}};

class Reader {
 public:
  Reader(const std::string& path, const std::optional<std::string>& format) {
    std::optional<Format> chosen;
    if (format) {
      chosen = format_from_name(*format);
      if (!chosen) throw_usage("unknown format '" + *format + "'");
    }
    nb::gil_scoped_release unlocked;
    reader_ = open_checkpoint(path, chosen);
  }

  std::string format() const { return live().format(); }
  std::string path() const { return live().path(); }
  std::map<std::string, std::string> metadata() const { return live().metadata(); }

  // (name, dtype, shape, nbytes, file, offset, role, note) of every tensor, in file order.
  nb::list tensors() const {
    nb::list out;
    for (const auto& t : live().tensors()) {
      nb::list shape;
      for (uint64_t d : t.shape) shape.append(d);
      out.append(nb::make_tuple(t.name, std::string(dtype_name(t.dtype)),
                                nb::steal<nb::tuple>(PyList_AsTuple(shape.ptr())), t.nbytes, t.file,
                                t.offset, std::string(role_name(t.role)), t.note));
    }
    return out;
  }

  Mapping read(size_t index) {
    std::shared_ptr<CheckpointReader> reader = reader_;
    if (!reader) throw_usage("the reader is closed");
    if (index >= reader->tensors().size()) throw_usage("no tensor number " + std::to_string(index));
    Mapping mapping;
    {
      nb::gil_scoped_release unlocked;
      const std::lock_guard lock(mutex_);  // readers keep per-file state between reads
      mapping.bytes = reader->read(index, mapping.copy);
    }
    const auto* first = mapping.copy.data();
    mapping.mapped = mapping.bytes.empty() || mapping.bytes.data() < first ||
                     mapping.bytes.data() >= first + mapping.copy.size();
    if (mapping.mapped) mapping.reader = reader;
    mapping.file = reader->tensors()[index].file;
    mapping.offset = reader->tensors()[index].offset;
    return mapping;
  }

  // Drops the reader's own hold on the file; arrays still viewing it keep their Mapping alive.
  void close() { reader_.reset(); }
  bool closed() const { return !reader_; }

 private:
  const CheckpointReader& live() const {
    if (!reader_) throw_usage("the reader is closed");
    return *reader_;
  }

  std::shared_ptr<CheckpointReader> reader_;
  std::mutex mutex_;
};

}  // namespace

void bind_reader(nb::module_& m) {
  nb::class_<Mapping>(m, "Mapping", nb::type_slots(mapping_slots),
                      "One tensor's bytes as a read-only buffer: a view of the memory-mapped "
                      "checkpoint when `mapped`, else a converted copy.")
      .def_ro("mapped", &Mapping::mapped,
              "True when the bytes are the file's own pages (zero-copy), False for a copy.")
      .def_ro("file", &Mapping::file, "The file the tensor is stored in.")
      .def_ro("offset", &Mapping::offset, "Where the tensor's bytes start in `file`.")
      .def_prop_ro(
          "address", [](const Mapping& m) { return reinterpret_cast<uintptr_t>(m.bytes.data()); },
          "Address of the first byte in this process.")
      .def("__len__", [](const Mapping& m) { return m.bytes.size(); });

  nb::class_<Reader>(m, "Reader", "An open checkpoint (the low-level half of tensorferry.open).")
      .def(nb::init<const std::string&, const std::optional<std::string>&>(), nb::arg("path"),
           nb::arg("format") = nb::none())
      .def_prop_ro("format", &Reader::format)
      .def_prop_ro("path", &Reader::path)
      .def_prop_ro("metadata", &Reader::metadata)
      .def_prop_ro("closed", &Reader::closed)
      .def("tensors", &Reader::tensors,
           "(name, dtype, shape, nbytes, file, offset, role, note) of every tensor")
      .def("read", &Reader::read, nb::arg("index"),
           "The bytes of tensor number `index`, dense row-major little-endian.")
      .def("close", &Reader::close);
}

}  // namespace tensorferry::python
