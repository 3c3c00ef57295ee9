// An enum field: refused (its size and values are no schema type).
// expect: SHM_MESSAGE\(Mode\): field .kind. has a type a message cannot carry
#include <shm/shm.hpp>

enum class Kind : uint8_t { A, B };
struct Mode {
  Kind kind;
  uint8_t _reserved[7];
};
SHM_MESSAGE(Mode, kind, _reserved);
