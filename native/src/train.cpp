#include "train.h"
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include "ggml-alloc.h"
#include "gguf_file.h"
#include "gguf_io.h"
#include "cross_entropy.h"
#include "transpose.h"
#include "out_prod.h"

namespace {

struct CtxCloser { void operator()(ggml_context * c) const { ggml_free(c); } };
using CtxPtr = std::unique_ptr<ggml_context, CtxCloser>;

// Room for a training graph and its rewrite (for_backend).
CtxPtr graph_context() {
    return CtxPtr(ggml_init({ggml_tensor_overhead() * GRAPH_MAX_NODES + ggml_graph_overhead_custom(GRAPH_MAX_NODES, true) +
                                 ggml_graph_overhead_custom(GRAPH_MAX_NODES, false), nullptr, true}));
}

// Sets a graph input only if the scheduler allocated it (a tensor the graph does not use has no buffer).
void set_input(ggml_tensor * t, const void * data, size_t bytes) {
    if (t && t->buffer) ggml_backend_tensor_set(t, data, 0, bytes);
}

void set_zeros(ggml_tensor * t) {
    if (t && t->buffer) ggml_backend_tensor_memset(t, 0, 0, ggml_nbytes(t));
}

/** The loss inputs and the summed log-probability of the targets (negative; mean loss = −sum / rows). */
struct LossNodes {
    ggml_tensor * rows = nullptr;     // I32 [M]: columns of x that predict a target
    ggml_tensor * targets = nullptr;  // I32 [M]
    ggml_tensor * one_index = nullptr;  // I64 [M]: i·n_vocab + target i, where the one-hot labels' ones go (GPUs)
    ggml_tensor * mean = nullptr;     // mean cross-entropy over the M rows
    ggml_tensor * sum = nullptr;      // Σ log p(target), for reporting
};

// Only the M target rows go through the output projection: prompt and padding cost nothing and add nothing.
// ggml's fused cross-entropy (the op ggml-opt trains with) rather than softmax → log, whose CPU backward
// gave wrong gradients here (checked against finite differences). It takes one-hot labels [n_vocab, M]: on the
// CPU its nodes are swapped for ops on the target ids (for_backend), so the labels are a bare placeholder; on
// GPUs the graph makes them in place (zeros, then M ones): built on the host, their upload cost a third of a 1B
// model's forward pass on an H200.
LossNodes build_loss(ggml_context * ctx, const Model & m, ggml_tensor * x, int64_t n_rows, bool on_cpu) {
    LossNodes out;
    out.rows = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n_rows);
    out.targets = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n_rows);
    for (ggml_tensor * t : {out.rows, out.targets}) ggml_set_input(t);
    ggml_tensor * labels = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, m.hp.n_vocab, n_rows);
    if (!on_cpu) {
        out.one_index = ggml_new_tensor_1d(ctx, GGML_TYPE_I64, n_rows);
        ggml_set_input(out.one_index);
        // [1, n0·n1] of `value`, made by ops from nothing (the scheduler places ops; bare leaves it cannot, and
        // inputs go to the CPU). ARANGE counts in floats: n0 (a vocabulary or row count) stays exact.
        auto filled = [&](int64_t n0, int64_t n1, float value) {
            ggml_tensor * row = ggml_reshape_2d(ctx, ggml_arange(ctx, 0.0f, (float) n0, 1.0f), n0, 1);
            return ggml_reshape_2d(ctx, ggml_fill_inplace(ctx, ggml_repeat_4d(ctx, row, n0, n1, 1, 1), value), 1, n0 * n1);
        };
        ggml_tensor * ones = ggml_set_rows(ctx, filled(m.hp.n_vocab, n_rows, 0.0f), filled(n_rows, 1, 1.0f), out.one_index);
        labels = ggml_reshape_2d(ctx, ones, m.hp.n_vocab, n_rows);
    }
    ggml_tensor * logits = build_head(ctx, m, ggml_get_rows(ctx, x, out.rows));  // [n_vocab, M]
    out.mean = ggml_cross_entropy_loss(ctx, logits, labels);
    out.sum = ggml_scale(ctx, out.mean, -(float) n_rows);
    ggml_set_output(out.sum);
    return out;
}

