// The files of a model folder besides its weights. A conversion converts the config, carries
// over (renamed where the conventions differ, per the family's file table) the files the
// target's loaders also read — vocabularies and tokenizer files, a sentence-transformers model's
// modules.json, sentence_bert_config.json, config_sentence_transformers.json and module folders
// (1_Pooling/, 2_Normalize/), README.md, generation_config.json — generates what the target reads
// and the source had no counterpart of, and lists every other file with the reason it stays
// behind (TensorBoard events, the training graph, other checkpoints of the run), so that nothing
// in the source folder disappears without a line in the report.
//
// Every file is read or copied through open_folder_file(), on top of find_in_folder
// (core/input_file.h), the one rule for every file tensorferry finds through a folder: regular
// files only, links only within the folder unless --follow-symlinks.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "convert/plan.h"
#include "core/checkpoint.h"
#include "core/input_file.h"
#include "models/family.h"

namespace tensorferry {

// Fills plan.files, plan.generated and plan.left_behind from the source folder, the family's
// file table and the target convention. Files `reader` took tensors from are not listed.
void plan_folder_files(Plan& plan, const CheckpointReader& reader);

// Opens `relative` (a path inside `folder`) for reading. Throws kBadInput naming the file when
// it is not a regular file or a link leads out of the folder, kIo when it cannot be opened.
InputFile open_folder_file(const std::filesystem::path& folder,
                           const std::filesystem::path& relative);

// Reads files of `folder` for the family's complete_config (nullopt when absent).
FolderFileReader folder_file_reader(const std::string& folder);

// Copies the carried file `copy` from the source folder into `staging`, creating the
// subfolders it sits in (1_Pooling/config.json), in pieces (module folders may hold weights).
void copy_folder_file(const std::string& source_folder, const FileCopy& copy,
                      const std::filesystem::path& staging);

}  // namespace tensorferry
