#include "panels.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "ggml-blocks.h"
#include "half.h"

namespace jn {

namespace {

// type, family, blockValues, codeBits, codeOffset, hasMin, subValues, planesAt, scaleAt, minAt, subScalesAt, subMinsAt, blockBytes
const PanelFormat FORMATS[] = {
    {GGML_F32, Family::floats, 1, 32, 0, false, 0, 0, 0, 0, 0, 0, 64},
    {GGML_F16, Family::floats, 1, 16, 0, false, 0, 0, 0, 0, 0, 0, 32},
    {GGML_BF16, Family::floats, 1, 16, 0, false, 0, 0, 0, 0, 0, 0, 32},
    {GGML_Q4_0, Family::legacy, 32, 4, 8, false, 0, 256, 256, 0, 0, 0, 288},
    {GGML_Q4_1, Family::legacy, 32, 4, 0, true, 0, 256, 256, 288, 0, 0, 320},
    {GGML_Q5_0, Family::legacy, 32, 5, 16, false, 0, 256, 320, 0, 0, 0, 352},
    {GGML_Q5_1, Family::legacy, 32, 5, 0, true, 0, 256, 320, 352, 0, 0, 384},
    {GGML_Q8_0, Family::legacy, 32, 8, 128, false, 0, 512, 512, 0, 0, 0, 544},
    {GGML_Q4_K, Family::kquant, 256, 4, 0, true, 32, 2048, 2048, 2080, 2112, 2240, 2368},
    {GGML_Q5_K, Family::kquant, 256, 5, 0, true, 32, 2048, 2560, 2592, 2624, 2752, 2880},
    {GGML_Q6_K, Family::kquant, 256, 6, 32, false, 16, 2048, 3072, 0, 3104, 0, 3360},
};

// One block of one row in a neutral form: unsigned codes and the scales that weigh them.
struct DecodedBlock {
  uint8_t codes[QK_K];
  uint16_t d, m;         // f16 bits: d and m (legacy) or d and dmin (K-quants)
  int subScales[16];
  int subMins[8];
};

// get_scale_min_k4: the 6-bit scale and min of sub-block j of a Q4_K / Q5_K super-block
void scaleMinK4(int j, const uint8_t* q, int* scale, int* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

uint32_t le32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24); }

void decodeBlock(int type, const uint8_t* src, DecodedBlock* out) {
  out->m = 0;
  switch (type) {
    case GGML_Q4_0:
    case GGML_Q4_1: {
      const uint8_t* qs = src + (type == GGML_Q4_0 ? 2 : 4);
      std::memcpy(&out->d, src, 2);
      if (type == GGML_Q4_1) std::memcpy(&out->m, src + 2, 2);
      for (int j = 0; j < 16; j++) {
        out->codes[j] = qs[j] & 0xf;
        out->codes[j + 16] = qs[j] >> 4;
      }
      return;
    }
    case GGML_Q5_0:
    case GGML_Q5_1: {
      const bool withMin = type == GGML_Q5_1;
      std::memcpy(&out->d, src, 2);
      if (withMin) std::memcpy(&out->m, src + 2, 2);
      const uint32_t qh = le32(src + (withMin ? 4 : 2));
      const uint8_t* qs = src + (withMin ? 8 : 6);
      for (int j = 0; j < 16; j++) {
        out->codes[j] = (qs[j] & 0xf) | (((qh >> j) & 1) << 4);
        out->codes[j + 16] = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      }
      return;
    }
    case GGML_Q8_0: {
      std::memcpy(&out->d, src, 2);
      for (int j = 0; j < 32; j++) out->codes[j] = static_cast<uint8_t>(static_cast<int8_t>(src[2 + j]) + 128);
      return;
    }
    case GGML_Q4_K:
    case GGML_Q5_K: {
      const bool fifth = type == GGML_Q5_K;
      std::memcpy(&out->d, src, 2);
      std::memcpy(&out->m, src + 2, 2);
      const uint8_t* scales = src + 4;
      const uint8_t* qh = src + 16;
      const uint8_t* qs = src + (fifth ? 48 : 16);
      for (int j = 0; j < 8; j++) {
        scaleMinK4(j, scales, &out->subScales[j], &out->subMins[j]);
        const uint8_t* chunk = qs + 32 * (j >> 1);
        for (int l = 0; l < 32; l++) {
          const int nibble = (j & 1) ? chunk[l] >> 4 : chunk[l] & 0xf;
          const int high = fifth && (qh[l] & (1 << j)) ? 16 : 0;
          out->codes[32 * j + l] = static_cast<uint8_t>(nibble + high);
        }
      }
      return;
    }
    case GGML_Q6_K: {
      const BlockQ6_K* b = reinterpret_cast<const BlockQ6_K*>(src);
      std::memcpy(&out->d, &b->d, 2);
      for (int s = 0; s < 16; s++) out->subScales[s] = b->scales[s];
      for (int h = 0; h < 2; h++) {
        const uint8_t* ql = b->ql + 64 * h;
        const uint8_t* qh = b->qh + 32 * h;
        uint8_t* c = out->codes + 128 * h;
        for (int l = 0; l < 32; l++) {
          c[l] = (ql[l] & 0xf) | ((qh[l] & 3) << 4);
          c[l + 32] = (ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4);
          c[l + 64] = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
          c[l + 96] = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        }
      }
      return;
    }
    default:
      throw std::logic_error("decodeBlock: not a quantized type");
  }
}

size_t fileBlockBytes(int type) {
  switch (type) {
    case GGML_Q4_0: return 18;
    case GGML_Q4_1: return 20;
    case GGML_Q5_0: return 22;
    case GGML_Q5_1: return 24;
    case GGML_Q8_0: return 34;
    case GGML_Q4_K: return 144;
    case GGML_Q5_K: return 176;
    case GGML_Q6_K: return 210;
    case GGML_F32: return 4;
    case GGML_F16:
    case GGML_BF16: return 2;
    default: return 0;
  }
}

// Where value k of a block (of `bv` values) lies among the nibble vectors: vector, and half (0
// the low nibbles, 1 the high ones)
inline void nibbleSlot(int k, int bv, int* vector, int* half) {
  const int group = k / 4;
  *vector = group % (bv / 8);
  *half = group / (bv / 8);
}

void writeBlock(const PanelFormat& f, uint8_t* block, int row, const DecodedBlock& b) {
  const int bv = f.blockValues;
  if (f.codeBits == 8) {
    for (int k = 0; k < bv; k++) block[(k / 4) * 64 + row * 4 + (k % 4)] = b.codes[k];
  } else {
    const int planes = f.codeBits - 4;
    for (int k = 0; k < bv; k++) {
      int vector, half;
      nibbleSlot(k, bv, &vector, &half);
      uint8_t& byte = block[vector * 64 + row * 4 + (k % 4)];
      byte |= static_cast<uint8_t>((b.codes[k] & 0xf) << (4 * half));
      for (int p = 0; p < planes; p++) {
        if (!((b.codes[k] >> (4 + p)) & 1)) continue;
        uint8_t* masks = block + f.planesAt + vector * 16 * planes + p * 16 + half * 8;
        uint64_t mask;
        std::memcpy(&mask, masks, 8);
        mask |= uint64_t{1} << (row * 4 + (k % 4));
        std::memcpy(masks, &mask, 8);
      }
    }
  }
  std::memcpy(block + f.scaleAt + 2 * row, &b.d, 2);
  if (f.hasMin) std::memcpy(block + f.minAt + 2 * row, &b.m, 2);
  if (f.family == Family::kquant) {
    const int subs = bv / f.subValues;
    for (int s = 0; s < subs; s++) block[f.subScalesAt + s * PANEL_ROWS + row] = static_cast<uint8_t>(b.subScales[s]);
    if (f.hasMin) {
      for (int s = 0; s < subs; s++) block[f.subMinsAt + s * PANEL_ROWS + row] = static_cast<uint8_t>(b.subMins[s]);
    }
  }
}

// The code of value k of `row` in a block of a panel, read back.
int readCode(const PanelFormat& f, const uint8_t* block, int row, int k) {
  if (f.codeBits == 8) return block[(k / 4) * 64 + row * 4 + (k % 4)];
  int vector, half;
  nibbleSlot(k, f.blockValues, &vector, &half);
  int code = (block[vector * 64 + row * 4 + (k % 4)] >> (4 * half)) & 0xf;
  const int planes = f.codeBits - 4;
  for (int p = 0; p < planes; p++) {
    uint64_t mask;
    std::memcpy(&mask, block + f.planesAt + vector * 16 * planes + p * 16 + half * 8, 8);
    code |= static_cast<int>((mask >> (row * 4 + (k % 4))) & 1) << (4 + p);
  }
  return code;
}

uint16_t readHalf(const uint8_t* at) {
  uint16_t h;
  std::memcpy(&h, at, 2);
  return h;
}

}  // namespace