// t transposed (dims 0 and 1) as a contiguous tensor for MUL_MAT: a transpose view's source as is, anything else
// copied. Activations stay F32. On the CPU a frozen weight takes the fastest type that keeps the gradient close
// (tested): Q8_0 for quantized weights (the CPU's int8 kernels; the gradient it multiplies is rounded to Q8_0
// blocks too, as llama.cpp does with activations), BF16 for F16 ones (F32's range, so small gradients do not
// flush to zero as in F16). F32 weights, exact mode and GPUs take F32: on an H200, F32 copies made a 1B model's
// backward faster than BF16 (F16 base) or Q8_0 (Q4_0 base) ones did.
ggml_tensor * transposed(ggml_context * ctx, ggml_tensor * t, BackendMode mode) {
    if (t->op == GGML_OP_TRANSPOSE && ggml_is_contiguous(t->src[0])) return t->src[0];
    ggml_type type = GGML_TYPE_F32;
    if (mode.on_cpu && !mode.exact && ggml_is_quantized(t->type)) type = GGML_TYPE_Q8_0;
    if (mode.on_cpu && !mode.exact && (t->type == GGML_TYPE_F16 || t->type == GGML_TYPE_BF16)) type = GGML_TYPE_BF16;
    return transposed_copy(ctx, t, type, mode.on_cpu);
}

// An F32 MUL_MAT whose sums are shorter than the CPU's blocked kernels take (LoRA's B·(A·x) below rank 16): ggml
// then makes one dot product call per output; the same numbers as a tiled OUT_PROD run at full speed.
bool short_dots(const ggml_tensor * node) {
    const ggml_tensor * a = node->src[0], * b = node->src[1];
    return a->type == GGML_TYPE_F32 && b->type == GGML_TYPE_F32 && a->ne[0] < 16 && a->ne[1] >= 16 && ggml_is_matrix(a) && ggml_is_matrix(b);
}

// Rewrites a built graph (after autodiff) for the backend, returning the new graph:
// - ggml's autodiff writes both gradients of a MUL_MAT as OUT_PROD, an axpy-style kernel (vectors as short as the
//   LoRA rank, and F32-only on CUDA). An OUT_PROD(a, b) becomes the equal MUL_MAT(aᵀ, bᵀ) on contiguous
//   transposed copies, which runs on the blocked matmul kernels; each copy is made right before its one use, so
//   the allocator reuses its memory (one weight's copy alive at a time). On the CPU, F32 OUT_PRODs (activations'
//   and LoRA's gradients) instead run as register-tiled ops (out_prod.h), which need no copies: 14% off a Q8_0
//   bench step; and MUL_MATs with sums shorter than the blocked kernels take (LoRA's B·(A·x)) become such ops too.
// - On the CPU, the cross-entropy nodes read the target ids instead of one-hot labels (cross_entropy.h).
ggml_cgraph * for_backend(ggml_context * ctx, ggml_cgraph * graph, BackendMode mode, ggml_tensor * targets,
                          const std::map<const ggml_tensor *, ggml_tensor *> & copies) {
    ggml_cgraph * out = ggml_new_graph_custom(ctx, GRAPH_MAX_NODES, false);
    for (int i = 0; i < ggml_graph_n_nodes(graph); i++) {
        ggml_tensor * node = ggml_graph_node(graph, i);
        if (node->op == GGML_OP_OUT_PROD && !(mode.on_cpu && out_prod_tiled(ctx, node))) {
            const auto cached = copies.find(node->src[0]);
            ggml_tensor * a = cached != copies.end() ? cached->second : transposed(ctx, node->src[0], mode);
            ggml_tensor * b = transposed(ctx, node->src[1], mode);
            node->op = GGML_OP_MUL_MAT;
            node->src[0] = a;
            node->src[1] = b;
            std::memset(node->op_params, 0, sizeof(node->op_params));
        } else if (node->op == GGML_OP_MUL_MAT && mode.on_cpu && short_dots(node)) {
            ggml_tensor * a = transposed(ctx, node->src[0], mode), * b = ggml_transpose(ctx, node->src[1]);
            node->op = GGML_OP_OUT_PROD;
            node->src[0] = a;
            node->src[1] = b;
            std::memset(node->op_params, 0, sizeof(node->op_params));
            out_prod_tiled(ctx, node);
        }
        if (mode.on_cpu && targets) cross_entropy_on_targets(ctx, node, targets);
        ggml_build_forward_expand(out, node);  // adds new nodes right before their use
    }
    return out;
}

void set_loss_inputs(const LossNodes & loss, const TrainBatch & b, int64_t n_vocab) {
    set_input(loss.rows, b.rows.data(), b.rows.size() * sizeof(int32_t));
    set_input(loss.targets, b.targets.data(), b.targets.size() * sizeof(int32_t));
    if (loss.one_index && loss.one_index->buffer) {
        std::vector<int64_t> index(b.targets.size());
        for (size_t i = 0; i < index.size(); i++) index[i] = (int64_t) i * n_vocab + b.targets[i];
        set_input(loss.one_index, index.data(), index.size() * sizeof(int64_t));
    }
}

