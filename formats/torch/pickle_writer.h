// Writing pickles torch.load(weights_only=True) accepts: protocol 2 opcodes only (the weights-only
// unpickler refuses protocol 4's FRAME, SHORT_BINUNICODE, MEMOIZE and STACK_GLOBAL), no memo.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace tensorferry {

// Opcode-level builder. Each call appends one opcode (or a short fixed sequence).
class PickleWriter {
 public:
  PickleWriter& proto(uint8_t version = 2);
  PickleWriter& global(std::string_view module, std::string_view name);  // GLOBAL
  PickleWriter& mark();
  PickleWriter& tuple();  // TUPLE: everything since the last mark
  PickleWriter& empty_tuple();
  PickleWriter& empty_dict();
  PickleWriter& empty_list();
  PickleWriter& string(std::string_view utf8);  // BINUNICODE
  PickleWriter& integer(int64_t v);             // BININT1/BININT2/BININT/LONG1, smallest first
  PickleWriter& boolean(bool v);
  PickleWriter& none();
  PickleWriter& ints_tuple(const std::vector<uint64_t>& values);  // (a, b, ...) of ints
  PickleWriter& reduce();
  PickleWriter& build();
  PickleWriter& binpersid();
  PickleWriter& setitem();
  PickleWriter& setitems();
  PickleWriter& append();
  PickleWriter& stop();
  PickleWriter& raw(std::string_view bytes);  // anything else (tests build hostile pickles)

  const std::string& bytes() const { return out_; }

 private:
  PickleWriter& op(uint8_t code);
  std::string out_;
};

struct PickledTensor {
  std::string name;
  DType dtype;
  Shape shape;
  std::string storage_key;  // record data/<key>; the storage holds exactly this tensor
};

// Whether torch has the dtype. Those with a legacy typed storage are pickled as
// torch.<X>Storage + _rebuild_tensor_v2; the others (uint16/32/64, float8) as
// torch.storage.UntypedStorage + _rebuild_tensor_v3, exactly as torch 2.13 does.
bool torch_can_store(DType dtype);

// data.pkl of an OrderedDict {name: tensor} whose tensors are dense, row-major and each alone in
// its storage, as nn.Module.state_dict() + torch.save produce it:
//   OrderedDict() + SETITEMS of name -> _rebuild_tensor_v2(
//       ('storage', torch.<X>Storage, key, 'cpu', numel), 0, size, stride, False, OrderedDict())
// (_rebuild_tensor_v3 with an UntypedStorage and the dtype for the dtypes without a typed
// storage).
std::string pickle_state_dict(const std::vector<PickledTensor>& tensors);

// Row-major strides in elements, computed like torch does (a zero-sized dimension counts as 1).
std::vector<uint64_t> contiguous_strides(const Shape& shape);

}  // namespace tensorferry
