// A llama-family base model loaded from GGUF, frozen, in its stored types, on the chosen backend.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include "backend.h"
#include "ggml.h"
#include "model_file.h"

struct LoadOptions {
    std::string device = "auto";
    /** CPU threads, 1..MAX_THREADS; 0: all cores. */
    int threads = 0;
    /** Called after each tensor with the share of bytes read (0..1]; may be empty. */
    std::function<void(double)> on_progress;
    /** Polled between tensors: loading stops with "cancelled" once it returns true; may be empty. */
    std::function<bool()> cancelled;
};

class Model {
public:
    /** Throws std::runtime_error naming the file and what is wrong with it. */
    static std::shared_ptr<Model> load(const std::string & path, const LoadOptions & options);
    ~Model();

    Hparams hp;
    std::string path;
    ggml_type main_type = GGML_TYPE_F32;   // the type of most weights, for display
    size_t weights_bytes = 0;
    ggml_tensor * tok_embd = nullptr, * output_norm = nullptr, * output = nullptr, * rope_freqs = nullptr;
    std::vector<Layer> layers;
    Backends backends;
    std::mutex compute_mutex;               // one graph at a time per model

    /** The frozen weight a LoRA target names, e.g. ("attn_q", 3) → blk.3.attn_q.weight; null if none. */
    ggml_tensor * target_weight(const std::string & module, int layer) const;
    /** Whether t is one of this model's (frozen) weights. */
    bool owns(const ggml_tensor * t) const { return t->buffer && t->buffer == buffer_; }

private:
    Model() = default;
    ggml_context * ctx_ = nullptr;
    ggml_backend_buffer_t buffer_ = nullptr;
};