bool does_no_work(ggml_op op) {
    return op == GGML_OP_NONE || op == GGML_OP_VIEW || op == GGML_OP_RESHAPE || op == GGML_OP_PERMUTE || op == GGML_OP_TRANSPOSE;
}

}  // namespace

TrainingSession::TrainingSession(std::shared_ptr<Model> m, std::shared_ptr<Adapter> a, const TrainOptions & o)
    : model(std::move(m)), adapter(std::move(a)), options(o) {
    if (adapter->model != model) throw std::runtime_error("the adapter belongs to another model");
    if (!(options.dropout >= 0.0f && options.dropout < 1.0f)) throw std::runtime_error("dropout must be at least 0 and below 1");
    auto tensors = adapter->tensors();
    ctx_ = ggml_init({ggml_tensor_overhead() * (3 * tensors.size() + 1), nullptr, true});
    for (const auto & [name, value] : tensors) {
        Param p{name, value, ggml_dup_tensor(ctx_, value), ggml_dup_tensor(ctx_, value), ggml_dup_tensor(ctx_, value)};
        ggml_format_name(p.grad, "%s.grad", name.c_str());
        ggml_set_param(value);
        params_.push_back(p);
    }
    // The loss's incoming gradient (1), kept outside the graph allocator, which may reuse a graph leaf's memory.
    loss_one_ = ggml_new_tensor_1d(ctx_, GGML_TYPE_F32, 1);
    grad_buffer_ = ggml_backend_alloc_ctx_tensors_from_buft(ctx_, ggml_backend_dev_buffer_type(model->backends.main_dev));
    if (!grad_buffer_) throw std::runtime_error("not enough memory on " + model->backends.device_name + " for the optimizer state");
    ggml_backend_buffer_clear(grad_buffer_, 0);
    const float one = 1.0f;
    ggml_backend_tensor_set(loss_one_, &one, 0, sizeof(float));
    std::vector<ggml_backend_t> backends = model->backends.list();
    sched_ = ggml_backend_sched_new(backends.data(), nullptr, (int) backends.size(), GRAPH_MAX_NODES, false, true);
}

TrainingSession::~TrainingSession() {
    if (copies_buffer_) ggml_backend_buffer_free(copies_buffer_);
    if (copies_ctx_) ggml_free(copies_ctx_);
    if (sched_) ggml_backend_sched_free(sched_);
    if (grad_buffer_) ggml_backend_buffer_free(grad_buffer_);
    if (ctx_) ggml_free(ctx_);
}

size_t TrainingSession::state_bytes() const {
    size_t bytes = grad_buffer_ ? ggml_backend_buffer_get_size(grad_buffer_) : 0;
    if (copies_buffer_) bytes += ggml_backend_buffer_get_size(copies_buffer_);
    for (const Param & p : params_) bytes += ggml_nbytes(p.value);
    return bytes;
}

// Blocks pay on the CPU; on an H200 four blocks made a 1B model's forward pass 1.5× slower than one (more,
// smaller kernels), so GPUs take one.
int TrainingSession::attention_blocks(int64_t n_tokens) const {
    if (options.attention_blocks > 0) return options.attention_blocks;
    return model->backends.on_cpu() ? attention_blocks_for(n_tokens) : 1;
}

BackendMode TrainingSession::backend_mode() const {
    return {options.exact_backward, model->backends.on_cpu() && !options.gpu_path};
}

