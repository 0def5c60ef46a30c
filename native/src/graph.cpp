#include "graph.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>
#include "ggml-alloc.h"

namespace {

// W·x, plus scale·B(A·x) when the adapter adapts W: the same order of ops as llama.cpp's build_lora_mm.
// With dropout, the LoRA branch sees the masked input (PEFT's lora_dropout); W·x never does.
ggml_tensor * lora_mm(ggml_context * ctx, const Adapter * adapter, ggml_tensor * w, ggml_tensor * x, const Dropout * dropout, size_t slot) {
    ggml_tensor * out = ggml_mul_mat(ctx, w, x);
    const LoraWeight * lw = adapter ? adapter->find(w) : nullptr;
    if (!lw) return out;
    ggml_tensor * xin = x;
    if (dropout && dropout->pool) {
        const int64_t offset = dropout->offsets.at(slot);
        ggml_tensor * mask = ggml_view_2d(ctx, dropout->pool, x->ne[0], x->ne[1], x->ne[0] * sizeof(float), offset * sizeof(float));
        xin = ggml_mul(ctx, x, mask);
    }
    ggml_tensor * ab = ggml_mul_mat(ctx, lw->b, ggml_mul_mat(ctx, lw->a, xin));
    return ggml_add(ctx, out, ggml_scale(ctx, ab, adapter->scale()));
}

ggml_tensor * norm(ggml_context * ctx, ggml_tensor * x, ggml_tensor * weight, float eps) {
    return ggml_mul(ctx, ggml_rms_norm(ctx, x, eps), weight);
}

// [head_dim, n_head_kv, N] → [head_dim, n_head, N], each KV head repeated for its group of query heads.
// An explicit copy instead of mul_mat broadcasting, whose backward pass does not support batches.
ggml_tensor * expand_kv(ggml_context * ctx, ggml_tensor * t, int64_t n_head, int64_t n_head_kv) {
    if (n_head == n_head_kv) return t;
    const int64_t head_dim = t->ne[0], n = t->ne[2];
    ggml_tensor * r = ggml_reshape_4d(ctx, t, head_dim, 1, n_head_kv, n);
    r = ggml_repeat_4d(ctx, r, head_dim, n_head / n_head_kv, n_head_kv, n);
    return ggml_reshape_3d(ctx, r, head_dim, n_head, n);
}

// softmax(K·Q·scale + mask)·V for q [head_dim, n_head, n] and k, v expanded to n_head heads, merged back to
// [head_dim, n_head, n_tokens, n_seq]. Per sequence and head the products are [head_dim, n_tokens, n_head, n_seq].
ggml_tensor * attention(ggml_context * ctx, const Hparams & hp, ggml_tensor * q, ggml_tensor * k, ggml_tensor * v,
                        const GraphInputs & in, int64_t n_tokens, int64_t n_seq) {
    const float kq_scale = 1.0f / std::sqrt((float) hp.head_dim);
    ggml_tensor * qp = ggml_permute(ctx, ggml_reshape_4d(ctx, q, hp.head_dim, hp.n_head, n_tokens, n_seq), 0, 2, 1, 3);
    ggml_tensor * kp = ggml_permute(ctx, ggml_reshape_4d(ctx, k, hp.head_dim, hp.n_head, n_tokens, n_seq), 0, 2, 1, 3);
    ggml_tensor * vp = ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, v, hp.head_dim, hp.n_head, n_tokens, n_seq), 1, 2, 0, 3));
    if (in.attention_blocks <= 1) {
        ggml_tensor * kq = ggml_mul_mat(ctx, kp, qp);  // [n_tokens(k), n_tokens(q), n_head, n_seq]
        ggml_mul_mat_set_prec(kq, GGML_PREC_F32);
        kq = ggml_soft_max_ext(ctx, kq, in.mask, kq_scale, 0.0f);
        ggml_tensor * kqv = ggml_mul_mat(ctx, vp, kq);  // [head_dim, n_tokens, n_head, n_seq]
        return ggml_cont(ctx, ggml_permute(ctx, kqv, 0, 2, 1, 3));
    }
    // Blocks of queries; each sees the keys up to its last query. Views of contiguous copies (the backward pass
    // of a view needs a contiguous source); the blocks are added into zeros (ggml has no backward for concat).
    ggml_tensor * qc = ggml_cont(ctx, qp), * kc = ggml_cont(ctx, kp);
    ggml_tensor * merged = ggml_reshape_4d(ctx, in.zeros, hp.head_dim, hp.n_head, n_tokens, n_seq);
    const int64_t block = (n_tokens + in.attention_blocks - 1) / in.attention_blocks;
    for (int64_t first = 0; first < n_tokens; first += block) {
        const int64_t nq = std::min(block, n_tokens - first), nk = first + nq;
        // Contiguous: the CPU's blocked matmul kernels take a contiguous right-hand side only.
        ggml_tensor * qb = ggml_cont(ctx, ggml_view_4d(ctx, qc, hp.head_dim, nq, hp.n_head, n_seq, qc->nb[1], qc->nb[2], qc->nb[3], first * qc->nb[1]));
        ggml_tensor * kb = ggml_view_4d(ctx, kc, hp.head_dim, nk, hp.n_head, n_seq, kc->nb[1], kc->nb[2], kc->nb[3], 0);
        ggml_tensor * vb = ggml_view_4d(ctx, vp, nk, hp.head_dim, hp.n_head, n_seq, vp->nb[1], vp->nb[2], vp->nb[3], 0);
        ggml_tensor * mb = ggml_cont(ctx, ggml_view_2d(ctx, in.mask, nk, nq, in.mask->nb[1], first * in.mask->nb[1]));
        ggml_tensor * kq = ggml_mul_mat(ctx, kb, qb);  // [nk, nq, n_head, n_seq]
        ggml_mul_mat_set_prec(kq, GGML_PREC_F32);
        kq = ggml_soft_max_ext(ctx, kq, mb, kq_scale, 0.0f);
        ggml_tensor * kqv = ggml_cont(ctx, ggml_permute(ctx, ggml_mul_mat(ctx, vb, kq), 0, 2, 1, 3));  // [head_dim, n_head, nq, n_seq]
        merged = ggml_acc(ctx, merged, kqv, merged->nb[1], merged->nb[2], merged->nb[3], first * merged->nb[2]);
    }
    return merged;
}