const PanelFormat* panelFormat(int type) {
  for (const PanelFormat& f : FORMATS) {
    if (f.type == type) return &f;
  }
  return nullptr;
}

size_t fileRowBytes(int type, int cols) {
  const PanelFormat* f = panelFormat(type);
  if (!f || cols <= 0 || cols % f->blockValues != 0) return 0;
  return static_cast<size_t>(cols / f->blockValues) * fileBlockBytes(type);
}

Panels::~Panels() { std::free(data); }

std::unique_ptr<Panels> allocatePanels(int type, int rows, int cols) {
  const PanelFormat* f = panelFormat(type);
  if (!f) throw std::invalid_argument("the native kernels cannot multiply ggml type " + std::to_string(type));
  if (rows <= 0 || cols <= 0 || cols % f->blockValues != 0) {
    throw std::invalid_argument("a matrix of ggml type " + std::to_string(type) + " needs whole blocks of " + std::to_string(f->blockValues) + " columns, got " + std::to_string(cols));
  }
  auto panels = std::make_unique<Panels>();
  panels->format = f;
  panels->rows = rows;
  panels->cols = cols;
  panels->numPanels = (rows + PANEL_ROWS - 1) / PANEL_ROWS;
  panels->panelBytes = static_cast<size_t>(cols / f->blockValues) * f->blockBytes;
  const size_t total = (panels->panelBytes * panels->numPanels + 63) / 64 * 64;
  panels->data = static_cast<uint8_t*>(std::aligned_alloc(64, total));
  if (!panels->data) throw std::bad_alloc();
  return panels;
}

