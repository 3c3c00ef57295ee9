// A tiny `--name value` parser for the C++ examples (as the Rust examples' Args).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace examples {

/// The value after `--name`, or `fallback`; `--help` prints `usage` and exits.
inline std::string arg(int argc, char** argv, const char* name, const char* fallback, const char* usage) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf("%s\n", usage);
      std::exit(0);
    }
    if (argv[i][0] == '-' && argv[i][1] == '-' && std::strcmp(argv[i] + 2, name) == 0) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "--%s needs a value\n%s\n", name, usage);
        std::exit(2);
      }
      return argv[i + 1];
    }
  }
  return fallback;
}

/// `arg` as a number; a value that is not one exits with the usage.
inline double number(int argc, char** argv, const char* name, const char* fallback, const char* usage) {
  const std::string text = arg(argc, argv, name, fallback, usage);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') {
    std::fprintf(stderr, "--%s: not a number: %s\n%s\n", name, text.c_str(), usage);
    std::exit(2);
  }
  return value;
}

}  // namespace examples
