// The CPU's F32 OUT_PROD as a register-tiled op, swapped in after autodiff.
#pragma once
#include "ggml.h"

/**
 * Rewrites an F32 OUT_PROD node (dst[i, j] = Σ_k a[i, k] · b[j, k], a contiguous along i, b any strides, a
 * broadcast over b's batches) in place into a CPU op that keeps tiles of dst in registers: 2–3× ggml's, whose
 * inner loop loads and stores dst for every few k. Same sums up to float rounding. False when the node does not fit.
 */
bool out_prod_tiled(ggml_context * ctx, ggml_tensor * node);

/** Whether out_prod_tiled takes `node`. */
bool out_prod_tileable(const ggml_tensor * node);
