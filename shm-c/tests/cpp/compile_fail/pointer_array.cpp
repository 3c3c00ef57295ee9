// An array of pointers: refused too.
// expect: SHM_MESSAGE\(Samples\): field .rows. is a pointer
#include <shm/shm.hpp>

struct Samples {
  double* rows[4];
};
SHM_MESSAGE(Samples, rows);
