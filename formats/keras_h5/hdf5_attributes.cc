#include "formats/keras_h5/hdf5_attributes.h"

#include <algorithm>

#include "core/bytes.h"

namespace tensorferry::h5 {
namespace {

[[noreturn]] void bad_attribute(const AttributeContext& where, const std::string& name,
                                const std::string& message) {
  throw_bad_input(where.file, std::nullopt,
                  "attribute '" + name + "' of '" + where.object + "' " + message);
}

Handle string_type(size_t size, H5T_cset_t cset, H5T_str_t pad) {
  Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), size);
  H5Tset_cset(t.get(), cset);
  H5Tset_strpad(t.get(), pad);
  return t;
}

std::vector<std::string> read_variable_strings(hid_t attribute, hid_t type, hid_t space,
                                               size_t count, const AttributeContext& where,
                                               const std::string& name) {
  Handle memory = string_type(H5T_VARIABLE, H5Tget_cset(type), H5T_STR_NULLTERM);
  std::vector<char*> pointers(count, nullptr);
  if (H5Aread(attribute, memory.get(), pointers.data()) < 0)
    bad_attribute(where, name, "cannot be read: " + take_error_stack());
  std::vector<std::string> items;
  items.reserve(count);
  for (char* p : pointers) items.emplace_back(p ? p : "");  // h5py reads a null string as b""
  H5Dvlen_reclaim(memory.get(), space, H5P_DEFAULT, pointers.data());
  return items;
}

std::vector<std::string> read_fixed_strings(hid_t attribute, hid_t type, size_t count,
                                            const AttributeContext& where,
                                            const std::string& name) {
  const size_t size = H5Tget_size(type);
  // Read as NULLPAD, as h5py does: HDF5 turns space padding into NULs, and NumPy's S<n> then
  // drops the trailing NULs.
  Handle memory = string_type(size, H5Tget_cset(type), H5T_STR_NULLPAD);
  std::vector<char> buffer(count * size);
  if (H5Aread(attribute, memory.get(), buffer.data()) < 0)
    bad_attribute(where, name, "cannot be read: " + take_error_stack());
  std::vector<std::string> items;
  items.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    std::string item(buffer.data() + i * size, size);
    item.erase(item.find_last_not_of('\0') + 1);
    items.push_back(std::move(item));
  }
  return items;
}

// One attribute as a list of strings. A scalar string counts as a list of one when
// `allow_scalar`; an empty numeric array is the empty list.
std::vector<std::string> read_strings(hid_t object, const std::string& name,
                                      const AttributeContext& where, bool allow_scalar) {
  Handle attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT));
  if (!attribute.valid()) bad_attribute(where, name, "cannot be opened: " + take_error_stack());
  Handle type(H5Aget_type(attribute.get()));
  Handle space(H5Aget_space(attribute.get()));
  if (!type.valid() || !space.valid())
    bad_attribute(where, name, "has an unreadable type or shape: " + take_error_stack());
  const H5S_class_t shape_class = H5Sget_simple_extent_type(space.get());
  const hssize_t points = H5Sget_simple_extent_npoints(space.get());
  if (shape_class == H5S_SCALAR) {
    if (!allow_scalar) bad_attribute(where, name, "is a single value, expected a 1-D list");
  } else if (shape_class != H5S_SIMPLE || H5Sget_simple_extent_ndims(space.get()) != 1) {
    bad_attribute(where, name, "is not a 1-D list");
  }
  if (points < 0) bad_attribute(where, name, "has an unreadable size");
  const auto count = static_cast<uint64_t>(points);
  const H5T_class_t type_class = H5Tget_class(type.get());
  if (type_class != H5T_STRING) {
    // np.asarray([]) is float64, which is how Keras writes the empty list.
    if (count == 0 && shape_class == H5S_SIMPLE) return {};
    bad_attribute(where, name,
                  "holds " + std::to_string(count) + " values that are not strings (HDF5 class " +
                      std::to_string(static_cast<int>(type_class)) + ")");
  }
  const size_t element_size = std::max<size_t>(H5Tget_size(type.get()), 1);
  const auto stored = checked_mul(count, element_size);
  if (!stored || *stored > where.file_size)
    bad_attribute(where, name,
                  "claims " + std::to_string(count) + " strings, more than the file can hold");
  if (H5Tis_variable_str(type.get()) > 0)
    return read_variable_strings(attribute.get(), type.get(), space.get(), count, where, name);
  return read_fixed_strings(attribute.get(), type.get(), count, where, name);
}

