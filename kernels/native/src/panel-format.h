// Weight matrices repacked at load into panels of 16 rows, the layout every matmul kernel here
// reads. In a panel, the values of one block (32 or 256 columns, or one column of a float type)
// sit for all 16 rows together, four columns of a row side by side, so that one 512-bit vector
// holds four columns of 16 rows: the int8 dot product (vpdpbusd) of that vector with four
// broadcast activations gives 16 rows' partial sums at once, and a panel is read as one stream.
//
// Block of a panel, by family (values are unsigned codes, the type's offset subtracted in the
// dot product: Q4_0 8, Q5_0 16, Q8_0 128, Q6_K 32):
//   4-, 5-, 6-bit codes: blockValues / 8 vectors of 64 bytes, byte (row, j) of vector i holding
//     column 4i + j in its low nibble and column blockValues / 2 + 4i + j in its high one; the
//     fifth (and sixth) bits as 64-bit masks, two per vector (low half, high half) per bit;
//   8-bit codes: blockValues / 4 vectors of 64 bytes, byte (row, j) of vector i = column 4i + j;
//   then per row: the f16 scale d (and the f16 min m, or dmin), then for K-quants the sub-block
//     scales (and mins) as bytes, [sub-block][row].
//   float types: per column, the 16 rows' values (f32, f16 or bf16 bits).
#pragma once
#include <cstddef>
#include <cstdint>

namespace jn {

constexpr int PANEL_ROWS = 16;

enum class Family : int { floats = 0, legacy = 1, kquant = 2 };

struct PanelFormat {
  int type;
  Family family;
  int blockValues;   // columns per block (1 for float types)
  int codeBits;      // 4, 5, 6 or 8 (quantized types); 32 or 16 (float types)
  int codeOffset;    // subtracted from every code
  bool hasMin;       // Q4_1, Q5_1 (m) and Q4_K, Q5_K (dmin, sub-block mins)
  int subValues;     // K-quants: values per sub-block scale (32, or 16 for Q6_K)
  // byte layout of one block of a panel
  int planesAt;      // the high-bit masks
  int scaleAt;       // 16 f16 d
  int minAt;         // 16 f16 m or dmin
  int subScalesAt;   // K-quants: [sub-block][16] bytes (signed for Q6_K)
  int subMinsAt;     // Q4_K, Q5_K: [sub-block][16] bytes
  int blockBytes;    // bytes of one block of a panel
};

// The format of `type`, or null for a type this backend does not multiply.
const PanelFormat* panelFormat(int type);

// A weight matrix in panels: (rows rounded up to 16) / 16 panels of (cols / blockValues) blocks.
struct Panels {
  const PanelFormat* format;
  int rows;
  int cols;
  int numPanels;
  size_t panelBytes;
  uint8_t* data;  // 64-byte aligned
  ~Panels();
};

}  // namespace jn
