// LoRA training on a frozen base: masked next-token loss, gradient accumulation, AdamW, optional
// gradient checkpointing (per-layer recompute), LoRA dropout. The schedule and data order live in TypeScript.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>
#include "graph.h"
#include "lora.h"
#include "model.h"

struct TrainOptions {
    float dropout = 0.0f;              // LoRA dropout probability, 0 ≤ p < 1
    bool gradient_checkpointing = false;
    bool exact_backward = false;       // frozen weights enter the CPU's backward pass in F32, not BF16 / Q8_0 (checks)
    bool gpu_path = false;             // the GPU path's ops on the CPU too (for checks)
    int attention_blocks = 0;          // causal attention blocks (graph.h); 0: attention_blocks_for(n_tokens)
    bool cache_weight_copies = false;  // keep the frozen weights' transposed copies between steps (CPU; memory for time)
};

/** Which form of the training graph runs: the CPU's own ops or ggml's (train.cpp: transposed, build_loss). */
struct BackendMode {
    bool exact = false;   // frozen weights' copies in F32 rather than BF16 / Q8_0
    bool on_cpu = true;   // CPU ops (tiled copies, cross-entropy on target ids) rather than ggml's, which GPUs run
};

/** n_seq sequences of n_tokens (padded); the loss is over `rows`: flat positions s*n_tokens+t predicting `targets`. */
struct TrainBatch {
    int64_t n_seq = 0, n_tokens = 0;
    std::vector<int32_t> tokens;
    std::vector<int32_t> rows;
    std::vector<int32_t> targets;
    float weight = 1.0f;               // gradient weight of this micro-batch's mean loss (its share of the step's tokens)
    uint64_t dropout_seed = 0;
};

struct StepOptions {
    float lr = 2e-4f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
    float clip = 1.0f;                 // max global gradient norm; ≤ 0 disables clipping
};

struct StepResult {
    double grad_norm = 0;
    bool clipped = false;
};

class TrainingSession {
public:
    TrainingSession(std::shared_ptr<Model> model, std::shared_ptr<Adapter> adapter, const TrainOptions & options);
    ~TrainingSession();

    /** Forward and backward on one micro-batch; gradients add up until step(). Returns the mean loss. */
    double accumulate(const TrainBatch & batch);
    /** Forward only (no dropout): the mean loss. */
    double evaluate(const TrainBatch & batch);
    /** One AdamW update from the accumulated gradients, which are then cleared. */
    StepResult step(const StepOptions & options);
    /** The accumulated gradient of one adapter tensor (by GGUF name). */
    std::vector<float> gradient(const std::string & name);

    void save_optimizer(const std::string & path) const;
    void load_optimizer(const std::string & path);

    int64_t adam_steps() const { return t_; }
    size_t state_bytes() const;
    size_t compute_bytes() const { return compute_bytes_; }
    /** Ops the scheduler ran on the CPU although the model lives on a GPU (empty on a CPU-only run). */
    std::vector<std::string> cpu_fallback_ops() const {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        return {fallback_ops_.begin(), fallback_ops_.end()};
    }
    size_t peak_compute_bytes() const { return peak_compute_bytes_; }

    std::shared_ptr<Model> model;
    std::shared_ptr<Adapter> adapter;
    TrainOptions options;

private:
    struct Param {
        std::string name;
        ggml_tensor * value, * grad, * m, * v;
    };
    void validate(const TrainBatch & batch) const;
    BackendMode backend_mode() const;
    int attention_blocks(int64_t n_tokens) const;
    double run(const TrainBatch & batch, bool train);
    double run_full(const TrainBatch & batch, bool train, const Dropout * dropout, std::vector<float> & pool_host);
    double run_checkpointed(const TrainBatch & batch, const Dropout & plan, std::vector<float> & pool_host);
    void compute(ggml_cgraph * graph, const std::function<void()> & set_inputs);
    std::vector<ggml_tensor *> grad_accs_for(ggml_cgraph * graph) const;
    void cache_weight_copies(ggml_cgraph * graph);

    std::vector<Param> params_;
    ggml_context * ctx_ = nullptr;
    ggml_tensor * loss_one_ = nullptr;
    ggml_backend_buffer_t grad_buffer_ = nullptr;  // gradients, AdamW moments, loss_one_
    std::map<const ggml_tensor *, ggml_tensor *> weight_copies_;  // frozen weight → its transposed copy
    ggml_context * copies_ctx_ = nullptr;
    ggml_backend_buffer_t copies_buffer_ = nullptr;
    bool copies_tried_ = false;
    ggml_backend_sched_t sched_ = nullptr;
    int64_t t_ = 0;
    size_t compute_bytes_ = 0, peak_compute_bytes_ = 0;
    std::set<std::string> fallback_ops_;
    mutable std::mutex stats_mutex_;  // fallback_ops_ is read from the JS thread while a step runs
};