// Index of a module in lora_modules(), for the dropout slot of (layer, module).
size_t slot_of(int il, size_t module) { return (size_t) il * lora_modules().size() + module; }

}  // namespace

void become(ggml_tensor * node, const ggml_tensor * model) {
    node->op = model->op;
    std::memcpy(node->op_params, model->op_params, sizeof(node->op_params));
    for (int i = 0; i < GGML_MAX_SRC; i++) node->src[i] = model->src[i];
}

void fill_positions(std::vector<int32_t> & pos, int64_t n_tokens, int64_t n_seq) {
    pos.resize(n_tokens * n_seq);
    for (int64_t s = 0; s < n_seq; s++)
        for (int64_t t = 0; t < n_tokens; t++) pos[s * n_tokens + t] = (int32_t) t;
}

void fill_causal_mask(std::vector<float> & mask, int64_t n_tokens) {
    mask.assign(n_tokens * n_tokens, 0.0f);
    for (int64_t q = 0; q < n_tokens; q++)
        for (int64_t k = q + 1; k < n_tokens; k++) mask[q * n_tokens + k] = -INFINITY;
}

void build_inputs(ggml_context * ctx, int64_t n_tokens, int64_t n_seq, int64_t n_embd, GraphInputs & in) {
    const int64_t n = n_tokens * n_seq;
    in.tokens = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    in.pos = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    in.mask = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, n_tokens, n_tokens);
    for (ggml_tensor * t : {in.tokens, in.pos, in.mask}) ggml_set_input(t);
    ggml_set_name(in.tokens, "tokens");
    ggml_set_name(in.pos, "positions");
    ggml_set_name(in.mask, "kq_mask");
    if (in.attention_blocks > 1) {
        in.zeros = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, n_embd * n);
        ggml_set_input(in.zeros);
        ggml_set_name(in.zeros, "zeros");
    }
}