bool has_attribute(hid_t object, const std::string& name) {
  const htri_t exists = H5Aexists(object, name.c_str());
  if (exists < 0) H5Eclear2(H5E_DEFAULT);
  return exists > 0;
}

}  // namespace

std::optional<std::vector<std::string>> read_name_list(hid_t object, const std::string& name,
                                                       const AttributeContext& where) {
  if (has_attribute(object, name)) return read_strings(object, name, where, false);
  if (!has_attribute(object, name + "0")) return std::nullopt;
  std::vector<std::string> items;
  for (size_t chunk = 0; has_attribute(object, name + std::to_string(chunk)); ++chunk) {
    auto part = read_strings(object, name + std::to_string(chunk), where, false);
    items.insert(items.end(), std::make_move_iterator(part.begin()),
                 std::make_move_iterator(part.end()));
  }
  return items;
}

std::optional<std::string> read_text(hid_t object, const std::string& name,
                                     const AttributeContext& where) {
  if (!has_attribute(object, name)) return std::nullopt;
  auto items = read_strings(object, name, where, true);
  if (items.size() != 1) bad_attribute(where, name, "is not a single string");
  return std::move(items.front());
}

namespace {

void write_attribute(hid_t object, const std::string& name, hid_t type, hid_t space,
                     const void* data, const std::string& file) {
  Handle attribute(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  check(attribute.get(), ErrorKind::kIo, file, "cannot create attribute '" + name + "'");
  if (data)
    check(H5Awrite(attribute.get(), type, data), ErrorKind::kIo, file,
          "cannot write attribute '" + name + "'");
}

void write_variable_strings(hid_t object, const std::string& name,
                            const std::vector<std::string>& items, const std::string& file) {
  Handle type = string_type(H5T_VARIABLE, H5T_CSET_ASCII, H5T_STR_NULLTERM);
  const hsize_t dims[1] = {items.size()};
  Handle space(H5Screate_simple(1, dims, nullptr));
  std::vector<const char*> pointers;
  for (const auto& item : items) pointers.push_back(item.c_str());
  write_attribute(object, name, type.get(), space.get(), pointers.data(), file);
}

void write_fixed_strings(hid_t object, const std::string& name, const std::string* items,
                         size_t count, size_t size, const std::string& file) {
  Handle type = string_type(size, H5T_CSET_ASCII, H5T_STR_NULLPAD);
  const hsize_t dims[1] = {count};
  Handle space(H5Screate_simple(1, dims, nullptr));
  std::vector<char> buffer(count * size, '\0');
  for (size_t i = 0; i < count; ++i) items[i].copy(buffer.data() + i * size, size);
  write_attribute(object, name, type.get(), space.get(), buffer.data(), file);
}

}  // namespace

void write_name_list(hid_t object, const std::string& name, const std::vector<std::string>& items,
                     const std::string& file) {
  if (items.empty()) {
    const hsize_t dims[1] = {0};
    Handle space(H5Screate_simple(1, dims, nullptr));
    write_attribute(object, name, H5T_IEEE_F64LE, space.get(), nullptr, file);
    return;
  }
  // Keras measures the list as np.asarray(items): every item padded to the longest (at least 1).
  size_t longest = 1;
  for (const auto& item : items) {
    if (item.size() > kObjectHeaderLimit)
      throw Error(ErrorKind::kUsage,
                  "name longer than " + std::to_string(kObjectHeaderLimit) +
                      " bytes cannot be stored in an HDF5 attribute (Keras refuses it too)",
                  file, item.substr(0, 200));
    longest = std::max(longest, item.size());
  }
  const size_t n = items.size();
  size_t chunks = 1;
  // np.array_split(a, k): the first n % k chunks hold n / k + 1 items, the others n / k.
  while ((n / chunks + (n % chunks ? 1 : 0)) * longest > kObjectHeaderLimit) ++chunks;
  if (chunks == 1) {
    write_variable_strings(object, name, items, file);
    return;
  }
  size_t begin = 0;
  for (size_t k = 0; k < chunks; ++k) {
    const size_t count = n / chunks + (k < n % chunks ? 1 : 0);
    write_fixed_strings(object, name + std::to_string(k), items.data() + begin, count, longest,
                        file);
    begin += count;
  }
}

void write_text(hid_t object, const std::string& name, const std::string& value,
                const std::string& file) {
  Handle type = string_type(H5T_VARIABLE, H5T_CSET_ASCII, H5T_STR_NULLTERM);
  Handle space(H5Screate(H5S_SCALAR));
  const char* pointer = value.c_str();
  write_attribute(object, name, type.get(), space.get(), &pointer, file);
}

}  // namespace tensorferry::h5
