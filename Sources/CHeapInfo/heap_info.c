#include "heap_info.h"

#if defined(__linux__)
#include <malloc.h>
#endif

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
size_t spor_heap_bytes_in_use(void) { return mallinfo2().uordblks; }
size_t spor_heap_bytes_free(void) { return mallinfo2().fordblks; }
#else
size_t spor_heap_bytes_in_use(void) { return 0; }
size_t spor_heap_bytes_free(void) { return 0; }
#endif
