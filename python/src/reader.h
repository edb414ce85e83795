// tensorferry._core.Reader and Mapping: a checkpoint opened for Python, and one tensor's bytes
// as a read-only buffer (the Python buffer protocol) that numpy arrays view without copying.
#pragma once

#include <nanobind/nanobind.h>

namespace tensorferry::python {

void bind_reader(nanobind::module_& m);

}  // namespace tensorferry::python