void repackPanels(const Panels& out, const uint8_t* src, int begin, int end) {
  const PanelFormat& f = *out.format;
  const size_t rowBytes = fileRowBytes(f.type, out.cols);
  const int blocks = out.cols / f.blockValues;
  DecodedBlock decoded;
  for (int p = begin; p < end; p++) {
    uint8_t* panel = out.data + out.panelBytes * p;
    std::memset(panel, 0, out.panelBytes);  // rows past the matrix stay zero, scales included
    const int rows = out.rows - p * PANEL_ROWS < PANEL_ROWS ? out.rows - p * PANEL_ROWS : PANEL_ROWS;
    if (f.family == Family::floats) {
      const int elem = f.codeBits / 8;
      for (int r = 0; r < rows; r++) {
        const uint8_t* row = src + rowBytes * (static_cast<size_t>(p) * PANEL_ROWS + r);
        for (int k = 0; k < out.cols; k++) std::memcpy(panel + static_cast<size_t>(k) * f.blockBytes + r * elem, row + static_cast<size_t>(k) * elem, elem);
      }
      continue;
    }
    const size_t srcBlock = fileBlockBytes(f.type);
    for (int b = 0; b < blocks; b++) {
      uint8_t* block = panel + static_cast<size_t>(b) * f.blockBytes;
      for (int r = 0; r < rows; r++) {
        decodeBlock(f.type, src + rowBytes * (static_cast<size_t>(p) * PANEL_ROWS + r) + srcBlock * b, &decoded);
        writeBlock(f, block, r, decoded);
      }
    }
  }
}

void dequantizeRow(const Panels& panels, int row, float* out) {
  const PanelFormat& f = *panels.format;
  const uint8_t* panel = panels.data + panels.panelBytes * (row / PANEL_ROWS);
  const int r = row % PANEL_ROWS;
  if (f.family == Family::floats) {
    for (int k = 0; k < panels.cols; k++) {
      const uint8_t* at = panel + static_cast<size_t>(k) * f.blockBytes;
      if (f.type == GGML_F32) std::memcpy(out + k, at + 4 * r, 4);
      else if (f.type == GGML_F16) out[k] = halfToFloat(readHalf(at + 2 * r));
      else out[k] = bfloatToFloat(readHalf(at + 2 * r));
    }
    return;
  }
  const int blocks = panels.cols / f.blockValues;
  for (int b = 0; b < blocks; b++) {
    const uint8_t* block = panel + static_cast<size_t>(b) * f.blockBytes;
    const float d = halfToFloat(readHalf(block + f.scaleAt + 2 * r));
    float* o = out + b * f.blockValues;
    if (f.family == Family::legacy) {
      const float m = f.hasMin ? halfToFloat(readHalf(block + f.minAt + 2 * r)) : 0.0f;
      for (int k = 0; k < f.blockValues; k++) {
        const int code = readCode(f, block, r, k);
        if (f.hasMin) {
          const float scaled = static_cast<float>(code) * d;
          o[k] = scaled + m;
        } else {
          o[k] = static_cast<float>(code - f.codeOffset) * d;
        }
      }
      continue;
    }
    const float dmin = f.hasMin ? halfToFloat(readHalf(block + f.minAt + 2 * r)) : 0.0f;
    for (int k = 0; k < f.blockValues; k++) {
      const int s = k / f.subValues;
      const int code = readCode(f, block, r, k);
      if (f.hasMin) {
        const float d1 = d * static_cast<float>(block[f.subScalesAt + s * PANEL_ROWS + r]);
        const float m1 = dmin * static_cast<float>(block[f.subMinsAt + s * PANEL_ROWS + r]);
        const float scaled = d1 * static_cast<float>(code);
        o[k] = scaled - m1;
      } else {
        const float scale = d * static_cast<float>(static_cast<int8_t>(block[f.subScalesAt + s * PANEL_ROWS + r]));
        o[k] = scale * static_cast<float>(code - f.codeOffset);
      }
    }
  }
}

}  // namespace jn
