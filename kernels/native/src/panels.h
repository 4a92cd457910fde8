// Repacking weight matrices into panels (panel-format.h describes the layout), and reading rows back.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "panel-format.h"

namespace jn {

// Repacks panels [begin, end) of `out` from `src`, the matrix in its file's layout. Thread-safe
// over disjoint ranges, so a load can spread the work over a pool.
void repackPanels(const Panels& out, const uint8_t* src, int begin, int end);

// A Panels for `type` [rows, cols] with its memory allocated (not yet filled); throws on a type
// or shape the format cannot hold.
std::unique_ptr<Panels> allocatePanels(int type, int rows, int cols);

// Row `row` of the matrix as f32, exactly as ggml's dequantize_row_* gives it.
void dequantizeRow(const Panels& panels, int row, float* out);

// The bytes of one row of `type` in a file, or 0 when cols is not whole blocks.
size_t fileRowBytes(int type, int cols);

}  // namespace jn
