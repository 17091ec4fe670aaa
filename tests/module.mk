# tests/: fragments of the test directories that build programs.
include tests/crash/module.mk
