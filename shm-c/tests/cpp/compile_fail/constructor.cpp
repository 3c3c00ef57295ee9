// A struct with a constructor (not a plain struct): refused.
// expect: SHM_MESSAGE\(Counter\): the struct is not an aggregate
#include <shm/shm.hpp>

struct Counter {
  Counter() : n(0) {}
  int64_t n;
};
SHM_MESSAGE(Counter, n);
