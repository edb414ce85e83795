// tensorferry as a C++ library: find_package(tensorferry) and link tensorferry::tensorferry
// (docs/library.md).
#pragma once

#include "tensorferry/commands.h"
#include "tensorferry/errors.h"
#include "tensorferry/progress.h"
#include "tensorferry/reader.h"
#include "tensorferry/writer.h"
