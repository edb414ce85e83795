#include "formats/torch/pickle_writer.h"

#include "core/bytes.h"
#include "core/error.h"

namespace tensorferry {

PickleWriter& PickleWriter::op(uint8_t code) {
  out_.push_back(static_cast<char>(code));
  return *this;
}

PickleWriter& PickleWriter::proto(uint8_t version) {
  op(0x80);
  out_.push_back(static_cast<char>(version));
  return *this;
}

PickleWriter& PickleWriter::global(std::string_view module, std::string_view name) {
  op('c');
  out_.append(module).append("\n").append(name).append("\n");
  return *this;
}

PickleWriter& PickleWriter::mark() { return op('('); }
PickleWriter& PickleWriter::tuple() { return op('t'); }
PickleWriter& PickleWriter::empty_tuple() { return op(')'); }
PickleWriter& PickleWriter::empty_dict() { return op('}'); }
PickleWriter& PickleWriter::empty_list() { return op(']'); }
PickleWriter& PickleWriter::reduce() { return op('R'); }
PickleWriter& PickleWriter::build() { return op('b'); }
PickleWriter& PickleWriter::binpersid() { return op('Q'); }
PickleWriter& PickleWriter::setitem() { return op('s'); }
PickleWriter& PickleWriter::setitems() { return op('u'); }
PickleWriter& PickleWriter::append() { return op('a'); }
PickleWriter& PickleWriter::stop() { return op('.'); }
PickleWriter& PickleWriter::none() { return op('N'); }
PickleWriter& PickleWriter::boolean(bool v) { return op(v ? 0x88 : 0x89); }

PickleWriter& PickleWriter::raw(std::string_view bytes) {
  out_.append(bytes);
  return *this;
}

PickleWriter& PickleWriter::string(std::string_view utf8) {
  if (utf8.size() > 0xffffffffu) throw_usage("pickle: string longer than 4 GiB");
  op('X');
  char len[4];
  store_le(reinterpret_cast<std::byte*>(len), static_cast<uint32_t>(utf8.size()));
  out_.append(len, 4).append(utf8);
  return *this;
}

PickleWriter& PickleWriter::integer(int64_t v) {
  char buf[8];
  auto* b = reinterpret_cast<std::byte*>(buf);
  if (v >= 0 && v < 0x100) {
    op('K');
    out_.push_back(static_cast<char>(v));
  } else if (v >= 0 && v < 0x10000) {
    op('M');
    store_le(b, static_cast<uint16_t>(v));
    out_.append(buf, 2);
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    op('J');
    store_le(b, static_cast<int32_t>(v));
    out_.append(buf, 4);
  } else {
    // LONG1: minimal little-endian two's complement.
    store_le(b, v);
    size_t n = 8;
    while (n > 1 && ((buf[n - 1] == 0 && !(buf[n - 2] & 0x80)) ||
                     (buf[n - 1] == static_cast<char>(0xff) && (buf[n - 2] & 0x80))))
      --n;
    op(0x8a);
    out_.push_back(static_cast<char>(n));
    out_.append(buf, n);
  }
  return *this;
}

PickleWriter& PickleWriter::ints_tuple(const std::vector<uint64_t>& values) {
  if (values.empty()) return empty_tuple();
  if (values.size() > 3) mark();
  for (uint64_t v : values) integer(static_cast<int64_t>(v));
  if (values.size() > 3) return tuple();
  return op(static_cast<uint8_t>(0x84 + values.size()));  // TUPLE1..TUPLE3
}

std::vector<uint64_t> contiguous_strides(const Shape& shape) {
  std::vector<uint64_t> strides(shape.size());
  uint64_t step = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = step;
    step *= std::max<uint64_t>(shape[d], 1);
  }
  return strides;
}

bool torch_can_store(DType dtype) {
  const DTypeInfo& info = dtype_info(dtype);
  return !info.torch_storage.empty() || !info.torch_dtype.empty();
}

std::string pickle_state_dict(const std::vector<PickledTensor>& tensors) {
  // pickle batches SETITEMS by 1000 pairs; torch's unpickler takes any count, this only keeps
  // the layout familiar.
  constexpr size_t kBatch = 1000;
  PickleWriter p;
  p.proto(2).global("collections", "OrderedDict").empty_tuple().reduce();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const PickledTensor& t = tensors[i];
    const DTypeInfo& info = dtype_info(t.dtype);
    if (!torch_can_store(t.dtype))
      throw_usage("pytorch cannot store dtype " + std::string(info.name) + " (tensor '" + t.name +
                  "')");
    const bool typed = !info.torch_storage.empty();
    const uint64_t numel = num_elements(t.shape).value_or(0);
    if (i % kBatch == 0) p.mark();
    p.string(t.name);
    p.global("torch._utils", typed ? "_rebuild_tensor_v2" : "_rebuild_tensor_v3");
    p.mark();
    p.mark().string("storage");
    if (typed)
      p.global("torch", info.torch_storage);
    else
      p.global("torch.storage", "UntypedStorage");
    // numel counts elements of the storage type: bytes for UntypedStorage.
    p.string(t.storage_key)
        .string("cpu")
        .integer(static_cast<int64_t>(typed ? numel : numel * info.size));
    p.tuple().binpersid();
    p.integer(0).ints_tuple(t.shape).ints_tuple(contiguous_strides(t.shape)).boolean(false);
    p.global("collections", "OrderedDict").empty_tuple().reduce();
    if (!typed) p.global("torch", info.torch_dtype);
    p.tuple().reduce();
    if (i % kBatch == kBatch - 1 || i + 1 == tensors.size()) p.setitems();
  }
  p.stop();
  return p.bytes();
}

}  // namespace tensorferry
