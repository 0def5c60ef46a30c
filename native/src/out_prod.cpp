#include "out_prod.h"
#include <algorithm>
#include <cstring>
#include "graph.h"

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"  // wide vectors cross no call: the kernels are always inlined
#endif

namespace {

// C[i, j] = Σ_k A[i, k] · B[j, k] for one tile of MV vectors of rows i by NR columns j, accumulated in registers:
// per k, MV loads of A's column (contiguous) and NR broadcasts of B. ggml's CPU OUT_PROD instead adds one A
// column times a scalar into a whole C column at a time, loading and storing C for every few k: bound by memory
// operations rather than multiply-adds.
template <int VB>
struct Vec { typedef float type __attribute__((vector_size(VB))); };  // (GCC drops the attribute on alias templates)
template <int VB>
using vec = typename Vec<VB>::type;

struct Operands {
    const char * a;  // A[i, k] at a + 4 i + k lda
    size_t lda;
    const char * b;  // B[j, k] at b + j bj + k bk
    size_t bj, bk;
    char * c;        // C[i, j] at c + i ci + j cj: ci 4 (vector stores) or not (element stores)
    size_t ci, cj;
    int64_t k;
};

template <int VB>
__attribute__((always_inline)) inline vec<VB> load(const char * p) {
    vec<VB> v;
    std::memcpy(&v, p, sizeof(v));
    return v;
}

// The accumulators are only ever indexed by constants and copied out by value: taking an element's address makes
// compilers keep the whole array in memory, storing every accumulator on each k.
template <int VB, int MV, int NR>
__attribute__((always_inline)) inline void tile(const Operands & o, int64_t i, int64_t j) {
    constexpr int L = VB / 4;
    vec<VB> acc[MV][NR] = {};
    const char * a = o.a + i * 4;
    const char * b = o.b + j * o.bj;
    for (int64_t k = 0; k < o.k; k++, a += o.lda, b += o.bk) {
        vec<VB> av[MV];
        for (int m = 0; m < MV; m++) av[m] = load<VB>(a + m * VB);
        for (int n = 0; n < NR; n++) {
            const float s = *(const float *) (b + n * o.bj);
            for (int m = 0; m < MV; m++) acc[m][n] += av[m] * s;
        }
    }
    for (int n = 0; n < NR; n++) {
        for (int m = 0; m < MV; m++) {
            const vec<VB> v = acc[m][n];
            char * c = o.c + (j + n) * o.cj + (i + m * L) * o.ci;
            if (o.ci == sizeof(float)) {
                std::memcpy(c, &v, sizeof(v));
            } else {
                for (int l = 0; l < L; l++) *(float *) (c + l * o.ci) = v[l];
            }
        }
    }
}

// The last n < NR columns as one narrower tile.
template <int VB, int MV, int NR>
__attribute__((always_inline)) inline void last_columns(const Operands & o, int64_t i, int64_t j, int64_t n) {
    if constexpr (NR > 0) {
        if (n == NR) return tile<VB, MV, NR>(o, i, j);
        last_columns<VB, MV, NR - 1>(o, i, j, n);
    }
}

// Columns j0..j1 of rows i (MV vectors), NR at a time.
template <int VB, int MV, int NR>
__attribute__((always_inline)) inline void column_run(const Operands & o, int64_t i, int64_t j0, int64_t j1) {
    int64_t j = j0;
    for (; j + NR <= j1; j += NR) tile<VB, MV, NR>(o, i, j);
    last_columns<VB, MV, NR - 1>(o, i, j, j1 - j);
}

// Rows i0..i1 by columns j0..j1: whole tiles of MV vectors, then single vectors, then single rows.
template <int VB, int MV, int NR>
__attribute__((always_inline)) inline void block(const Operands & o, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    constexpr int L = VB / 4;
    int64_t i = i0;
    for (; i + MV * L <= i1; i += MV * L) column_run<VB, MV, NR>(o, i, j0, j1);
    for (; i + L <= i1; i += L) column_run<VB, 1, NR>(o, i, j0, j1);
    for (; i < i1; i++) {
        for (int64_t j = j0; j < j1; j++) {
            float sum = 0.0f;
            for (int64_t k = 0; k < o.k; k++) sum += *(const float *) (o.a + i * 4 + k * o.lda) * *(const float *) (o.b + j * o.bj + k * o.bk);
            *(float *) (o.c + j * o.cj + i * o.ci) = sum;
        }
    }
}

// Tiles sized to the registers: 32 of AVX-512 (24 accumulators), 16 of AVX2 or SSE/NEON (12).
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
__attribute__((target("arch=x86-64-v4"))) void block_v4(const Operands & o, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    block<64, 4, 6>(o, i0, i1, j0, j1);
}
__attribute__((target("arch=x86-64-v3"))) void block_v3(const Operands & o, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    block<32, 2, 6>(o, i0, i1, j0, j1);
}
#endif
void block_base(const Operands & o, int64_t i0, int64_t i1, int64_t j0, int64_t j1) { block<16, 2, 6>(o, i0, i1, j0, j1); }

using BlockFn = void (*)(const Operands &, int64_t, int64_t, int64_t, int64_t);

BlockFn pick_block() {
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return block_v4;
    if (__builtin_cpu_supports("x86-64-v3")) return block_v3;
#endif
    return block_base;
}

const BlockFn run_block = pick_block();

constexpr int64_t ROWS = 64, COLS = 48;  // work unit: an A panel of 64 rows stays in cache across 48 columns

// Vectors along dst's rows (i) when a is contiguous along them and they are many; otherwise along its columns (j),
// b's contiguous dim (LoRA's rank-8 gradients: 8 rows, 512 columns).
bool along_columns(const ggml_tensor * dst) {
    return !(dst->src[0]->nb[0] == sizeof(float) && dst->src[0]->ne[0] >= 16);
}

void out_prod_f32(ggml_tensor * dst, int ith, int nth, void *) {
    const bool swap = along_columns(dst);
    const ggml_tensor * a = dst->src[swap ? 1 : 0], * b = dst->src[swap ? 0 : 1];
    const size_t ci = dst->nb[swap ? 1 : 0], cj = dst->nb[swap ? 0 : 1];
    const int64_t m = dst->ne[swap ? 1 : 0], n = dst->ne[swap ? 0 : 1], batches = dst->ne[2] * dst->ne[3];
    const int64_t row_units = (m + ROWS - 1) / ROWS, col_units = (n + COLS - 1) / COLS;
    const ggml_tensor * shared = dst->src[0];  // broadcast over dst's batches
    const int64_t r2 = dst->ne[2] / shared->ne[2], r3 = dst->ne[3] / shared->ne[3];
    for (int64_t u = ith; u < batches * row_units * col_units; u += nth) {
        const int64_t batch = u / (row_units * col_units), rest = u % (row_units * col_units);
        const int64_t i0 = (rest / col_units) * ROWS, j0 = (rest % col_units) * COLS;
        const int64_t i2 = batch % dst->ne[2], i3 = batch / dst->ne[2];
        auto at = [&](const ggml_tensor * t) {
            return (const char *) t->data + (t == shared ? (i2 / r2) * t->nb[2] + (i3 / r3) * t->nb[3] : i2 * t->nb[2] + i3 * t->nb[3]);
        };
        Operands o{at(a), a->nb[1], at(b), b->nb[0], b->nb[1], (char *) dst->data + i2 * dst->nb[2] + i3 * dst->nb[3], ci, cj, a->ne[1]};
        run_block(o, i0, std::min(m, i0 + ROWS), j0, std::min(n, j0 + COLS));
    }
}

}  // namespace

bool out_prod_tileable(const ggml_tensor * node) {
    const ggml_tensor * a = node->src[0], * b = node->src[1];
    return node->op == GGML_OP_OUT_PROD && a->type == GGML_TYPE_F32 && b->type == GGML_TYPE_F32 && node->type == GGML_TYPE_F32 &&
           ggml_is_contiguous(node) && (along_columns(node) ? b->nb[0] == sizeof(float) : true);
}

bool out_prod_tiled(ggml_context * ctx, ggml_tensor * node) {
    if (!out_prod_tileable(node)) return false;
    ggml_tensor * args[] = {node->src[0], node->src[1]};
    become(node, ggml_custom_4d(ctx, GGML_TYPE_F32, node->ne[0], node->ne[1], node->ne[2], node->ne[3], args, 2, out_prod_f32,
                                GGML_N_TASKS_MAX, nullptr));
    return true;
}
