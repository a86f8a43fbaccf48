#ifndef MIXMC_CFLOATTEXT_SHIM_H
#define MIXMC_CFLOATTEXT_SHIM_H
#include <stddef.h>
#include <stdbool.h>

/// The Swift runtime's shortest round-trip printer for doubles (exported by libswiftCore, which
/// every Swift program links): the digits `Double.description` is made of, written into
/// `buffer` without allocating (fill the buffer with ASCII "0" first: see StanCSVNumberFormat). Returns the number of bytes written (no NUL counted), 0 if
/// `length` is too small; 32 bytes always suffice. `debug` false gives `description`'s spelling.
size_t swift_float64ToString(char *buffer, size_t length, double value, bool debug);

#endif
