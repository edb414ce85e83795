// Carrying out a plan: one tensor at a time from the reader through its layout step (and cast,
// when asked) into the writer, then the config and vocabulary files, all inside one staging
// folder that replaces the output only when everything is written. Memory stays bounded by the
// largest transposed or cast tensor (two buffers); copies pass the reader's view straight through.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "convert/plan.h"
#include "core/progress.h"

namespace tensorferry {

struct ConvertResult {
  size_t tensors = 0;
  uint64_t bytes = 0;
  std::vector<std::string> files;  // names written into the output folder, besides the weights
  std::optional<std::filesystem::path> published;  // where the folder went; nullopt: nowhere
};

// Makes the checkpoint writer for the plan's target inside the staging folder; tests substitute
// an in-memory writer. The default creates the format's writer from formats/.
using WriterFactory = std::function<std::unique_ptr<CheckpointWriter>(
    const Plan& plan, const std::filesystem::path& staging)>;
std::unique_ptr<CheckpointWriter> default_writer(const Plan& plan,
                                                 const std::filesystem::path& staging);

// Looks at the complete, synced staging folder before anything is published and says where to
// publish it: the plan's output folder, another name beside it, or nowhere (nullopt: the staging
// folder is removed and the output's name keeps what it had). convert runs verify here, so that
// a result that fails it never appears under the output's name. `progress`, when given, hears
// of every tensor written.
using PublishCheck = std::function<std::optional<std::filesystem::path>(
    const Plan& plan, const std::filesystem::path& staging)>;

ConvertResult execute_plan(const Plan& plan, CheckpointReader& reader,
                           const WriterFactory& make_writer = default_writer,
                           const PublishCheck& check = {}, ProgressSink* progress = nullptr);

// The layout step (and cast) of one entry: `source` bytes in, the target bytes out (a view of
// `source` itself when nothing has to move, else of one of the buffers).
std::span<const std::byte> transform_entry(const PlanEntry& entry,
                                           std::span<const std::byte> source,
                                           std::vector<std::byte>& moved,
                                           std::vector<std::byte>& cast);

}  // namespace tensorferry