// The transposed copies the backward pass of `graph` makes of frozen weights, made once and kept: the weights
// never change, so each step would otherwise make the same bytes again (7% of a Q8_0 bench step on the CPU), at
// the cost of a second copy of the weights in memory. Built on the first training graph (one holds every layer);
// where memory runs short the steps make their copies as before.
void TrainingSession::cache_weight_copies(ggml_cgraph * graph) {
    if (copies_tried_) return;
    copies_tried_ = true;
    const BackendMode mode = backend_mode();
    std::vector<ggml_tensor *> weights;
    for (int i = 0; i < ggml_graph_n_nodes(graph); i++) {
        ggml_tensor * node = ggml_graph_node(graph, i);
        ggml_tensor * w = node->src[0];
        if (node->op != GGML_OP_OUT_PROD || out_prod_tileable(node) || !model->owns(w)) continue;
        if (std::find(weights.begin(), weights.end(), w) == weights.end()) weights.push_back(w);
    }
    if (weights.empty()) return;
    CtxPtr copies(ggml_init({ggml_tensor_overhead() * weights.size(), nullptr, true}));
    CtxPtr shapes(ggml_init({ggml_tensor_overhead() * weights.size() * 4, nullptr, true}));
    std::map<const ggml_tensor *, ggml_tensor *> made;
    for (ggml_tensor * w : weights) {
        ggml_tensor * t = transposed(shapes.get(), w, mode);
        made[w] = ggml_new_tensor(copies.get(), t->type, GGML_MAX_DIMS, t->ne);
    }
    ggml_backend_buffer_type_t cpu = ggml_backend_get_default_buffer_type(model->backends.cpu);
    ggml_backend_buffer_t buffer = ggml_backend_alloc_ctx_tensors_from_buft(copies.get(), cpu);
    if (!buffer) return;
    ggml_gallocr_t galloc = ggml_gallocr_new(cpu);
    bool ok = true;
    for (ggml_tensor * w : weights) {
        CtxPtr ctx(ggml_init({ggml_tensor_overhead() * 8 + ggml_graph_overhead_custom(8, false), nullptr, true}));
        ggml_cgraph * g = ggml_new_graph_custom(ctx.get(), 8, false);
        ggml_build_forward_expand(g, ggml_cpy(ctx.get(), transposed(ctx.get(), w, mode), made[w]));
        ok = ggml_gallocr_alloc_graph(galloc, g) && ggml_backend_graph_compute(model->backends.cpu, g) == GGML_STATUS_SUCCESS;
        if (!ok) break;
    }
    ggml_gallocr_free(galloc);
    if (!ok) {
        ggml_backend_buffer_free(buffer);
        return;
    }
    copies_ctx_ = copies.release();
    copies_buffer_ = buffer;
    weight_copies_ = std::move(made);
}

void TrainingSession::validate(const TrainBatch & b) const {
    const int64_t n = b.n_seq * b.n_tokens;
    if (b.n_seq <= 0 || b.n_tokens <= 0 || (int64_t) b.tokens.size() != n) throw std::runtime_error("batch: tokens must be n_seq × n_tokens");
    if (b.n_tokens > model->hp.n_ctx_train) {
        throw std::runtime_error("batch: sequences of " + std::to_string(b.n_tokens) + " tokens exceed the model's context of " +
                                 std::to_string(model->hp.n_ctx_train));
    }
    if (b.rows.empty() || b.rows.size() != b.targets.size()) throw std::runtime_error("batch: no target tokens (rows and targets must match and not be empty)");
    for (int32_t t : b.tokens) if (t < 0 || t >= model->hp.n_vocab) throw std::runtime_error("batch: token " + std::to_string(t) + " is outside the vocabulary");
    for (int32_t t : b.targets) if (t < 0 || t >= model->hp.n_vocab) throw std::runtime_error("batch: target " + std::to_string(t) + " is outside the vocabulary");
    for (int32_t r : b.rows) if (r < 0 || r >= n) throw std::runtime_error("batch: row " + std::to_string(r) + " is outside the batch");
    if (!(b.weight > 0) || !std::isfinite(b.weight)) throw std::runtime_error("batch: weight must be a positive number");
}

std::vector<ggml_tensor *> TrainingSession::grad_accs_for(ggml_cgraph * graph) const {
    std::map<const ggml_tensor *, ggml_tensor *> acc;
    for (const Param & p : params_) acc[p.value] = p.grad;
    std::vector<ggml_tensor *> out(ggml_graph_n_nodes(graph), nullptr);
    for (int i = 0; i < ggml_graph_n_nodes(graph); i++) {
        ggml_tensor * node = ggml_graph_node(graph, i);
        auto it = acc.find(node);
        if (it != acc.end()) out[i] = it->second;
        if (node->flags & GGML_TENSOR_FLAG_LOSS) out[i] = loss_one_;
    }
    return out;
}

