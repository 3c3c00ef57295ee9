// A pointer field: refused.
// expect: SHM_MESSAGE\(Samples\): field .data. is a pointer
#include <shm/shm.hpp>

struct Samples {
  const double* data;
  uint64_t count;
};
SHM_MESSAGE(Samples, data, count);
