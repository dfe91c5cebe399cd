#ifndef TALLY_CPROTOBUFC_SHIM_H
#define TALLY_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
