// A restricted pickle machine: it decodes the opcodes of pickle protocols 0-5 that plain data and a
// PyTorch state dict need, and never executes anything. Whatever Python's unpickler would look up
// or call (GLOBAL, STACK_GLOBAL, REDUCE, NEWOBJ, BUILD, persistent ids) is handed to a
// PickleEnvironment, which either builds an inert value for it or refuses it by name.
//
// Opcodes that only serve arbitrary objects (INST, OBJ, EXT1/2/4 extension codes, out-of-band
// buffers) and the quoted-string opcodes of protocol 0 are refused outright. Every count, length
// and index read from the pickle is checked against the bytes that remain and against
// PickleLimits before it is used, so a pickle can make the machine neither allocate more than the
// limits allow nor recurse.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "formats/torch/pickle_value.h"

namespace tensorferry {

// What GLOBAL, REDUCE, BUILD and persistent ids mean. Implementations throw
// Error(kBadInput, message) to refuse; the machine adds the file and the opcode's offset.
class PickleEnvironment {
 public:
  virtual ~PickleEnvironment() = default;
  // GLOBAL / STACK_GLOBAL / INST name `module.name`: the value it stands for, or a refusal.
  virtual ValueId find_global(ValueStore& store, const std::string& module,
                              const std::string& name) = 0;
  // REDUCE: `callable(*args)`; args is a tuple.
  virtual ValueId call(ValueStore& store, ValueId callable, ValueId args) = 0;
  // NEWOBJ / NEWOBJ_EX without keyword arguments: `cls.__new__(cls, *args)`.
  virtual ValueId new_object(ValueStore& store, ValueId cls, ValueId args) = 0;
  // BUILD: `object.__setstate__(state)` or an update of its attributes.
  virtual void build(ValueStore& store, ValueId object, ValueId state) = 0;
  // PERSID / BINPERSID; `position` is the opcode's offset in the pickle, for messages about what
  // the id refers to that are only found wrong later (a storage without its record).
  virtual ValueId persistent_load(ValueStore& store, ValueId pid, uint64_t position) = 0;
};

// Refuses every global and persistent id: for pickles that must hold plain data only.
class PlainDataEnvironment : public PickleEnvironment {
 public:
  ValueId find_global(ValueStore& store, const std::string& module,
                      const std::string& name) override;
  ValueId call(ValueStore& store, ValueId callable, ValueId args) override;
  ValueId new_object(ValueStore& store, ValueId cls, ValueId args) override;
  void build(ValueStore& store, ValueId object, ValueId state) override;
  ValueId persistent_load(ValueStore& store, ValueId pid, uint64_t position) override;
};

struct PickleResult {
  ValueId root;
  uint64_t length;  // bytes consumed, up to and including STOP
};

// Runs the pickle that starts at `bytes[0]` up to its STOP opcode (bytes after it are not read).
// Errors are Error(kBadInput) naming `file` and the file offset (`base_offset` + position) of the
// opcode at fault.
PickleResult run_pickle(std::span<const std::byte> bytes, ValueStore& store, PickleEnvironment& env,
                        const PickleLimits& limits, const std::string& file, uint64_t base_offset);

}  // namespace tensorferry
