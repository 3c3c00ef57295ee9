// alignas beyond 8 bytes: refused.
// expect: SHM_MESSAGE\(Wide\): aligned to more than 8 bytes
#include <shm/shm.hpp>

struct alignas(16) Wide {
  double a;
  double b;
};
SHM_MESSAGE(Wide, a, b);
