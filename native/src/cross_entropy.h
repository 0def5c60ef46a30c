// Cross-entropy against target ids on the CPU, swapped in after autodiff for ggml's one-hot version.
#pragma once
#include "ggml.h"

/**
 * Rewrites a CROSS_ENTROPY_LOSS node (mean over rows, labels one-hot) and CROSS_ENTROPY_LOSS_BACK nodes in place
 * into CPU ops that read `targets` (I32 [rows]) instead of the labels: the one-hot matrix (vocabulary × rows) is
 * then neither built nor read, and the exponentials run vectorized (ggml's CPU loss calls expf per logit).
 * Values agree with ggml's ops to float rounding. CPU backends only (custom ops run nowhere else).
 */
void cross_entropy_on_targets(ggml_context * ctx, ggml_tensor * node, ggml_tensor * targets);
