// Writing checkpoints: CheckpointWriter (begin with every tensor's name, dtype and shape, write
// each tensor's bytes in that order, commit publishes the output atomically) from
// create_checkpoint_writer(format, path, options). Declared with the reader (reader.h).
#pragma once

#include "tensorferry/reader.h"
