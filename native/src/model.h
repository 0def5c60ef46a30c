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

struct Hparams {
    std::string arch;
    std::string name;
    int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0;
    int64_t n_ctx_train = 0, head_dim = 0, n_rot = 0;
    float rms_eps = 1e-5f, rope_freq_base = 10000.0f, rope_freq_scale = 1.0f;
};

struct Layer {
    ggml_tensor * attn_norm = nullptr, * wq = nullptr, * wk = nullptr, * wv = nullptr, * wo = nullptr;
    ggml_tensor * ffn_norm = nullptr, * w_gate = nullptr, * w_up = nullptr, * w_down = nullptr;
};

struct LoadOptions {
    std::string device = "auto";
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

/** The LoRA target modules a llama layer has, in a stable order. */
const std::vector<std::string> & lora_modules();