int attention_blocks_for(int64_t n_tokens) {
    // Measured on the bench model (512 tokens): 2 blocks save 25% of attention's time, 4 save 32%, 8 save less.
    return n_tokens >= 128 ? 4 : n_tokens >= 32 ? 2 : 1;
}

ggml_tensor * build_embeddings(ggml_context * ctx, const Model & m, const GraphInputs & in) {
    return ggml_get_rows(ctx, m.tok_embd, in.tokens);
}

ggml_tensor * build_layer(ggml_context * ctx, const Model & m, const Adapter * adapter, int il, ggml_tensor * x,
                          const GraphInputs & in, int64_t n_tokens, int64_t n_seq, const Dropout * dropout) {
    const Hparams & hp = m.hp;
    const Layer & l = m.layers[il];
    const int64_t n = n_tokens * n_seq;
    auto mm = [&](ggml_tensor * w, ggml_tensor * input, size_t module) {
        return lora_mm(ctx, adapter, w, input, dropout, slot_of(il, module));
    };
    // Module order as in lora_modules(): attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down.
    ggml_tensor * cur = norm(ctx, x, l.attn_norm, hp.rms_eps);
    ggml_tensor * q = ggml_reshape_3d(ctx, mm(l.wq, cur, 0), hp.head_dim, hp.n_head, n);
    ggml_tensor * k = ggml_reshape_3d(ctx, mm(l.wk, cur, 1), hp.head_dim, hp.n_head_kv, n);
    ggml_tensor * v = ggml_reshape_3d(ctx, mm(l.wv, cur, 2), hp.head_dim, hp.n_head_kv, n);
    // llama uses RoPE mode 0 (LLAMA_ROPE_TYPE_NORM); no YaRN: ext_factor 0, attn_factor 1.
    q = ggml_rope_ext(ctx, q, in.pos, m.rope_freqs, (int) hp.n_rot, 0, (int) hp.n_ctx_train, hp.rope_freq_base,
                      hp.rope_freq_scale, 0.0f, 1.0f, 32.0f, 1.0f);
    k = ggml_rope_ext(ctx, k, in.pos, m.rope_freqs, (int) hp.n_rot, 0, (int) hp.n_ctx_train, hp.rope_freq_base,
                      hp.rope_freq_scale, 0.0f, 1.0f, 32.0f, 1.0f);
    k = expand_kv(ctx, k, hp.n_head, hp.n_head_kv);
    v = expand_kv(ctx, v, hp.n_head, hp.n_head_kv);

    ggml_tensor * merged = attention(ctx, hp, q, k, v, in, n_tokens, n_seq);  // [head_dim, n_head, n_tokens, n_seq]
    cur = mm(l.wo, ggml_reshape_2d(ctx, merged, hp.n_embd, n), 3);
    ggml_tensor * ffn_in = ggml_add(ctx, cur, x);

    cur = norm(ctx, ffn_in, l.ffn_norm, hp.rms_eps);
    ggml_tensor * gate = mm(l.w_gate, cur, 4);
    ggml_tensor * up = mm(l.w_up, cur, 5);
    cur = mm(l.w_down, ggml_swiglu_split(ctx, gate, up), 6);
    return ggml_add(ctx, cur, ffn_in);
}

ggml_tensor * build_head(ggml_context * ctx, const Model & m, ggml_tensor * x) {
    return ggml_mul_mat(ctx, m.output, norm(ctx, x, m.output_norm, m.hp.rms_eps));
}

ggml_tensor * build_forward(ggml_context * ctx, const Model & m, const Adapter * adapter, int64_t n_tokens, int64_t n_seq, GraphInputs & in) {
    build_inputs(ctx, n_tokens, n_seq, m.hp.n_embd, in);
    ggml_tensor * x = build_embeddings(ctx, m, in);
    for (int il = 0; il < (int) m.layers.size(); il++) x = build_layer(ctx, m, adapter, il, x, in, n_tokens, n_seq, nullptr);
    ggml_tensor * logits = build_head(ctx, m, x);
    ggml_set_name(logits, "logits");
    ggml_set_output(logits);
    return logits;
}

