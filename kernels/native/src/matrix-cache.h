// Repacked weight matrices, one per source tensor per process: the engine workers of a process
// read the same weights, so the first to load a tensor repacks it and the others share the
// panels. A tensor is known by the key its loader gave it (the weights' own name and the
// tensor's: never an address, which freed memory hands to other bytes). A matrix stays while
// any engine holds it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "panels.h"
#include "thread-pool.h"

namespace jn {

// The panels of the [rows, cols] matrix of `type` at `src`, repacked on `pool`'s threads unless
// a matrix of the same key is loaded (an empty key shares nothing). `releaseSource` tells that
// the source pages may leave memory afterwards (a mapped file).
std::shared_ptr<const Panels> loadMatrix(const uint8_t* src, size_t srcBytes, int type, int rows, int cols, const std::string& key, ThreadPool& pool, bool releaseSource);

}  // namespace jn
