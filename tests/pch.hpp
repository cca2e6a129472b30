#pragma once
// The headers nearly every test file includes, precompiled once per build and reused by the test
// executables (tests/CMakeLists.txt, PML_TEST_PCH): Catch2's single header and all of pml's (about 7 s of
// parsing per file at -O2). Test files still include what they use; this only makes it cheaper.
#include <catch2/catch.hpp>

#include "pml/pml.hpp"
#include "pml/models/sequence/hidden_markov_model.hpp"
#include "pml/nn/gradcheck.hpp"