void TrainingSession::compute(ggml_cgraph * graph, const std::function<void()> & set_inputs) {
    ggml_backend_sched_reset(sched_);
    if (!ggml_backend_sched_alloc_graph(sched_, graph)) {
        throw std::runtime_error("not enough memory on " + model->backends.device_name +
                                 " for this batch: lower the batch size or max length, or enable gradient checkpointing");
    }
    if (!model->backends.on_cpu()) {
        for (int i = 0; i < ggml_graph_n_nodes(graph); i++) {
            ggml_tensor * node = ggml_graph_node(graph, i);
            // Views, reshapes and permutes do no work wherever they are placed.
            if (!does_no_work(node->op) && ggml_backend_sched_get_tensor_backend(sched_, node) == model->backends.cpu) {
                std::lock_guard<std::mutex> lock(stats_mutex_);
                fallback_ops_.insert(ggml_op_desc(node));
            }
        }
    }
    set_inputs();
    if (ggml_backend_sched_graph_compute(sched_, graph) != GGML_STATUS_SUCCESS) {
        throw std::runtime_error("a training step failed on " + model->backends.device_name);
    }
    size_t bytes = 0;
    for (ggml_backend_t b : model->backends.list()) bytes += ggml_backend_sched_get_buffer_size(sched_, b);
    compute_bytes_ = std::max(compute_bytes_, bytes);
}

double TrainingSession::accumulate(const TrainBatch & batch) { return run(batch, true); }
double TrainingSession::evaluate(const TrainBatch & batch) { return run(batch, false); }

double TrainingSession::run(const TrainBatch & batch, bool train) {
    validate(batch);
    std::lock_guard<std::mutex> lock(model->compute_mutex);
    compute_bytes_ = 0;
    // Dropout plan: one random pool and an offset per (layer, module), all from the batch's seed.
    Dropout plan;
    std::vector<float> pool_host;
    const bool drop = train && options.dropout > 0.0f;
    const int64_t n = batch.n_seq * batch.n_tokens;
    if (drop) {
        const int64_t width = std::max(model->hp.n_embd, model->hp.n_ff);
        const int64_t pool_len = width * n + 4096;
        std::mt19937_64 rng(batch.dropout_seed);
        std::bernoulli_distribution keep(1.0 - options.dropout);
        const float scale = 1.0f / (1.0f - options.dropout);
        pool_host.resize(pool_len);
        for (float & v : pool_host) v = keep(rng) ? scale : 0.0f;
        plan.offsets.resize(model->layers.size() * lora_modules().size());
        for (size_t i = 0; i < plan.offsets.size(); i++) plan.offsets[i] = (int64_t) (rng() % (uint64_t) (pool_len - width * n));
    }
    const double sum = train && options.gradient_checkpointing ? run_checkpointed(batch, plan, pool_host)
                                                               : run_full(batch, train, drop ? &plan : nullptr, pool_host);
    peak_compute_bytes_ = std::max(peak_compute_bytes_, compute_bytes_);
    return -sum / (double) batch.rows.size();
}

// The whole model in one graph: forward, loss and (when training) backward.
double TrainingSession::run_full(const TrainBatch & b, bool train, const Dropout * plan, std::vector<float> & pool_host) {
    CtxPtr ctx = graph_context();
    GraphInputs in;
    in.attention_blocks = attention_blocks(b.n_tokens);
    build_inputs(ctx.get(), b.n_tokens, b.n_seq, model->hp.n_embd, in);
    Dropout drop;
    if (plan) {
        drop.offsets = plan->offsets;
        drop.pool = ggml_new_tensor_1d(ctx.get(), GGML_TYPE_F32, (int64_t) pool_host.size());
        ggml_set_input(drop.pool);
    }
    ggml_tensor * x = build_embeddings(ctx.get(), *model, in);
    for (int il = 0; il < (int) model->layers.size(); il++) {
        x = build_layer(ctx.get(), *model, adapter.get(), il, x, in, b.n_tokens, b.n_seq, plan ? &drop : nullptr);
    }
    LossNodes loss = build_loss(ctx.get(), *model, x, (int64_t) b.rows.size(), backend_mode().on_cpu);
    ggml_cgraph * graph = ggml_new_graph_custom(ctx.get(), GRAPH_MAX_NODES, train);
    if (train) {
        ggml_tensor * scaled = ggml_scale(ctx.get(), loss.mean, b.weight);
        ggml_set_loss(scaled);
        ggml_build_forward_expand(graph, scaled);
        ggml_build_forward_expand(graph, loss.sum);
        std::vector<ggml_tensor *> accs = grad_accs_for(graph);
        ggml_build_backward_expand(ctx.get(), graph, accs.data());
    } else {
        ggml_build_forward_expand(graph, loss.sum);
    }
    if (train && options.cache_weight_copies && backend_mode().on_cpu) cache_weight_copies(graph);
    graph = for_backend(ctx.get(), graph, backend_mode(), loss.targets, weight_copies_);
    std::vector<int32_t> pos;
    std::vector<float> mask;
    fill_positions(pos, b.n_tokens, b.n_seq);
    fill_causal_mask(mask, b.n_tokens);
    compute(graph, [&]() {
        set_input(in.tokens, b.tokens.data(), b.tokens.size() * sizeof(int32_t));
        set_input(in.pos, pos.data(), pos.size() * sizeof(int32_t));
        set_input(in.mask, mask.data(), mask.size() * sizeof(float));
        set_zeros(in.zeros);
        set_loss_inputs(loss, b, model->hp.n_vocab);
        set_input(drop.pool, pool_host.data(), pool_host.size() * sizeof(float));
    });
    float sum = 0;
    ggml_backend_tensor_get(loss.sum, &sum, 0, sizeof(float));
    return sum;
}

