// The string attributes Keras 2 keeps its name lists in (`layer_names`, `weight_names`, ...).
//
// What writers have produced, all of which Keras' load_attributes_from_hdf5_group reads:
// * h5py 3: a Python list of bytes becomes a 1-D variable-length string attribute (ASCII,
//   NULLTERM); a single bytes value a scalar one (`backend`, `keras_version`).
// * h5py 2: 1-D fixed-length strings (NumPy `S<n>`, NULLPAD).
// * An empty list becomes a 1-D empty float64 array (np.asarray([])), not a string attribute.
// * A list whose NumPy `S<max len>` form exceeds HDF5_OBJECT_HEADER_LIMIT = 64512 bytes is split
//   with np.array_split into `<name>0`, `<name>1`, ... (no `<name>`), each chunk a fixed-length
//   `S<max len>` array; readers concatenate chunks until one is missing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/keras_h5/hdf5_handle.h"

namespace tensorferry::h5 {

// Where an attribute lives, for error messages and size bounds.
struct AttributeContext {
  std::string file;
  uint64_t file_size = 0;  // no attribute can hold more bytes than the file
  std::string object;      // HDF5 path of the group holding the attribute
};

// The list attribute `name` of `object`, or its split form; nullopt when neither exists.
std::optional<std::vector<std::string>> read_name_list(hid_t object, const std::string& name,
                                                       const AttributeContext& where);
// A single string attribute (scalar, or a list of one); nullopt when absent.
std::optional<std::string> read_text(hid_t object, const std::string& name,
                                     const AttributeContext& where);

inline constexpr uint64_t kObjectHeaderLimit = 64512;  // Keras' HDF5_OBJECT_HEADER_LIMIT

// Writes `items` as Keras' save_attributes_to_hdf5_group would (including the split form).
// Throws Error(kUsage) when one item alone exceeds kObjectHeaderLimit, as Keras refuses it too.
void write_name_list(hid_t object, const std::string& name, const std::vector<std::string>& items,
                     const std::string& file);
// A scalar variable-length string attribute.
void write_text(hid_t object, const std::string& name, const std::string& value,
                const std::string& file);

}  // namespace tensorferry::h5
