// The instruction-set extensions the core was compiled for (docs/design.md §3.8).
#pragma once

namespace archbound {

/// "archbound-isa:" followed by the extensions that the compiler was allowed to use (those
/// of -march=native, or none beyond x86-64's baseline in a portable build), in the names of
/// Linux's /proc/cpuinfo flags, each preceded by a space, and a final ';'. The string is also
/// stored as such in the extension, where the Python package reads it before loading the
/// extension (archbound._cpu), so that a CPU without one of them gets an ImportError
/// instead of SIGILL.
const char* compiled_isa();

}  // namespace archbound
