#include "cross_entropy.h"
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace {

// exp(x) for x ≤ 0 (logits minus their maximum), within 1 ulp (measured on [-87, 0] in steps of 1e-4): Cephes'
// range reduction and polynomial on four floats at a time, in the compiler's portable vector types (SSE on any
// x86-64, NEON on Arm).
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

inline v4f exp_nonpositive(v4f x) {
    const v4f lo = v4f{} - 87.0f;  // below that exp underflows; 1.6e-38 instead of 0 changes no sum here
    const v4i below = x < lo;
    x = (v4f) (((v4i) x & ~below) | ((v4i) lo & below));
    const v4f magic = v4f{} + 12582912.0f;
    const v4f n = (x * 1.44269504088896341f + magic) - magic;  // round(x / ln 2)
    const v4f r = x - n * 0.693359375f + n * 2.12194440e-4f;
    v4f p = v4f{} + 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const v4i bits = (__builtin_convertvector(n, v4i) + 127) << 23;
    return p * (v4f) bits;
}

float row_max(const float * x, int64_t n) {
    float lanes[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) lanes[k] = std::max(lanes[k], x[i + k]);
    float m = -INFINITY;
    for (float lane : lanes) m = std::max(m, lane);
    for (; i < n; i++) m = std::max(m, x[i]);
    return m;
}

// out[i] = exp(x[i] - max).
void exp_row(const float * x, int64_t n, float max, float * out) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        v4f v;
        std::memcpy(&v, x + i, sizeof(v));
        v = exp_nonpositive(v - max);
        std::memcpy(out + i, &v, sizeof(v));
    }
    if (i < n) {  // the last few, padded with the maximum (exp 1), then dropped
        v4f v = v4f{} + max;
        std::memcpy(&v, x + i, (n - i) * sizeof(float));
        v = exp_nonpositive(v - max);
        std::memcpy(out + i, &v, (n - i) * sizeof(float));
    }
}

float sum_row(const float * x, int64_t n) {
    float lanes[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) lanes[k] += x[i + k];
    double sum = 0;
    for (float lane : lanes) sum += lane;
    for (; i < n; i++) sum += x[i];
    return (float) sum;
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
        const float factor = scale / sum_row(out, vocab);
        for (int64_t i = 0; i < vocab; i++) out[i] *= factor;
        out[((const int32_t *) targets->data)[r]] -= scale;
    }
}

// Makes `node` compute what `model` (a fresh custom node of the same shape) computes: the graph's other nodes
// keep pointing at `node`.
void become(ggml_tensor * node, const ggml_tensor * model) {
    node->op = model->op;
    std::memcpy(node->op_params, model->op_params, sizeof(node->op_params));
    for (int i = 0; i < GGML_MAX_SRC; i++) node->src[i] = model->src[i];
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
