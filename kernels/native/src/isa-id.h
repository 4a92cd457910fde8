// The SIMD paths this addon has. A header of its own, without includes: the SIMD files include
// it, and nothing compiled for one target may pull in code that another file shares.
#pragma once

namespace jn {

enum class Isa { none = 0, avx2 = 1, avx512vnni = 2 };

}  // namespace jn
