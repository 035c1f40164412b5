// doctest's runner and main, compiled once for every unit test (each test
// file only includes the header: the implementation took most of a small
// test's compile time, once per executable).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
