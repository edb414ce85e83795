// libFuzzer target: any bytes as a model config file — HF config.json, OpenAI hparams.json, Google
// bert_config.json — through both readers that parse them: the family tables' (models/:
// read_config, check_expressible, write_config) and the reference forward pass's
// (verify/read_model_config). The first byte picks the family (bit 3 llama, else bit 0 bert or
// gpt2) and the convention (bits 1-2).
#include "fuzz/fuzz_input.h"
#include "models/family.h"
#include "verify/family.h"
#include "verify/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tensorferry;
  if (size < 1) return 0;
  const bool llama = data[0] & 8;
  const bool bert = !llama && (data[0] & 1);
  const auto convention = static_cast<size_t>((data[0] >> 1) & 3);
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string path = fuzz::write_input("config.json", data + 1, size - 1);
  const Family* family = family_by_name(llama ? "llama" : bert ? "bert" : "gpt2");
  const Convention c = kAllConventions[convention];
  if (family->supports(c)) {
    try {
      const ModelConfig config = family->read_config(c, text, path);
      (void)family->matches_hf_config(config.hf);
      for (Convention target : kAllConventions) {
        if (!family->supports(target)) continue;
        try {
          (void)family->check_expressible(target, config, {});
          (void)family->write_config(target, config, &family->hf_classes().front());
        } catch (const Error&) {
        }
      }
    } catch (const Error&) {
    }
  }
  TENSORFERRY_FUZZ_BODY({
    const verify::Family& verify_family = *verify::family_from_name(family->name());
    (void)verify::read_model_config(verify_family, static_cast<verify::Convention>(convention),
                                    path);
  });
}