// Gradient checkpointing: a forward pass keeps only each layer's input; the backward pass then recomputes one
// layer at a time, as a graph whose loss is the dot product of the layer's output with the gradient from above.
double TrainingSession::run_checkpointed(const TrainBatch & b, const Dropout & plan, std::vector<float> & pool_host) {
    const int L = (int) model->layers.size();
    const int64_t n = b.n_seq * b.n_tokens, n_embd = model->hp.n_embd;
    CtxPtr keep(ggml_init({ggml_tensor_overhead() * (L + 4), nullptr, true}));
    std::vector<ggml_tensor *> xs(L + 1);
    for (int l = 0; l <= L; l++) xs[l] = ggml_new_tensor_2d(keep.get(), GGML_TYPE_F32, n_embd, n);
    ggml_tensor * g[2] = {ggml_new_tensor_2d(keep.get(), GGML_TYPE_F32, n_embd, n), ggml_new_tensor_2d(keep.get(), GGML_TYPE_F32, n_embd, n)};
    ggml_backend_buffer_t keep_buffer = ggml_backend_alloc_ctx_tensors_from_buft(keep.get(), ggml_backend_dev_buffer_type(model->backends.main_dev));
    if (!keep_buffer) throw std::runtime_error("not enough memory on " + model->backends.device_name + " for the activation checkpoints");
    struct BufferFree { ggml_backend_buffer_t b; ~BufferFree() { ggml_backend_buffer_free(b); } } free_keep{keep_buffer};
    const size_t keep_bytes = ggml_backend_buffer_get_size(keep_buffer);

    std::vector<int32_t> pos;
    std::vector<float> mask;
    fill_positions(pos, b.n_tokens, b.n_seq);
    fill_causal_mask(mask, b.n_tokens);
    const bool drop = !plan.offsets.empty();
    size_t peak = 0;
    float sum = 0;

    auto with_graph = [&](const std::function<void(ggml_context *, GraphInputs &, Dropout &, ggml_cgraph *&, LossNodes &)> & build) {
        CtxPtr ctx = graph_context();
        GraphInputs in;
        in.attention_blocks = attention_blocks(b.n_tokens);
        build_inputs(ctx.get(), b.n_tokens, b.n_seq, model->hp.n_embd, in);
        Dropout d;
        if (drop) {
            d.offsets = plan.offsets;
            d.pool = ggml_new_tensor_1d(ctx.get(), GGML_TYPE_F32, (int64_t) pool_host.size());
            ggml_set_input(d.pool);
        }
        ggml_cgraph * graph = nullptr;
        LossNodes loss;  // filled by the builder that adds the loss
        build(ctx.get(), in, d, graph, loss);
        graph = for_backend(ctx.get(), graph, backend_mode(), loss.targets, weight_copies_);
        compute(graph, [&]() {
            set_input(in.tokens, b.tokens.data(), b.tokens.size() * sizeof(int32_t));
            set_input(in.pos, pos.data(), pos.size() * sizeof(int32_t));
            set_input(in.mask, mask.data(), mask.size() * sizeof(float));
            set_zeros(in.zeros);
            set_input(d.pool, pool_host.data(), pool_host.size() * sizeof(float));
            set_loss_inputs(loss, b, model->hp.n_vocab);
        });
        // The graph's tensors die with its context: read the loss before leaving.
        if (loss.sum) ggml_backend_tensor_get(loss.sum, &sum, 0, sizeof(float));
        peak = std::max(peak, compute_bytes_);
        compute_bytes_ = 0;
    };

    // 1. Forward, storing each layer's input.
    with_graph([&](ggml_context * ctx, GraphInputs & in, Dropout & d, ggml_cgraph *& graph, LossNodes &) {
        graph = ggml_new_graph_custom(ctx, GRAPH_MAX_NODES, false);
        ggml_tensor * x = build_embeddings(ctx, *model, in);
        ggml_build_forward_expand(graph, ggml_cpy(ctx, x, xs[0]));
        for (int il = 0; il < L; il++) {
            x = build_layer(ctx, *model, adapter.get(), il, x, in, b.n_tokens, b.n_seq, drop ? &d : nullptr);
            ggml_build_forward_expand(graph, ggml_cpy(ctx, x, xs[il + 1]));
        }
    });

    // 2. The head: loss and its gradient with respect to the last layer's output.
    with_graph([&](ggml_context * ctx, GraphInputs &, Dropout &, ggml_cgraph *& graph, LossNodes & loss) {
        ggml_set_param(xs[L]);
        loss = build_loss(ctx, *model, xs[L], (int64_t) b.rows.size(), backend_mode().on_cpu);
        ggml_tensor * scaled = ggml_scale(ctx, loss.mean, b.weight);
        ggml_set_loss(scaled);
        graph = ggml_new_graph_custom(ctx, GRAPH_MAX_NODES, true);
        ggml_build_forward_expand(graph, scaled);
        ggml_build_forward_expand(graph, loss.sum);
        std::vector<ggml_tensor *> accs = grad_accs_for(graph);
        ggml_build_backward_expand(ctx, graph, accs.data());
        ggml_build_forward_expand(graph, ggml_cpy(ctx, ggml_graph_get_grad(graph, xs[L]), g[0]));
    });

    // 3. Layers from the top: recompute, then backward with the incoming gradient.
    for (int il = L - 1; il >= 0; il--) {
        // The first layer needs no input gradient; without LoRA weights it has nothing to backpropagate.
        bool has_lora = false;
        for (const std::string & module : lora_modules()) has_lora = has_lora || adapter->find(model->target_weight(module, il));
        if (il == 0 && !has_lora) break;
        ggml_tensor * g_in = g[(L - 1 - il) % 2];
        ggml_tensor * g_out = g[(L - il) % 2];
        with_graph([&](ggml_context * ctx, GraphInputs & in, Dropout & d, ggml_cgraph *& graph, LossNodes &) {
            if (il > 0) ggml_set_param(xs[il]);
            ggml_tensor * y = build_layer(ctx, *model, adapter.get(), il, xs[il], in, b.n_tokens, b.n_seq, drop ? &d : nullptr);
            ggml_tensor * dot = ggml_sum(ctx, ggml_mul(ctx, y, g_in));
            ggml_set_loss(dot);
            graph = ggml_new_graph_custom(ctx, GRAPH_MAX_NODES, true);
            ggml_build_forward_expand(graph, dot);
            std::vector<ggml_tensor *> accs = grad_accs_for(graph);
            ggml_build_backward_expand(ctx, graph, accs.data());
            if (il > 0) ggml_build_forward_expand(graph, ggml_cpy(ctx, ggml_graph_get_grad(graph, xs[il]), g_out));
        });
    }
    compute_bytes_ = peak + keep_bytes;
    return sum;
}