std::vector<float> forward_logprobs(Model & m, const Adapter * adapter, const std::vector<int32_t> & tokens) {
    const int64_t n = (int64_t) tokens.size();
    if (n < 2) throw std::runtime_error("need at least 2 tokens to score (got " + std::to_string(n) + ")");
    if (n > m.hp.n_ctx_train) {
        throw std::runtime_error("the text is " + std::to_string(n) + " tokens long, longer than the model's context of " +
                                 std::to_string(m.hp.n_ctx_train) + " tokens");
    }
    for (int64_t i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= m.hp.n_vocab) {
            throw std::runtime_error("token " + std::to_string(tokens[i]) + " at position " + std::to_string(i) +
                                     " is outside the vocabulary (0.." + std::to_string(m.hp.n_vocab - 1) + ")");
        }
    }
    if (adapter && adapter->model.get() != &m) throw std::runtime_error("the adapter belongs to another model");

    std::lock_guard<std::mutex> lock(m.compute_mutex);
    struct CtxCloser { void operator()(ggml_context * c) const { ggml_free(c); } };
    struct SchedCloser { void operator()(ggml_backend_sched * s) const { ggml_backend_sched_free(s); } };
    std::unique_ptr<ggml_context, CtxCloser> ctx(ggml_init(
        {ggml_tensor_overhead() * GRAPH_MAX_NODES + ggml_graph_overhead_custom(GRAPH_MAX_NODES, false), nullptr, true}));
    GraphInputs in;
    ggml_tensor * logits = build_forward(ctx.get(), m, adapter, n, 1, in);
    ggml_cgraph * gf = ggml_new_graph_custom(ctx.get(), GRAPH_MAX_NODES, false);
    ggml_build_forward_expand(gf, logits);

    std::vector<ggml_backend_t> backends = m.backends.list();
    std::unique_ptr<ggml_backend_sched, SchedCloser> sched(
        ggml_backend_sched_new(backends.data(), nullptr, (int) backends.size(), GRAPH_MAX_NODES, false, true));
    if (!ggml_backend_sched_alloc_graph(sched.get(), gf)) {
        throw std::runtime_error("not enough memory on " + m.backends.device_name + " for a " + std::to_string(n) + "-token forward pass");
    }
    std::vector<int32_t> pos;
    std::vector<float> mask;
    fill_positions(pos, n, 1);
    fill_causal_mask(mask, n);
    ggml_backend_tensor_set(in.tokens, tokens.data(), 0, n * sizeof(int32_t));
    ggml_backend_tensor_set(in.pos, pos.data(), 0, n * sizeof(int32_t));
    ggml_backend_tensor_set(in.mask, mask.data(), 0, mask.size() * sizeof(float));
    if (ggml_backend_sched_graph_compute(sched.get(), gf) != GGML_STATUS_SUCCESS) {
        throw std::runtime_error("the forward pass failed on " + m.backends.device_name);
    }
    const int64_t n_vocab = m.hp.n_vocab;
    std::vector<float> host(n_vocab * n);
    ggml_backend_tensor_get(logits, host.data(), 0, host.size() * sizeof(float));

    // log-softmax of each row at its next token, rows split across the CPU threads.
    std::vector<float> out(n - 1);
    auto score_rows = [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; i++) {
            const float * row = host.data() + i * n_vocab;
            float max = row[0];
            for (int64_t j = 1; j < n_vocab; j++) max = std::max(max, row[j]);
            double sum = 0;
            for (int64_t j = 0; j < n_vocab; j++) sum += std::exp(row[j] - max);
            out[i] = (float) ((double) row[tokens[i + 1]] - max - std::log(sum));
        }
    };
    const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(m.backends.threads, (n - 1) / 16));
    std::vector<std::thread> pool;
    for (int64_t w = 1; w < workers; w++) pool.emplace_back(score_rows, (n - 1) * w / workers, (n - 1) * (w + 1) / workers);
    score_rows(0, (n - 1) / workers);
    for (std::thread & t : pool) t.join();
    return out;
}
