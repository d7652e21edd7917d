#ifndef SPOR_CZLIB_SHIM_H
#define SPOR_CZLIB_SHIM_H
#include <zlib.h>
#endif
