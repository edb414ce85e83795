#include "convert/convert_model.h"

#include <filesystem>

#include "core/error.h"
#include "formats/registry.h"
#include "formats/tf_bundle/variable_names.h"
#include "verify/family.h"
#include "verify/model_config.h"

namespace tensorferry {
namespace {

// What the verify step after the conversion will refuse in the source's config (a model its
// forward pass cannot run), refused now, before anything is written.
void check_verifiable(const ModelSource& source) {
  // Verify knows families by name only: its reading of a checkpoint stays independent of convert's.
  const auto convention = verify::convention_from_name(convention_name(source.convention));
  const auto family = verify::family_from_name(source.family->name());
  if (!convention || !family) return;
  try {
    verify::read_model_config(*family, *convention, source.config_path);
  } catch (const Error& e) {
    throw Error(e.kind(), e.message() + " (--no-verify converts without the check)", e.file(),
                e.tensor(), e.offset());
  }
}

// Plans the conversion of the opened source and, unless it is a dry run, carries it out.
ModelConvertOutcome convert_read_model(const ModelSource& source, CheckpointReader& reader,
                                       const std::string& output,
                                       const ModelConvertOptions& options, bool dry_run,
                                       const PublishCheck& check, ProgressSink* progress) {
  ModelConvertOutcome outcome{make_plan(source, reader, output, options), std::nullopt};
  if (options.verify) check_verifiable(source);
  if (dry_run) {
    verify_ties(outcome.plan, reader);
    return outcome;
  }
  // The folder the output goes into is created (`mkdir -p`) once the output is known to fit.
  outcome.result = execute_plan(outcome.plan, reader, default_writer, check, progress);
  return outcome;
}

}  // namespace

ModelConvertOutcome convert_model(const std::string& input, const std::string& output,
                                  const ModelConvertOptions& options, bool dry_run,
                                  const PublishCheck& check, ProgressSink* progress) {
  ModelSource source = detect_model(input, options.from);
  if (!options.hf_class.empty()) source.family = &source.family->for_hf_class(options.hf_class);
  auto reader = open_checkpoint(source.checkpoint, source.format);
  // A TF2 checkpoint of an HF TF2 model reads as its tf_model.h5, under its variables' names;
  // what is wrong with one of its weights is also told where the bundle stores it.
  if (source.convention != Convention::kHfTf2 || source.format != Format::kTfBundle)
    return convert_read_model(source, *reader, output, options, dry_run, check, progress);
  reader = tf_bundle::read_by_variable_names(std::move(reader));
  try {
    return convert_read_model(source, *reader, output, options, dry_run, check, progress);
  } catch (const Error& e) {
    throw tf_bundle::located_in_bundle(e, *reader);
  }
}

}  // namespace tensorferry
