// Progress of long calls (convert, verify): implement ProgressSink and pass it in the request to
// hear of every tensor written and every verify stage. Called on the calling thread.
#pragma once

#include "core/progress.h"
