// The forward pass's operations on an engine's native context: each checks nothing (addon.cc has
// checked every size against its buffer), converts what it must, and splits the work over the
// context's threads in chunks (every output computed by one thread, so the same bits at any
// thread count), or runs it on the calling thread when it is too small to be worth a hand-off.
#pragma once
#include <cstdint>

#include "context.h"
#include "panels.h"

namespace jn {

DotKind dotKindOf(const PanelFormat& f);

void opMatmul(Context& c, float* out, const float* x, const Panels& w, int n);
void opEmbed(Context& c, float* out, const int32_t* tokenIds, const Panels& table, int n);
void opRmsNorm(Context& c, float* out, const float* x, const float* weight, int n, int dim, float eps);
void opRope(Context& c, float* x, const int32_t* positions, const float* table, int n, int numHeads, int headDim, bool neox);
void opStoreKv(Context& c, uint16_t* keys, uint16_t* values, const float* k, const float* v, const int32_t* slots, int n, int kvDim);
void opAttention(Context& c, AttentionTask task);
void opSiluMul(Context& c, float* out, const float* gate, const float* up, int64_t count);
void opAdd(Context& c, float* x, const float* y, int64_t count);
void opAddBias(Context& c, float* x, const float* bias, int n, int width);
void opSoftmax(Context& c, float* out, const float* logits, const float* invTemperature, int n, int vocab);

}  // namespace jn
