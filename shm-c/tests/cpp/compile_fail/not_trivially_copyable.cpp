// A struct with a destructor of its own: not plain bytes, refused.
// expect: SHM_MESSAGE\(Handle\): the struct is not trivially copyable
#include <shm/shm.hpp>

struct Handle {
  ~Handle() {}
  int64_t fd;
};
SHM_MESSAGE(Handle, fd);
