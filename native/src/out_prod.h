// The CPU's F32 OUT_PROD as a register-tiled op, swapped in after autodiff.
#pragma once
#include "ggml.h"

/**
 * Rewrites an F32 OUT_PROD node (dst[i, j] = Σ_k a[i, k] · b[j, k], a broadcast over b's batches; a contiguous
 * along i, or else b along j) in place into a CPU op that keeps tiles of dst in registers: 1.4–5× ggml's on
 * attention's and LoRA's gradients, whose inner loop loads and stores dst for every few k. The same sums in the
 * same order (equal to the bit on AVX-512 and AVX2). False when the node does not fit.
 */
bool out_prod_tiled(ggml_context * ctx, ggml_tensor * node);

/** Whether out_prod_tiled takes `node`. */
bool out_prod_tileable(const ggml_tensor * node);
