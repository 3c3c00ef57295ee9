# ctest's compile-fail check (cmake -DCXX=... -DSOURCE=... -DINCLUDE=... -P compile_fail.cmake):
# SOURCE must fail to compile as C++17 with every warning an error, and the compiler's output must
# match each `// expect: <regex>` line of SOURCE. A SOURCE with no `expect` line must compile (the
# control that the harness itself works).
file(STRINGS "${SOURCE}" expects REGEX "^// expect: ")
execute_process(
  COMMAND "${CXX}" -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only "-I${INCLUDE}" "${SOURCE}"
  RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT expects)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${SOURCE} should compile, and did not:\n${out}")
  endif()
  return()
endif()
if(result EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, and should have been refused")
endif()
foreach(line ${expects})
  string(REGEX REPLACE "^// expect: " "" pattern "${line}")
  if(NOT out MATCHES "${pattern}")
    message(FATAL_ERROR "${SOURCE} was refused, but without a message matching `${pattern}`:\n${out}")
  endif()
endforeach()
