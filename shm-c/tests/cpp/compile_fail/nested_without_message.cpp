// A struct field whose type has no SHM_MESSAGE: refused, naming the field.
// expect: SHM_MESSAGE\(Outer\): field .inner. has a type a message cannot carry
#include <shm/shm.hpp>

struct Inner {
  double a;
};
struct Outer {
  Inner inner;
};
SHM_MESSAGE(Outer, inner);
