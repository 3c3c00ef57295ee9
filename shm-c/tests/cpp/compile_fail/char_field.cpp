// char (sign and size not fixed by C): refused, pointing to int8_t/uint8_t/BoundedString.
// expect: SHM_MESSAGE\(Label\): field .text. is a char
#include <shm/shm.hpp>

struct Label {
  char text[8];
};
SHM_MESSAGE(Label, text);
