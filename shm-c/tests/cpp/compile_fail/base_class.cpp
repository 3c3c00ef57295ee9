// Fields only in a base class, one of them listed: the bytes before it are refused.
// expect: SHM_MESSAGE\(Derived\): bytes before the first field listed that no field covers
#include <shm/shm.hpp>

struct Base {
  uint32_t x;
  uint32_t y;
};
struct Derived : Base {};
SHM_MESSAGE(Derived, y);
