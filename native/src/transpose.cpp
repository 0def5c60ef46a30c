#include "transpose.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace {

constexpr int64_t TILE = 32;  // source rows per task unit: one Q8_0 block of each output row

struct BlockQ8_0 {
    ggml_fp16_t d;
    int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block layout");

// One block as ggml's CPU quantize_row_q8_0 makes it (scale 127/max, ties to even), so that this op and a
// ggml copy to Q8_0 give the same bytes.
void quantize_q8_0(const float * x, BlockQ8_0 & out) {
    float lanes[8] = {};  // eight running maxima: a shape compilers turn into vector code
    for (int i = 0; i < 32; i += 8)
        for (int k = 0; k < 8; k++) lanes[k] = std::max(lanes[k], std::fabs(x[i + k]));
    float amax = 0.0f;
    for (float lane : lanes) amax = std::max(amax, lane);
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    out.d = ggml_fp32_to_fp16(amax / 127.0f);
    constexpr float magic = 12582912.0f;  // 1.5 · 2^23: adding and subtracting it rounds |v| < 2^22 to nearest even
    for (int i = 0; i < 32; i++) out.qs[i] = (int8_t) (int) ((x[i] * id + magic) - magic);
}

// One unit: TILE source rows (one batch index) read as floats, written as TILE columns of dst.
void transpose_tile(ggml_tensor * dst, const ggml_tensor * src, int64_t unit, std::vector<float> & tile) {
    const int64_t n_tiles = (src->ne[1] + TILE - 1) / TILE;
    const int64_t i23 = unit / n_tiles, r0 = (unit % n_tiles) * TILE;
    const int64_t i2 = i23 % src->ne[2], i3 = i23 / src->ne[2];
    const int64_t rows = std::min(TILE, src->ne[1] - r0), cols = src->ne[0];
    tile.resize(TILE * cols);
    if (rows < TILE) std::fill(tile.begin() + rows * cols, tile.end(), 0.0f);  // a short last tile quantizes as zeros
    const ggml_to_float_t to_float = ggml_get_type_traits(src->type)->to_float;
    for (int64_t r = 0; r < rows; r++) {
        const char * row = (const char *) src->data + (r0 + r) * src->nb[1] + i2 * src->nb[2] + i3 * src->nb[3];
        float * out = tile.data() + r * cols;
        if (src->type == GGML_TYPE_F32 && src->nb[0] == sizeof(float)) {
            std::memcpy(out, row, cols * sizeof(float));
        } else if (src->type == GGML_TYPE_F32) {
            for (int64_t c = 0; c < cols; c++) out[c] = *(const float *) (row + c * src->nb[0]);
        } else {
            to_float(row, out, cols);
        }
    }
    // Columns in groups: each tile row is read once, contiguously, per group.
    char * base = (char *) dst->data + i2 * dst->nb[2] + i3 * dst->nb[3];
    constexpr int64_t GROUP = 16;
    float group[GROUP][TILE];
    for (int64_t c0 = 0; c0 < cols; c0 += GROUP) {
        const int64_t width = std::min(GROUP, cols - c0);
        for (int64_t r = 0; r < TILE; r++) {
            const float * in = tile.data() + r * cols + c0;
            for (int64_t j = 0; j < width; j++) group[j][r] = in[j];
        }
        for (int64_t j = 0; j < width; j++) {
            char * row = base + (c0 + j) * dst->nb[1];
            if (dst->type == GGML_TYPE_Q8_0) {
                quantize_q8_0(group[j], ((BlockQ8_0 *) row)[r0 / TILE]);
            } else if (dst->type == GGML_TYPE_BF16) {
                ggml_fp32_to_bf16_row(group[j], (ggml_bf16_t *) row + r0, rows);
            } else {
                std::memcpy(row + r0 * sizeof(float), group[j], rows * sizeof(float));
            }
        }
    }
}

void transpose_op(ggml_tensor * dst, int ith, int nth, void *) {
    const ggml_tensor * src = dst->src[0];
    const int64_t units = ((src->ne[1] + TILE - 1) / TILE) * src->ne[2] * src->ne[3];
    thread_local std::vector<float> tile;
    for (int64_t unit = ith; unit < units; unit += nth) transpose_tile(dst, src, unit, tile);
}

}  // namespace

ggml_tensor * transposed_copy(ggml_context * ctx, ggml_tensor * t, ggml_type type, bool on_cpu) {
    if (type == GGML_TYPE_Q8_0 && t->ne[1] % TILE != 0) type = GGML_TYPE_F32;
    if (on_cpu && (t->type == GGML_TYPE_F32 || ggml_is_contiguous(t))) {
        ggml_tensor * args[] = {t};
        return ggml_custom_4d(ctx, type, t->ne[1], t->ne[0], t->ne[2], t->ne[3], args, 1, transpose_op, GGML_N_TASKS_MAX, nullptr);
    }
    // Quantized weights dequantize through GET_ROWS of every row: CUDA copies only some quantized types to
    // F32, but gets rows of all of them (K-quants included).
    ggml_tensor * f = t;
    if (ggml_is_quantized(t->type) && ggml_is_matrix(t)) {
        f = ggml_get_rows(ctx, t, ggml_cast(ctx, ggml_arange(ctx, 0.0f, (float) t->ne[1], 1.0f), GGML_TYPE_I32));
    } else if (t->type != GGML_TYPE_F32) {
        f = ggml_cast(ctx, t, GGML_TYPE_F32);
    }
    ggml_tensor * out = ggml_cont(ctx, ggml_transpose(ctx, f));
    return type == GGML_TYPE_F32 ? out : ggml_cast(ctx, out, type);
}
