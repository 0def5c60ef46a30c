// Transposed copies for the backward pass (see out_prods_as_mul_mats in train.cpp).
#pragma once
#include "ggml.h"

/**
 * t with dims 0 and 1 swapped, as a new contiguous tensor of `type` (F32, BF16, or Q8_0 when the new rows are
 * whole Q8_0 blocks). t may be any type (quantized weights are dequantized); an F32 t may be any view.
 * on_cpu: a tiled CPU op (ggml's own copy moves strided elements one memcpy at a time); otherwise ggml's
 * copy ops, which GPUs run.
 */
ggml_tensor * transposed_copy(ggml_context * ctx, ggml_tensor * t, ggml_type type, bool on_cpu);
