// tensorferry's errors, as the library throws them: tensorferry::Error carries its kind (the
// exit code the CLI reports for it: 1 verification failed, 2 usage, 3 bad input, 4 I/O) and where
// it happened: file(), tensor() and offset() where they are known. The same class the core throws.
#pragma once

#include "core/error.h"
