// Fields in a base and in the struct: not standard layout, refused.
// expect: SHM_MESSAGE\(Derived\): the struct is not standard layout
#include <shm/shm.hpp>

struct Base {
  int32_t a;
};
struct Derived : Base {
  int32_t b;
};
SHM_MESSAGE(Derived, b);
