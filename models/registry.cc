// The one list of model families: a family is registered by one line here, its convert side
// (models/family.h: table, config mapping) and its verify side (verify/family.h: verify's own
// reading of the framework, and its forward pass) side by side. Everything else finds a family
// through these lists (by name, by config.json, by tensor names); see docs/adding-a-family.md.
#include "models/albert/albert.h"
#include "models/albert/albert_verify.h"
#include "models/bert/bert.h"
#include "models/bert/bert_verify.h"
#include "models/distilbert/distilbert.h"
#include "models/distilbert/distilbert_verify.h"
#include "models/electra/electra.h"
#include "models/electra/electra_verify.h"
#include "models/family.h"
#include "models/gpt2/gpt2.h"
#include "models/gpt2/gpt2_verify.h"
#include "models/llama/llama.h"
#include "models/llama/llama_verify.h"
#include "models/roberta/roberta.h"
#include "models/roberta/roberta_verify.h"
#include "verify/family.h"

namespace tensorferry {
namespace {

struct Registered {
  const Family& convert;
  const verify::Family& verify;
};

const std::vector<Registered>& registered() {
  static const std::vector<Registered> families = {
      {gpt2_family(), verify::gpt2_verify_family()},
      {bert_family(), verify::bert_verify_family()},
      {llama_family(), verify::llama_verify_family()},
      {albert_family(), verify::albert_verify_family()},
      {roberta_family(), verify::roberta_verify_family()},
      {electra_family(), verify::electra_verify_family()},
      {electra_generator_family(), verify::electra_generator_verify_family()},
      {distilbert_family(), verify::distilbert_verify_family()},
  };
  return families;
}

// One side of every registered family, in registry order.
template <typename Side, typename Pick>
std::vector<const Side*> sides(Pick pick) {
  std::vector<const Side*> out;
  for (const Registered& r : registered()) out.push_back(&pick(r));
  return out;
}

}  // namespace

const std::vector<const Family*>& all_families() {
  static const auto families =
      sides<Family>([](const Registered& r) -> const Family& { return r.convert; });
  return families;
}

namespace verify {

const std::vector<const Family*>& all_families() {
  static const auto families =
      sides<Family>([](const Registered& r) -> const Family& { return r.verify; });
  return families;
}

const Family* family_from_name(std::string_view name) {
  for (const Family* f : all_families())
    if (f->name == name) return f;
  return nullptr;
}

}  // namespace verify
}  // namespace tensorferry
