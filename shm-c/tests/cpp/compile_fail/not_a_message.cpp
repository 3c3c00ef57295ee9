// A publisher of a type without SHM_MESSAGE: refused, saying what to declare.
// expect: shm::Publisher<T>: T is not a message type: declare SHM_MESSAGE
#include <shm/shm.hpp>

struct Plain {
  double a;
};

int main() {
  shm::Publisher<Plain> publisher("t");
  return 0;
}