StepResult TrainingSession::step(const StepOptions & o) {
    if (!(o.lr >= 0) || !std::isfinite(o.lr)) throw std::runtime_error("learning rate must be a finite number ≥ 0");
    std::lock_guard<std::mutex> lock(model->compute_mutex);
    StepResult result;
    {
        CtxPtr ctx = graph_context();
        ggml_tensor * total = nullptr;
        for (const Param & p : params_) {
            ggml_tensor * s = ggml_sum(ctx.get(), ggml_sqr(ctx.get(), p.grad));
            total = total ? ggml_add(ctx.get(), total, s) : s;
        }
        ggml_set_output(total);
        ggml_cgraph * graph = ggml_new_graph_custom(ctx.get(), GRAPH_MAX_NODES, false);
        ggml_build_forward_expand(graph, total);
        compute(graph, []() {});
        float norm2 = 0;
        ggml_backend_tensor_get(total, &norm2, 0, sizeof(float));
        result.grad_norm = std::sqrt((double) norm2);
    }
    if (!std::isfinite(result.grad_norm)) {
        for (const Param & p : params_) ggml_backend_tensor_memset(p.grad, 0, 0, ggml_nbytes(p.grad));
        throw std::runtime_error("the gradients are not finite (NaN or infinity): training diverged; lower the learning rate");
    }
    const float factor = o.clip > 0 && result.grad_norm > o.clip ? (float) (o.clip / result.grad_norm) : 1.0f;
    result.clipped = factor < 1.0f;
    t_++;
    {
        CtxPtr ctx = graph_context();
        ggml_tensor * hp = ggml_new_tensor_1d(ctx.get(), GGML_TYPE_F32, 7);
        ggml_set_input(hp);
        ggml_cgraph * graph = ggml_new_graph_custom(ctx.get(), GRAPH_MAX_NODES, false);
        for (const Param & p : params_) {
            ggml_tensor * grad = factor < 1.0f ? ggml_scale(ctx.get(), p.grad, factor) : p.grad;
            ggml_build_forward_expand(graph, ggml_opt_step_adamw(ctx.get(), p.value, grad, p.m, p.v, hp));
        }
        const float values[7] = {o.lr, o.beta1, o.beta2, o.eps, o.weight_decay,
                                 1.0f / (1.0f - std::pow(o.beta1, (float) t_)), 1.0f / (1.0f - std::pow(o.beta2, (float) t_))};
        compute(graph, [&]() { set_input(hp, values, sizeof(values)); });
    }
    for (const Param & p : params_) ggml_backend_tensor_memset(p.grad, 0, 0, ggml_nbytes(p.grad));
    return result;
}

