#include "cross_entropy.h"
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>
#include "graph.h"

namespace {

// The row loops come in x86-64-v4 (AVX-512), v3 (AVX2) and baseline builds, picked at load time: the addon is
// built for any x86-64, and these loops are most of the loss's time.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define ROW_LOOP __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#pragma GCC diagnostic ignored "-Wpsabi"  // 64-byte vectors cross no call: exp_nonpositive is always inlined
#else
#define ROW_LOOP
#endif

// exp(x) for x ≤ 0 (logits minus their maximum), within 1 ulp (measured on [-87, 0] in steps of 1e-4): Cephes'
// range reduction and polynomial on sixteen floats at a time, in the compiler's portable vector types (one AVX-512
// register, two AVX2 or four SSE/NEON ones).
typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));
constexpr int LANES = 16;

__attribute__((always_inline)) inline vf exp_nonpositive(vf x) {
    const vf lo = vf{} - 87.0f;  // below that exp underflows; 1.6e-38 instead of 0 changes no sum here
    const vi below = x < lo;
    x = (vf) (((vi) x & ~below) | ((vi) lo & below));
    const vf magic = vf{} + 12582912.0f;
    const vf n = (x * 1.44269504088896341f + magic) - magic;  // round(x / ln 2)
    const vf r = x - n * 0.693359375f + n * 2.12194440e-4f;
    vf p = vf{} + 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const vi bits = (__builtin_convertvector(n, vi) + 127) << 23;
    return p * (vf) bits;
}

ROW_LOOP float row_max(const float * x, int64_t n) {
    float lanes[LANES];
    std::fill(lanes, lanes + LANES, -INFINITY);
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) lanes[k] = std::max(lanes[k], x[i + k]);
    float m = -INFINITY;
    for (float lane : lanes) m = std::max(m, lane);
    for (; i < n; i++) m = std::max(m, x[i]);
    return m;
}

// out[i] = exp(x[i] - max).
ROW_LOOP void exp_row(const float * x, int64_t n, float max, float * out) {
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        vf v;
        std::memcpy(&v, x + i, sizeof(v));
        v = exp_nonpositive(v - max);
        std::memcpy(out + i, &v, sizeof(v));
    }
    if (i < n) {  // the last few, padded with the maximum (exp 1), then dropped
        vf v = vf{} + max;
        std::memcpy(&v, x + i, (n - i) * sizeof(float));
        v = exp_nonpositive(v - max);
        std::memcpy(out + i, &v, (n - i) * sizeof(float));
    }
}

ROW_LOOP float sum_row(const float * x, int64_t n) {
    float lanes[LANES] = {};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) lanes[k] += x[i + k];
    double sum = 0;
    for (float lane : lanes) sum += lane;
    for (; i < n; i++) sum += x[i];
    return (float) sum;
}

ROW_LOOP void scale_row(float * x, int64_t n, float factor) {
    for (int64_t i = 0; i < n; i++) x[i] *= factor;
}

// dst F32 [rows]: −log softmax(logits row)[target] per row. src: logits [vocab, rows], targets I32 [rows].
void row_losses(ggml_tensor * dst, int ith, int nth, void *) {
    const ggml_tensor * logits = dst->src[0], * targets = dst->src[1];
    const int64_t vocab = logits->ne[0], rows = logits->ne[1];
    thread_local std::vector<float> exps;
    exps.resize(vocab);
    for (int64_t r = ith; r < rows; r += nth) {
        const float * x = (const float *) ((const char *) logits->data + r * logits->nb[1]);
        const float max = row_max(x, vocab);
        exp_row(x, vocab, max, exps.data());
        const int32_t t = ((const int32_t *) targets->data)[r];
        ((float *) dst->data)[r] = (float) (std::log((double) sum_row(exps.data(), vocab)) - (double) (x[t] - max));
    }
}

// dst F32 [1]: the mean of the per-row losses (one task: rows are few next to the vocabulary).
void mean_loss(ggml_tensor * dst, int ith, int, void *) {
    if (ith != 0) return;
    const ggml_tensor * losses = dst->src[0];
    double sum = 0;
    for (int64_t r = 0; r < losses->ne[0]; r++) sum += ((const float *) losses->data)[r];
    ((float *) dst->data)[0] = (float) (sum / (double) losses->ne[0]);
}

// dst F32 [vocab, rows] = (softmax(logits) − onehot(targets)) · grad / rows. src: grad [1], logits, targets.
void loss_gradient(ggml_tensor * dst, int ith, int nth, void *) {
    const ggml_tensor * grad = dst->src[0], * logits = dst->src[1], * targets = dst->src[2];
    const int64_t vocab = logits->ne[0], rows = logits->ne[1];
    const float scale = ((const float *) grad->data)[0] / (float) rows;
    for (int64_t r = ith; r < rows; r += nth) {
        const float * x = (const float *) ((const char *) logits->data + r * logits->nb[1]);
        float * out = (float *) ((char *) dst->data + r * dst->nb[1]);
        exp_row(x, vocab, row_max(x, vocab), out);
        scale_row(out, vocab, scale / sum_row(out, vocab));
        out[((const int32_t *) targets->data)[r]] -= scale;
    }
}

}  // namespace

void cross_entropy_on_targets(ggml_context * ctx, ggml_tensor * node, ggml_tensor * targets) {
    if (node->op == GGML_OP_CROSS_ENTROPY_LOSS) {
        ggml_tensor * logits = node->src[0];
        ggml_tensor * args[] = {logits, targets};
        ggml_tensor * losses = ggml_custom_4d(ctx, GGML_TYPE_F32, logits->ne[1], 1, 1, 1, args, 2, row_losses, GGML_N_TASKS_MAX, nullptr);
        ggml_tensor * mean_args[] = {losses};
        become(node, ggml_custom_4d(ctx, GGML_TYPE_F32, 1, 1, 1, 1, mean_args, 1, mean_loss, 1, nullptr));
    } else if (node->op == GGML_OP_CROSS_ENTROPY_LOSS_BACK) {
        ggml_tensor * logits = node->src[1];
        ggml_tensor * args[] = {node->src[0], logits, targets};
        become(node, ggml_custom_4d(ctx, GGML_TYPE_F32, logits->ne[0], logits->ne[1], 1, 1, args, 3, loss_gradient, GGML_N_TASKS_MAX, nullptr));
    }
}
