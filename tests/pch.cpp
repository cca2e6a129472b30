// The object library that builds tests/pch.hpp's precompiled header (tests/CMakeLists.txt); nothing else.