std::vector<float> TrainingSession::gradient(const std::string & name) {
    std::lock_guard<std::mutex> lock(model->compute_mutex);
    for (const Param & p : params_) {
        if (p.name != name) continue;
        std::vector<float> out(ggml_nelements(p.grad));
        ggml_backend_tensor_get(p.grad, out.data(), 0, ggml_nbytes(p.grad));
        return out;
    }
    throw std::runtime_error("the adapter has no tensor '" + name + "'");
}

void TrainingSession::save_optimizer(const std::string & path) const {
    std::lock_guard<std::mutex> lock(model->compute_mutex);
    std::vector<std::pair<std::string, ggml_tensor *>> tensors;
    for (const Param & p : params_) {
        tensors.push_back({p.name + ".adam_m", p.m});
        tensors.push_back({p.name + ".adam_v", p.v});
    }
    const int64_t steps = t_;
    write_gguf_atomic(path, [&](gguf_context * g) {
        gguf_set_val_str(g, "general.type", "architect.optimizer");
        gguf_set_val_str(g, "architect.optimizer.kind", "adamw");
        gguf_set_val_i64(g, "architect.optimizer.steps", steps);
    }, tensors);
}

void TrainingSession::load_optimizer(const std::string & path) {
    // A checkpoint's file like any other: a regular file, its header bounded, its tensors inside it.
    const std::unique_ptr<GgufFile> file = open_gguf(path, "optimizer state");
    const std::optional<int64_t> steps = file->integer("architect.optimizer.steps");
    if (!steps || *steps < 0) throw std::runtime_error(path + ": not an optimizer state (architect.optimizer.steps is missing or negative)");
    for (const Param & p : params_) {
        for (auto [suffix, dst] : {std::pair<const char *, ggml_tensor *>{".adam_m", p.m}, {".adam_v", p.v}}) {
            const ggml_tensor * src = file->tensor(p.name + suffix);
            if (!src || !ggml_are_same_shape(src, dst) || src->type != GGML_TYPE_F32) {
                throw std::runtime_error(path + ": optimizer state does not match the adapter (" + p.name + suffix + ")");
            }
        }
    }
    // Read and checked in full before any of it replaces the session's state.
    std::vector<std::vector<float>> values;
    for (const Param & p : params_) {
        for (const char * suffix : {".adam_m", ".adam_v"}) {
            const ggml_tensor * src = file->tensor(p.name + suffix);
            std::vector<float> & v = values.emplace_back((size_t) ggml_nelements(src));
            file->read_tensor(src, v.data());
            for (float x : v) {
                if (!std::isfinite(x) || (suffix[6] == 'v' && x < 0)) {
                    throw std::runtime_error(path + ": tensor '" + p.name + suffix + "' holds " + (std::isfinite(x) ? "negative" : "NaN or infinite") +
                                             " values (a damaged optimizer state)");
                }
            }
        }
    }
    std::lock_guard<std::mutex> lock(model->compute_mutex);
    size_t i = 0;
    for (const Param & p : params_) {
        ggml_backend_tensor_set(p.m, values[i].data(), 0, ggml_nbytes(p.m));
        ggml_backend_tensor_set(p.v, values[i + 1].data(), 0, ggml_nbytes(p.v));
        i += 2;
    }
    t_ = *steps;
}
