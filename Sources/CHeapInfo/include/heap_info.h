#ifndef SPOR_HEAP_INFO_H
#define SPOR_HEAP_INFO_H
#include <stddef.h>

/// Bytes currently allocated by malloc in this process (glibc mallinfo2().uordblks),
/// or 0 where that is not available.
size_t spor_heap_bytes_in_use(void);

/// Bytes malloc holds free in its arenas (glibc mallinfo2().fordblks): memory the
/// process keeps but does not use — fragmentation, when it grows. 0 where not available.
size_t spor_heap_bytes_free(void);

#endif
